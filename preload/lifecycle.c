/* Start, fork and exit. The constructor does the work that must not happen
 * inside a hook: resolving, reading settings, loading the unwinder. The
 * destructor prints the summary (exit() and return from main; _exit and
 * fatal signals print none). There is no signal for an on-demand summary:
 * taking one over would change the host program's behaviour. */
#include "preload.h"

#include <pthread.h>

#include "sink.h"
#include "symbolize.h"

static void child_after_fork(void)
{
	mg_pl_sink_child();
	/* The child's summary is about the child. */
	mg_pl_report_reset_child();
}

__attribute__((constructor)) static void mg_pl_start(void)
{
	int saved = mg_pl_in_hook;

	mg_pl_ensure_init();
	mg_pl_in_hook = 1;
	mg_pl_backtrace_warm();
	pthread_atfork(NULL, NULL, child_after_fork);
	mg_pl_in_hook = saved;
}

__attribute__((destructor)) static void mg_pl_stop(void)
{
	int saved = mg_pl_in_hook;

	if (!mg_pl_ready)
		return;
	mg_pl_in_hook = 1;
	mg_pl_report_exit();
	mg_pl_in_hook = saved;
}
