/* The floor for any LD_PRELOAD allocation interposer, built by
 * preload-bench.sh: malloc, free, calloc and realloc that forward to the
 * next definition (found once with dlsym) after one compare each, and do
 * nothing else. What the shim costs beyond this is what its own checks
 * (the reporting gate, the NULL result, the bootstrap buffer) cost.
 *
 * dlsym(RTLD_NEXT) does not allocate on success with the glibc this runs
 * on; if it ever does, the recursion is said on stderr and the program
 * stops, so that a wrong floor is never measured. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static void *(*next_malloc)(size_t);
static void (*next_free)(void *);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static __thread int resolving;

static __attribute__((noinline, cold)) void resolve(void)
{
	static const char msg[] = "bare_interposer: dlsym allocated, no floor to measure\n";

	if (resolving) {
		ssize_t r = write(2, msg, sizeof(msg) - 1);
		(void)r;
		_exit(2);
	}
	resolving = 1;
	*(void **)&next_free = dlsym(RTLD_NEXT, "free");
	*(void **)&next_calloc = dlsym(RTLD_NEXT, "calloc");
	*(void **)&next_realloc = dlsym(RTLD_NEXT, "realloc");
	/* Last: it is the pointer malloc tests. */
	*(void **)&next_malloc = dlsym(RTLD_NEXT, "malloc");
	resolving = 0;
}

EXPORT void *malloc(size_t n)
{
	if (__builtin_expect(!next_malloc, 0))
		resolve();
	return next_malloc(n);
}

EXPORT void free(void *p)
{
	if (__builtin_expect(!next_free, 0))
		resolve();
	next_free(p);
}

EXPORT void *calloc(size_t nmemb, size_t size)
{
	if (__builtin_expect(!next_calloc, 0))
		resolve();
	return next_calloc(nmemb, size);
}

EXPORT void *realloc(void *old, size_t n)
{
	if (__builtin_expect(!next_realloc, 0))
		resolve();
	return next_realloc(old, n);
}
