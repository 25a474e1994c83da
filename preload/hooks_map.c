/* mmap, mmap64, mremap and mprotect. Only anonymous mappings are memory
 * allocations; file mappings pass through untouched. A PROT_NONE or
 * MAP_NORESERVE mapping is address space reserved for later (JVM heaps, Go
 * arenas, sanitizer shadows) and is not reported as a large allocation;
 * under strict overcommit such programs fail later, at mprotect, so an
 * mprotect failing with ENOMEM is reported as a failure. */
#undef _FILE_OFFSET_BITS /* sys/mman.h would rename mmap to mmap64 */
#include "preload.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static bool reservation(int prot, int flags)
{
	return prot == PROT_NONE || (flags & MAP_NORESERVE);
}

static void report_map(enum mg_pl_func f, size_t len, size_t old_len, const void *old, int prot,
		       void *res, int err, bool injected)
{
	struct mg_pl_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.func = f;
	ev.size = len;
	ev.old_size = old_len;
	ev.old = old;
	ev.prot = prot;
	ev.result = res;
	ev.failed = res == MAP_FAILED;
	ev.err = ev.failed ? err : 0;
	ev.injected = injected;
	mg_pl_report(&ev);
}

static void *map_any(enum mg_pl_func f, void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *(*real)(void *, size_t, int, int, int, off_t);
	bool injected = false, reserve, large;
	void *p;
	int err;

	/* Before resolution (an earlier library's constructor), go to the
	 * kernel directly. */
	if (MG_UNLIKELY(!mg_pl_ensure_init()) || !mg_pl_real.mmap)
		return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	real = f == MG_F_MMAP64 ? mg_pl_real.mmap64 : mg_pl_real.mmap;
	if (!(flags & MAP_ANONYMOUS) || mg_pl_in_hook || !__atomic_load_n(&mg_pl_ready, __ATOMIC_ACQUIRE))
		return real(addr, len, prot, flags, fd, off);

	reserve = reservation(prot, flags);
	large = !reserve && len >= mg_pl_cfg.threshold;
	if (!reserve && len >= mg_pl_gate && mg_pl_inject(len)) {
		injected = true;
		p = MAP_FAILED;
		err = ENOMEM;
	} else {
		p = real(addr, len, prot, flags, fd, off);
		if (MG_LIKELY(p != MAP_FAILED && !large))
			return p;
		err = errno;
		/* MAP_FIXED_NOREPLACE probing an occupied range is not a shortage. */
		if (p == MAP_FAILED && err == EEXIST)
			return p;
	}
	mg_pl_in_hook = 1;
	report_map(f, len, 0, NULL, prot, p, err, injected);
	mg_pl_in_hook = 0;
	errno = err;
	return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return map_any(MG_F_MMAP, addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return map_any(MG_F_MMAP64, addr, len, prot, flags, fd, off);
}

/* The new address is a fifth, variadic argument, present only with
 * MREMAP_FIXED (glibc reads it under the same condition): forward it, or
 * the move lands wherever the kernel likes instead of at the target. */
EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL, *p;
	bool injected = false;
	int err;

	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	if (MG_UNLIKELY(!mg_pl_ensure_init()) || !mg_pl_real.mremap)
		return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
	if (mg_pl_in_hook || !__atomic_load_n(&mg_pl_ready, __ATOMIC_ACQUIRE))
		return mg_pl_real.mremap(old, old_len, new_len, flags, new_addr);

	if (new_len > old_len && new_len >= mg_pl_gate && mg_pl_inject(new_len)) {
		injected = true;
		p = MAP_FAILED;
		err = ENOMEM;
	} else {
		p = mg_pl_real.mremap(old, old_len, new_len, flags, new_addr);
		if (p != MAP_FAILED && (new_len <= old_len || new_len < mg_pl_cfg.threshold))
			return p;
		err = errno;
	}
	mg_pl_in_hook = 1;
	report_map(MG_F_MREMAP, new_len, old_len, old, -1, p, err, injected);
	mg_pl_in_hook = 0;
	errno = err;
	return p;
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
	int r, err;

	if (MG_UNLIKELY(!mg_pl_ensure_init()) || !mg_pl_real.mprotect)
		return (int)syscall(SYS_mprotect, addr, len, prot);
	r = mg_pl_real.mprotect(addr, len, prot);
	if (MG_LIKELY(r == 0) || errno != ENOMEM || mg_pl_in_hook ||
	    !__atomic_load_n(&mg_pl_ready, __ATOMIC_ACQUIRE))
		return r;
	err = errno;
	mg_pl_in_hook = 1;
	report_map(MG_F_MPROTECT, len, 0, addr, prot, MAP_FAILED, err, false);
	mg_pl_in_hook = 0;
	errno = err;
	return r;
}
