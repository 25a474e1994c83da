/* MEMGUARD_* settings of the allocation shim and their parser. Nothing here
 * allocates or reads the environment, so the fuzz target can drive it. */
#ifndef MEMGUARD_PRELOAD_SETTINGS_H
#define MEMGUARD_PRELOAD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum mg_pl_format { MG_PL_TEXT, MG_PL_JSON };
enum mg_pl_sink { MG_PL_STDERR, MG_PL_SYSLOG, MG_PL_FILE };

#define MG_PL_PATH_MAX 1024
/* Room for the name with every %p expanded to the longest pid. */
#define MG_PL_PATH_EXPANDED (MG_PL_PATH_MAX + 32)
#define MG_PL_BT_MAX 32
#define MG_PL_DEFAULT_THRESHOLD (64ull << 20)
#define MG_PL_DEFAULT_BACKTRACE 8u
#define MG_PL_DEFAULT_BURST 10u
#define MG_PL_DEFAULT_WINDOW 60u
#define MG_PL_OFF UINT64_MAX

struct mg_pl_settings {
	uint64_t threshold;    /* report requests of at least this; MG_PL_OFF: none */
	uint64_t fail_above;   /* inject failures above this; MG_PL_OFF: never */
	uint64_t fail_after;   /* inject once this many matching requests passed */
	unsigned backtrace;    /* frames per report, 0..MG_PL_BT_MAX */
	unsigned burst;        /* large-allocation reports per site per window; 0: all */
	unsigned window;       /* seconds */
	enum mg_pl_format format;
	enum mg_pl_sink sink;
	bool abort_on_fail;
	char log_path[MG_PL_PATH_MAX]; /* MG_PL_FILE: the name, %p not yet expanded */
};

/* One variable the shim reads, and what a good value looks like (for the
 * warning that names the default taken instead). */
struct mg_pl_var {
	const char *name;
	const char *expected;
};
extern const struct mg_pl_var mg_pl_vars[];
extern const size_t mg_pl_nvars;

void mg_pl_settings_default(struct mg_pl_settings *s);

/* Applies variable number idx of mg_pl_vars with this value. Returns 0,
 * -EINVAL (malformed) or -ERANGE (out of range); s is unchanged on error. */
int mg_pl_setting_apply(struct mg_pl_settings *s, size_t idx, const char *value);

/* A byte count: digits with an optional K/M/G/T suffix, or "max" (MG_PL_OFF). */
int mg_pl_parse_bytes(const char *value, uint64_t *out);

/* The log file name with %p replaced by pid and %% by %. -EINVAL for any
 * other %, -ENAMETOOLONG when it does not fit. */
int mg_pl_expand_path(const char *tmpl, pid_t pid, char *out, size_t outlen);

#endif
