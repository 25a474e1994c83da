/* malloc and friends. The fast path is one compare of the request against
 * mg_pl_gate (a value written once, at initialisation) and one of the
 * result against NULL; free() is one indirect jump. No shared writes, no
 * thread-local access. Everything else - reports, injection, bootstrap -
 * is in the out-of-line slow path. */
#include "preload.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

struct req {
	enum mg_pl_func func;
	size_t size;   /* total bytes */
	size_t nmemb;  /* calloc, reallocarray */
	size_t elsize;
	size_t align;
	void *old;     /* realloc */
	bool overflow; /* nmemb * elsize does not fit */
};

static size_t gate(void)
{
	return __atomic_load_n(&mg_pl_gate, __ATOMIC_RELAXED);
}

static void event_from(struct mg_pl_event *ev, const struct req *r)
{
	memset(ev, 0, sizeof(*ev));
	ev->func = r->func;
	ev->size = r->size;
	ev->nmemb = r->nmemb;
	ev->elsize = r->elsize;
	ev->align = r->align;
	ev->old = r->old;
	ev->overflow = r->overflow;
	ev->prot = -1;
}

/* A failure seen on the fast path: report it unless we are the ones
 * allocating (a failure inside a report must not recurse). */
static __attribute__((noinline, cold)) void fast_failure(const struct req *r, int err)
{
	struct mg_pl_event ev;

	if (mg_pl_in_hook || !__atomic_load_n(&mg_pl_ready, __ATOMIC_ACQUIRE))
		return;
	mg_pl_in_hook = 1;
	event_from(&ev, r);
	ev.failed = true;
	ev.err = err;
	mg_pl_report(&ev);
	mg_pl_in_hook = 0;
	errno = err;
}

/* Bootstrap pointers can only be moved, never given back. */
static void *realloc_from_boot(void *old, size_t n)
{
	size_t had = mg_pl_boot_size(old);
	void *p;

	if (n == 0)
		return NULL;
	p = mg_pl_real.malloc ? mg_pl_real.malloc(n) : mg_pl_boot_alloc(n, 16);
	if (p)
		memcpy(p, old, had < n ? had : n);
	return p;
}

static void *call_real(const struct req *r)
{
	void *p = NULL;
	int e;

	switch (r->func) {
	case MG_F_MALLOC:
		return mg_pl_real.malloc(r->size);
	case MG_F_CALLOC:
		return mg_pl_real.calloc(r->nmemb, r->elsize);
	case MG_F_REALLOC:
	case MG_F_REALLOCARRAY:
		if (r->overflow) {
			errno = ENOMEM;
			return NULL;
		}
		if (mg_pl_boot_owns(r->old))
			return realloc_from_boot(r->old, r->size);
		return mg_pl_real.realloc(r->old, r->size);
	case MG_F_POSIX_MEMALIGN:
		/* The error comes back as the result: keep it in errno here. */
		e = mg_pl_real.posix_memalign(&p, r->align, r->size);
		/* errno stands for the result in between: 0 is success. */
		errno = e;
		return e ? NULL : p;
	case MG_F_ALIGNED_ALLOC:
		return mg_pl_real.aligned_alloc(r->align, r->size);
	case MG_F_MEMALIGN:
		return mg_pl_real.memalign(r->align, r->size);
	case MG_F_VALLOC:
		return mg_pl_real.valloc(r->size);
	case MG_F_PVALLOC:
		return mg_pl_real.pvalloc(r->size);
	default:
		errno = EINVAL;
		return NULL;
	}
}

/* NULL that is not a failure: malloc(0) may return it, realloc(p, 0) frees.
 * posix_memalign reports failures through its result instead. */
static bool null_is_failure(const struct req *r)
{
	return r->size != 0 || r->overflow;
}

static __attribute__((noinline)) void *slow(const struct req *r, int *perr)
{
	struct mg_pl_event ev;
	bool injected = false;
	void *p;
	int err;

	*perr = 0;
	if (!mg_pl_ensure_init()) {
		/* dlsym is running: hand out bootstrap memory. */
		if (r->func == MG_F_REALLOC || r->func == MG_F_REALLOCARRAY) {
			if (r->old && mg_pl_boot_owns(r->old))
				return realloc_from_boot(r->old, r->size);
			if (r->old)
				return NULL;
		}
		p = r->overflow ? NULL : mg_pl_boot_alloc(r->size, r->align);
		if (!p)
			*perr = ENOMEM;
		return p;
	}
	if (mg_pl_in_hook) {
		p = call_real(r);
		*perr = errno;
		return p;
	}

	mg_pl_in_hook = 1;
	if (r->size && !r->overflow && mg_pl_inject(r->size)) {
		injected = true;
		p = NULL;
		err = ENOMEM;
	} else {
		p = call_real(r);
		err = errno;
	}
	if (__atomic_load_n(&mg_pl_ready, __ATOMIC_ACQUIRE)) {
		if (!p && null_is_failure(r)) {
			event_from(&ev, r);
			ev.failed = true;
			ev.injected = injected;
			ev.err = err;
			mg_pl_report(&ev);
		} else if (p && r->size >= mg_pl_cfg.threshold) {
			event_from(&ev, r);
			ev.result = p;
			mg_pl_report(&ev);
		}
	}
	mg_pl_in_hook = 0;
	*perr = err;
	return p;
}

/* errno as the real call left it; untouched by our reporting. */
static void *slow_errno(const struct req *r)
{
	int saved = errno, err;
	void *p = slow(r, &err);

	errno = p ? saved : err;
	return p;
}

/* The cold halves live out of line, so that each hot half is the compare,
 * the call and the NULL check and nothing more: no request built, no stack
 * frame beyond the registers kept across the call. Each reads errno first,
 * before anything can change it. See bench/preload-bench.sh. */
static __attribute__((noinline, cold)) void *malloc_slow(size_t n)
{
	return slow_errno(&(struct req){ .func = MG_F_MALLOC, .size = n });
}

static __attribute__((noinline, cold)) void *malloc_failed(size_t n)
{
	fast_failure(&(struct req){ .func = MG_F_MALLOC, .size = n }, errno);
	return NULL;
}

static struct req calloc_req(size_t nmemb, size_t size)
{
	struct req r = { .func = MG_F_CALLOC, .nmemb = nmemb, .elsize = size };

	r.overflow = __builtin_mul_overflow(nmemb, size, &r.size);
	return r;
}

static __attribute__((noinline, cold)) void *calloc_slow(size_t nmemb, size_t size)
{
	struct req r = calloc_req(nmemb, size);

	return slow_errno(&r);
}

static __attribute__((noinline, cold)) void *calloc_failed(size_t nmemb, size_t size)
{
	int err = errno;
	struct req r = calloc_req(nmemb, size);

	fast_failure(&r, err);
	return NULL;
}

static struct req realloc_req(enum mg_pl_func f, void *old, size_t nmemb, size_t size)
{
	struct req r = { .func = f, .old = old, .size = size };

	if (f == MG_F_REALLOCARRAY) {
		r.nmemb = nmemb;
		r.elsize = size;
		r.overflow = __builtin_mul_overflow(nmemb, size, &r.size);
	}
	return r;
}

static __attribute__((noinline, cold)) void *realloc_slow(enum mg_pl_func f, void *old, size_t nmemb,
							   size_t size)
{
	struct req r = realloc_req(f, old, nmemb, size);

	return slow_errno(&r);
}

static __attribute__((noinline, cold)) void *realloc_failed(enum mg_pl_func f, void *old, size_t nmemb,
							     size_t size)
{
	int err = errno;
	struct req r = realloc_req(f, old, nmemb, size);

	fast_failure(&r, err);
	return NULL;
}

EXPORT void *malloc(size_t n)
{
	void *p;

	if (MG_UNLIKELY(n >= gate()))
		return malloc_slow(n);
	p = mg_pl_real.malloc(n);
	if (MG_UNLIKELY(!p) && n)
		return malloc_failed(n);
	return p;
}

EXPORT void *calloc(size_t nmemb, size_t size)
{
	size_t n;
	void *p;

	if (MG_UNLIKELY(__builtin_mul_overflow(nmemb, size, &n) || n >= gate()))
		return calloc_slow(nmemb, size);
	p = mg_pl_real.calloc(nmemb, size);
	if (MG_UNLIKELY(!p) && n)
		return calloc_failed(nmemb, size);
	return p;
}

EXPORT void *realloc(void *old, size_t n)
{
	void *p;

	if (MG_UNLIKELY(n >= gate() || mg_pl_boot_owns(old)))
		return realloc_slow(MG_F_REALLOC, old, 0, n);
	p = mg_pl_real.realloc(old, n);
	if (MG_UNLIKELY(!p) && n)
		return realloc_failed(MG_F_REALLOC, old, 0, n);
	return p;
}

/* glibc's own reallocarray calls realloc through the PLT, which would land
 * in our realloc and report the request a second time: check the product
 * here and take our realloc path directly, so that one call is one report. */
EXPORT void *reallocarray(void *old, size_t nmemb, size_t size)
{
	size_t n;
	void *p;

	if (MG_UNLIKELY(__builtin_mul_overflow(nmemb, size, &n) || n >= gate() || mg_pl_boot_owns(old)))
		return realloc_slow(MG_F_REALLOCARRAY, old, nmemb, size);
	p = mg_pl_real.realloc(old, n);
	if (MG_UNLIKELY(!p) && n)
		return realloc_failed(MG_F_REALLOCARRAY, old, nmemb, size);
	return p;
}

static __attribute__((noinline, cold)) void free_early(void *p)
{
	/* Only free(NULL) can come before resolution: nothing else exists. */
	if (p && mg_pl_ensure_init() && mg_pl_real.free)
		mg_pl_real.free(p);
}

/* free() while bootstrap blocks may be out: those are never given back. */
static void free_checked(void *p)
{
	void (*real_free)(void *) = mg_pl_real.free;

	if (MG_UNLIKELY(mg_pl_boot_owns(p)))
		return;
	if (MG_UNLIKELY(!real_free)) {
		free_early(p);
		return;
	}
	real_free(p);
}

/* Where free() goes: free_checked until initialisation is over, then the
 * real free itself when no bootstrap block was ever handed out (the usual
 * case: dlsym does not allocate on success), which makes free() one
 * indirect jump. */
static void (*free_target)(void *) = free_checked;

void mg_pl_free_direct(void)
{
	__atomic_store_n(&free_target, mg_pl_real.free, __ATOMIC_RELEASE);
}

EXPORT void free(void *p)
{
	__atomic_load_n(&free_target, __ATOMIC_RELAXED)(p);
}

EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (mg_pl_boot_owns(p))
		return mg_pl_boot_size(p);
	if (MG_UNLIKELY(!mg_pl_real.malloc_usable_size) && !mg_pl_ensure_init())
		return 0;
	return mg_pl_real.malloc_usable_size(p);
}

static void *aligned(enum mg_pl_func f, size_t align, size_t n)
{
	struct req r = { .func = f, .size = n, .align = align };
	void *p;

	if (MG_UNLIKELY(n >= gate()))
		return slow_errno(&r);
	p = call_real(&r);
	if (MG_UNLIKELY(!p) && null_is_failure(&r))
		fast_failure(&r, errno);
	return p;
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	struct req r = { .func = MG_F_POSIX_MEMALIGN, .size = n, .align = align };
	int saved = errno, err = 0;
	void *p = NULL;

	if (MG_UNLIKELY(n >= gate())) {
		p = slow(&r, &err);
		/* slow() leaves the result of the call in err: 0 is success. */
		if (!p && !err && n)
			err = ENOMEM;
	} else {
		err = mg_pl_real.posix_memalign(&p, align, n);
		if (MG_UNLIKELY(err))
			fast_failure(&r, err);
	}
	/* posix_memalign leaves errno alone and *out untouched on failure. */
	errno = saved;
	if (err)
		return err;
	*out = p;
	return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	return aligned(MG_F_ALIGNED_ALLOC, align, n);
}

EXPORT void *memalign(size_t align, size_t n)
{
	return aligned(MG_F_MEMALIGN, align, n);
}

EXPORT void *valloc(size_t n)
{
	return aligned(MG_F_VALLOC, 0, n);
}

EXPORT void *pvalloc(size_t n)
{
	return aligned(MG_F_PVALLOC, 0, n);
}
