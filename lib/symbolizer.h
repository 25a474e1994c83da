/* Names for a module+offset: function, source file and line, and the
 * functions inlined there, from the module's ELF symbol tables and DWARF
 * (its own, or a separate debug file found by build-id) through elfutils'
 * libdwfl. Offsets are the module's own addresses, as the allocation shim
 * writes them, so PIE and non-PIE executables, shared libraries and
 * dlopen'ed ones are all read the same way.
 * Only memguardctl links this (and libdw): never the PAM module or the
 * shim. */
#ifndef MEMGUARD_SYMBOLIZER_H
#define MEMGUARD_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MG_SYM_INLINE_MAX 8

enum mg_sym_status {
	MG_SYM_FOUND,     /* at least a function name */
	MG_SYM_NOTHING,   /* the module was read; nothing covers the offset */
	MG_SYM_MISSING,   /* no file at the path */
	MG_SYM_UNREADABLE,/* not a regular ELF file we can read */
	MG_SYM_REBUILT,   /* the file's build-id is not the one in the log */
};

/* One source location: innermost first; every one but the last is a
 * function inlined into the next. Strings live as long as the symbolizer. */
struct mg_sym_loc {
	const char *function; /* NULL when unknown */
	const char *file;     /* NULL when unknown */
	int line, column;     /* 0 when unknown */
	bool inlined;
};

struct mg_sym_result {
	enum mg_sym_status status;
	size_t nlocs;
	struct mg_sym_loc locs[MG_SYM_INLINE_MAX];
	/* MG_SYM_REBUILT: what the file on disk has now. */
	const unsigned char *disk_build_id;
	size_t disk_build_id_len;
};

struct mg_symbolizer;

struct mg_symbolizer *mg_symbolizer_new(void);
void mg_symbolizer_free(struct mg_symbolizer *s);

/* module: a full path as the shim wrote it; build_id what the log says it
 * was (len 0: not known, not checked); offset the frame's return address
 * in the module's own terms (the call before it is looked up). Returns 0
 * with *out filled, -ENOMEM. *out stays valid until the next call. */
int mg_symbolize(struct mg_symbolizer *s, const char *module, size_t module_len, const unsigned char *build_id,
		 size_t build_id_len, uint64_t offset, const struct mg_sym_result **out);

#endif
