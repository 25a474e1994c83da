/* Backtraces of the allocating caller, named without allocating. Each frame
 * is located in its module (full path, build-id) at the module's own
 * addresses: addr minus the load bias, which is what the module's symbol
 * table and DWARF say for PIE and non-PIE alike (addr2line -e MODULE
 * OFFSET). The nearest dynamic symbol comes from dladdr when there is one;
 * memguardctl symbolize does the rest after the fact. */
#ifndef MEMGUARD_PRELOAD_SYMBOLIZE_H
#define MEMGUARD_PRELOAD_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MG_PL_BUILD_ID_MAX 64

struct mg_pl_frame {
	uintptr_t addr;
	const char *module; /* full path as loaded ("?" when unknown); never NULL */
	bool located;       /* module found: else module is "?" and offset 0 */
	uintptr_t bias;     /* load bias: identifies the module within a line */
	uintptr_t offset;   /* addr - bias: the address in the module's own terms */
	const char *sym;    /* NULL when dladdr knows none */
	uintptr_t sym_off;
	unsigned char build_id[MG_PL_BUILD_ID_MAX];
	size_t build_id_len; /* 0: the module has no GNU build-id note */
};

/* Return addresses of the callers, innermost first, without the shim's
 * own frames; returns how many (up to max). */
int mg_pl_backtrace(uintptr_t *out, int max);
void mg_pl_frame_resolve(uintptr_t addr, struct mg_pl_frame *f);
/* First call of backtrace() loads libgcc_s: do it at start, not in a hook.
 * Also notes the executable's path, which the loader does not name. */
void mg_pl_backtrace_warm(void);

#endif
