/* Fault injection: MEMGUARD_FAIL_ABOVE and MEMGUARD_FAIL_AFTER make a
 * request fail the way the kernel refuses it under strict overcommit, so
 * that a program's error paths (and our reports) can be tested without
 * changing vm.overcommit_memory. Only reached through the slow path: when
 * neither is set the gate is the report threshold and this costs nothing. */
#include "preload.h"

static atomic_uint_least64_t matched;

bool mg_pl_inject(uint64_t size)
{
	uint64_t above = mg_pl_cfg.fail_above, after = mg_pl_cfg.fail_after;

	if (above == MG_PL_OFF && after == MG_PL_OFF)
		return false;
	if (above != MG_PL_OFF && size <= above)
		return false;
	if (after == MG_PL_OFF)
		return true;
	/* The first FAIL_AFTER matching requests pass, every later one fails. */
	return atomic_fetch_add_explicit(&matched, 1, memory_order_relaxed) >= after;
}
