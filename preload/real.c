/* Finding the definitions we wrap (the next ones after this library in
 * lookup order) and initialising the shim exactly once, whichever comes
 * first: our constructor or an allocation made by an earlier constructor. */
#include "preload.h"

#include <dlfcn.h>
#include <unistd.h>

struct mg_pl_real mg_pl_real;
size_t mg_pl_gate;
bool mg_pl_ready;
__thread int mg_pl_in_hook;

enum { INIT_NONE, INIT_RESOLVING, INIT_LOADING, INIT_DONE, INIT_STATE = 3 };
/* Set in init_state, beside the state, by every caller that was told "not
 * yet" (and so may hand out bootstrap memory): one atomic word, so that no
 * such caller can slip in unseen between the last look and the decision
 * about free() at the end of initialisation. */
#define INIT_BOOT_SEEN 4
static atomic_int init_state;

bool mg_pl_resolving(void)
{
	return (atomic_load_explicit(&init_state, memory_order_acquire) & INIT_STATE) == INIT_RESOLVING;
}

static void die(const char *what)
{
	static const char pre[] = "memguard: cannot find the real ";
	ssize_t r = write(2, pre, sizeof(pre) - 1);
	size_t n = 0;

	while (what[n])
		n++;
	r = write(2, what, n);
	r = write(2, "\n", 1);
	(void)r;
	_exit(127);
}

#define RESOLVE(field, name)                                                       \
	do {                                                                       \
		*(void **)&mg_pl_real.field = dlsym(RTLD_NEXT, name);              \
		if (!mg_pl_real.field)                                             \
			die(name);                                                 \
	} while (0)

static void resolve(void)
{
	/* free first: the bootstrap buffer covers allocations, not releases
	 * of memory the real malloc handed out before we were asked. */
	RESOLVE(free, "free");
	RESOLVE(malloc, "malloc");
	RESOLVE(calloc, "calloc");
	RESOLVE(realloc, "realloc");
	RESOLVE(posix_memalign, "posix_memalign");
	RESOLVE(aligned_alloc, "aligned_alloc");
	RESOLVE(memalign, "memalign");
	RESOLVE(valloc, "valloc");
	RESOLVE(pvalloc, "pvalloc");
	RESOLVE(malloc_usable_size, "malloc_usable_size");
	RESOLVE(mmap, "mmap");
	RESOLVE(mmap64, "mmap64");
	RESOLVE(mremap, "mremap");
	RESOLVE(mprotect, "mprotect");
}

/* Settings and the gate: only after this do large requests get reported. */
static size_t compute_gate(void)
{
	uint64_t g = mg_pl_cfg.threshold;

	if (mg_pl_cfg.fail_after != MG_PL_OFF)
		g = 0;
	else if (mg_pl_cfg.fail_above != MG_PL_OFF && mg_pl_cfg.fail_above + 1 < g)
		g = mg_pl_cfg.fail_above + 1;
	return g > SIZE_MAX ? SIZE_MAX : (size_t)g;
}

bool mg_pl_ensure_init(void)
{
	int st = atomic_load_explicit(&init_state, memory_order_acquire);

	if (MG_LIKELY((st & INIT_STATE) == INIT_DONE))
		return true;
	if (st == INIT_NONE && atomic_compare_exchange_strong(&init_state, &st, INIT_RESOLVING)) {
		int saved = mg_pl_in_hook;
		mg_pl_in_hook = 1;
		resolve();
		/* Adding keeps INIT_BOOT_SEEN: a nested call may have set it. */
		atomic_fetch_add_explicit(&init_state, INIT_LOADING - INIT_RESOLVING, memory_order_release);
		mg_pl_config_load();
		__atomic_store_n(&mg_pl_ready, true, __ATOMIC_RELEASE);
		__atomic_store_n(&mg_pl_gate, compute_gate(), __ATOMIC_RELEASE);
		st = atomic_fetch_add_explicit(&init_state, INIT_DONE - INIT_LOADING, memory_order_acq_rel);
		/* No bootstrap block can be handed out from now on; if none
		 * was, free() need not look for them. */
		if (!(st & INIT_BOOT_SEEN))
			mg_pl_free_direct();
		mg_pl_in_hook = saved;
		return true;
	}
	/* Another thread (or this one, inside dlsym) is initialising: the real
	 * functions are usable once resolution is over. Before that the
	 * caller serves bootstrap memory, which free() must then recognise. */
	st = atomic_load_explicit(&init_state, memory_order_acquire);
	while ((st & INIT_STATE) < INIT_LOADING) {
		if ((st & INIT_BOOT_SEEN) ||
		    atomic_compare_exchange_weak(&init_state, &st, st | INIT_BOOT_SEEN))
			return false;
	}
	return true;
}
