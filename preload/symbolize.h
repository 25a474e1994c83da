/* Backtraces of the allocating caller, named without allocating: module and
 * offset from dladdr (feed them to addr2line -e MODULE), plus the nearest
 * exported symbol when there is one. */
#ifndef MEMGUARD_PRELOAD_SYMBOLIZE_H
#define MEMGUARD_PRELOAD_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

struct mg_pl_frame {
	uintptr_t addr;
	const char *module; /* base name; never NULL */
	bool located;       /* module found: else module is "?" and offset 0 */
	uintptr_t offset;   /* addr - module base */
	const char *sym;    /* NULL when dladdr knows none */
	uintptr_t sym_off;
};

/* Return addresses of the callers, innermost first, without the shim's
 * own frames; returns how many (up to max). */
int mg_pl_backtrace(uintptr_t *out, int max);
void mg_pl_frame_resolve(uintptr_t addr, struct mg_pl_frame *f);
/* First call of backtrace() loads libgcc_s: do it at start, not in a hook. */
void mg_pl_backtrace_warm(void);

#endif
