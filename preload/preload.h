/* Internal interfaces of libmemguard-preload.so, the allocation shim.
 *
 * Rule for everything under preload/: code reachable from an allocation
 * hook must not allocate (no stdio, no malloc, no syslog(3), no strerror)
 * and must save errno for the caller. Files are split by concern:
 *   settings.c   parsing MEMGUARD_* values (pure; fuzzed)
 *   config.c     reading the environment, warnings, the live settings
 *   bootstrap.c  the static buffer that serves dlsym before malloc exists
 *   real.c       resolving the next definitions, lazy initialisation
 *   hooks_heap.c malloc and friends     hooks_map.c  mmap, mremap, mprotect
 *   inject.c     fault injection        ratelimit.c  per-call-site budget
 *   report.c     events to lines        fmt.c        non-allocating text
 *   sink.c       stderr, files, /dev/log
 *   context.c    overcommit, meminfo, status, rlimit, memory cgroup
 *   symbolize.c  backtraces without allocating
 *   lifecycle.c  constructor, destructor, fork
 */
#ifndef MEMGUARD_PRELOAD_H
#define MEMGUARD_PRELOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "settings.h"

/* Everything declared here is internal: with hidden declarations the
 * compiler addresses globals directly instead of through the GOT, one load
 * less on the fast path. */
#pragma GCC visibility push(hidden)

#define MG_LIKELY(x) __builtin_expect(!!(x), 1)
#define MG_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- real.c: the definitions we forward to ---- */
struct mg_pl_real {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	void *(*mmap64)(void *, size_t, int, int, int, off_t);
	void *(*mremap)(void *, size_t, size_t, int, ...);
	int (*mprotect)(void *, size_t, int);
};
extern struct mg_pl_real mg_pl_real;

/* Requests of at least this many bytes take the slow path (reporting,
 * injection). 0 until initialisation is done, so everything is slow then. */
extern size_t mg_pl_gate;
/* Settings loaded: reports may be written. */
extern bool mg_pl_ready;

/* Set while this thread is inside the shim: nested allocations (dlsym,
 * backtrace, the loader) go straight to the real functions. */
extern __thread int mg_pl_in_hook;

/* Resolves mg_pl_real if needed and loads the settings once; false while
 * the real functions are not available yet (serve from bootstrap then). */
bool mg_pl_ensure_init(void);
bool mg_pl_resolving(void);
/* hooks_heap.c: from now on free() goes straight to the real free (called
 * once, at the end of initialisation, when no bootstrap block exists). */
void mg_pl_free_direct(void);

/* ---- bootstrap.c ---- */
#define MG_PL_BOOT_SIZE (64 * 1024)
extern unsigned char mg_pl_boot_mem[MG_PL_BOOT_SIZE];
void *mg_pl_boot_alloc(size_t size, size_t align);
/* Inline: free() asks this on every call. */
static inline bool mg_pl_boot_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)mg_pl_boot_mem < MG_PL_BOOT_SIZE;
}
size_t mg_pl_boot_size(const void *p);

/* ---- config.c ---- */
extern struct mg_pl_settings mg_pl_cfg;
/* Reads MEMGUARD_* with secure_getenv, warns about bad values on the log. */
void mg_pl_config_load(void);
bool mg_pl_secure(void);

/* ---- inject.c ---- */
/* True when this request must fail as strict overcommit would refuse it. */
bool mg_pl_inject(uint64_t size);

/* ---- report.c ---- */
enum mg_pl_func {
	MG_F_MALLOC,
	MG_F_CALLOC,
	MG_F_REALLOC,
	MG_F_REALLOCARRAY,
	MG_F_POSIX_MEMALIGN,
	MG_F_ALIGNED_ALLOC,
	MG_F_MEMALIGN,
	MG_F_VALLOC,
	MG_F_PVALLOC,
	MG_F_MMAP,
	MG_F_MMAP64,
	MG_F_MREMAP,
	MG_F_MPROTECT,
};

struct mg_pl_event {
	enum mg_pl_func func;
	uint64_t size;      /* bytes asked for (nmemb*size when it fits) */
	uint64_t nmemb;     /* calloc, reallocarray: else 0 */
	uint64_t elsize;
	uint64_t align;     /* memalign family: else 0 */
	uint64_t old_size;  /* mremap */
	const void *old;    /* realloc, mremap, mprotect: the address passed in */
	const void *result; /* NULL or MAP_FAILED on failure */
	int prot;           /* mmap, mprotect: else -1 */
	int err;            /* errno (or the returned error) on failure, else 0 */
	bool failed;
	bool injected;
	bool overflow;      /* nmemb*size does not fit */
};

/* Reports a large allocation or a failure; never changes errno. */
void mg_pl_report(const struct mg_pl_event *ev);
/* One warning line about the settings. */
void mg_pl_warn(const char *msg);
/* Suppressed counts per call site, then the one-line summary (only when
 * something was reported). */
void mg_pl_report_exit(void);
void mg_pl_report_reset_child(void);

/* ---- ratelimit.c ---- */
#define MG_PL_SITE_FRAMES 3
/* True when this site may be reported now. *suppressed_before receives the
 * count of reports swallowed since the last one printed for the site. */
bool mg_pl_rate_allow(const uintptr_t *frames, int n, uint64_t now_s, uint64_t *suppressed_before);
/* Calls fn for every site with reports suppressed since it last printed. */
void mg_pl_rate_flush(void (*fn)(const uintptr_t *frames, int n, uint64_t count, void *arg), void *arg);
void mg_pl_rate_reset_child(void);
uint64_t mg_pl_rate_suppressed_total(void);

#pragma GCC visibility pop

#endif
