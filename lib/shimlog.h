/* Lines of the allocation shim's log (libmemguard-preload(8), text format),
 * read back: on stderr, in a MEMGUARD_LOG file, or carried by syslog
 * ("memguard[PID]: ..."). Everything points into the caller's line (but
 * the key "message", which a warning's text does not spell); nothing
 * is allocated, so a line is parsed in place and the fuzz target can drive
 * it with any bytes. */
#ifndef MEMGUARD_SHIMLOG_H
#define MEMGUARD_SHIMLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MG_SHIM_FIELDS_MAX 64
#define MG_SHIM_FRAMES_MAX 32
#define MG_SHIM_BUILD_ID_MAX 64

struct mg_span {
	const char *p;
	size_t len;
};

struct mg_shim_field {
	struct mg_span key, value;
};

struct mg_shim_frame {
	bool has_addr;       /* absolute address shown (not in secure mode) */
	uint64_t addr;
	struct mg_span module; /* full path, or "?" */
	bool located;        /* module+offset given */
	uint64_t offset;     /* the module's own address (return address) */
	bool has_sym;        /* the dynamic symbol dladdr found */
	struct mg_span sym;
	uint64_t sym_off;
};

struct mg_shim_module {
	struct mg_span path;
	unsigned char build_id[MG_SHIM_BUILD_ID_MAX];
	size_t build_id_len;
};

struct mg_shim_line {
	struct mg_span before; /* what precedes the report (a syslog header) */
	struct mg_span time;
	struct mg_span event;
	/* Every key=value but modules= and backtrace=, in line order; a
	 * warning's free text is the field "message". */
	struct mg_shim_field fields[MG_SHIM_FIELDS_MAX];
	size_t nfields;
	bool has_backtrace;
	struct mg_shim_frame frames[MG_SHIM_FRAMES_MAX];
	size_t nframes;
	struct mg_shim_module modules[MG_SHIM_FRAMES_MAX];
	size_t nmodules;
	bool cut; /* the shim cut the line ("..." at its end) */
};

/* Parses one line (without or with its '\n'). Returns 0 for a shim
 * report, -ENOMSG for a line that is not one (pass it on unchanged),
 * -EINVAL for a report whose backtrace cannot be read. */
int mg_shimlog_parse(const char *line, size_t len, struct mg_shim_line *out);

/* The build-id the line gives for module, or NULL. */
const struct mg_shim_module *mg_shimlog_module(const struct mg_shim_line *l, struct mg_span module);

bool mg_span_eq(struct mg_span a, const char *s);

#endif
