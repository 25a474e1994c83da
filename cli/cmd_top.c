/* memguardctl top: the status snapshot, read again every interval, one
 * row per user: usage with a bar against the limit in force, the high,
 * max and OOM counters, pressure and sessions. Full screen (ncurses) on a
 * terminal, where q quits and s, n, u, p change the order; a plain table
 * repeated on anything else. --iterations bounds the run. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>

#include "ctl.h"
#include "live.h"
#include "snapshot.h"

#define BAR_WIDTH 20

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *sort_name(int sort)
{
	return sort == CTL_SORT_USAGE ? "usage" : sort == CTL_SORT_PRESSURE ? "pressure" : "name";
}

/* The lines of one frame, the same for the screen and the plain table. */
typedef void (*emit_fn)(void *arg, int row, const char *line, bool header);

static void frame(const struct snapshot *s, int sort, unsigned interval_ms, emit_fn emit, void *arg)
{
	char line[512], when[32], a[32], b[32];
	struct tm tm;
	int row = 0;

	if (!localtime_r(&s->at, &tm) || !strftime(when, sizeof(when), "%H:%M:%S", &tm))
		snprintf(when, sizeof(when), "?");
	live_human(s->has_all && s->all.live.has_current ? s->all.live.current : 0, a, sizeof(a));
	live_human(s->has_all && s->all.live.has[MG_KEY_MEMORY_MAX] ? s->all.live.bytes[MG_KEY_MEMORY_MAX]
								   : MG_CG_UNLIMITED,
		   b, sizeof(b));
	snprintf(line, sizeof(line), "memguard top %s  %s  users %zu  sessions %u  all %s of %s  host pressure %.2f  sort %s  every %.1fs",
		 when, s->systemd ? "systemd" : "cgroupfs", s->nu, s->nsessions, a, b,
		 s->host.has_psi ? s->host.psi.some.avg10 : 0.0, sort_name(sort), interval_ms / 1000.0);
	emit(arg, row++, line, true);
	snprintf(line, sizeof(line), "%-16s %8s %9s %-*s %9s %6s %6s %5s %7s %4s", "USER", "UID", "USAGE", BAR_WIDTH + 2,
		 "BAR", "LIMIT", "HIGH", "MAX", "OOM", "PRESS", "SESS");
	emit(arg, row++, line, true);
	for (size_t i = 0; i < s->nu; i++) {
		const struct snap_user *u = &s->u[i];
		const struct snap_group *g = snap_user_group(u);
		char bar[BAR_WIDTH + 3], uid[16], name[17];
		unsigned fill = 0;

		if (!g)
			continue;
		snprintf(uid, sizeof(uid), "%u", (unsigned)u->uid);
		snprintf(name, sizeof(name), "%s", u->name ? ctl_safe(u->name) : uid);
		live_human(g->live.has_current ? g->live.current : 0, a, sizeof(a));
		live_human(g->eff, b, sizeof(b));
		if (g->eff != MG_CG_UNLIMITED && g->eff > 0 && g->live.has_current)
			fill = (unsigned)(g->live.current >= g->eff ? BAR_WIDTH
								    : (double)g->live.current / (double)g->eff * BAR_WIDTH + 0.5);
		bar[0] = '[';
		for (unsigned k = 0; k < BAR_WIDTH; k++)
			bar[k + 1] = k < fill ? '#' : '.';
		bar[BAR_WIDTH + 1] = ']';
		bar[BAR_WIDTH + 2] = '\0';
		snprintf(line, sizeof(line), "%-16s %8s %9s %s %9s %6llu %6llu %5llu %7.2f %4zu", name, uid, a, bar, b,
			 (unsigned long long)(g->ev.has_high ? g->ev.high : 0), (unsigned long long)(g->ev.has_max ? g->ev.max : 0),
			 (unsigned long long)(g->ev.has_oom_kills ? g->ev.oom_kills : 0), g->has_psi ? g->psi.some.avg10 : 0.0,
			 u->ng ? u->ng - 1 : 0);
		emit(arg, row++, line, false);
	}
	if (s->nu == 0)
		emit(arg, row, "no user has live memguard state", false);
}

static void emit_plain(void *arg, int row, const char *line, bool header)
{
	(void)arg;
	(void)row;
	(void)header;
	printf("%s\n", line);
}

static void emit_screen(void *arg, int row, const char *line, bool header)
{
	(void)arg;
	if (row >= LINES - 1)
		return;
	if (header)
		attron(A_BOLD);
	mvaddnstr(row, 0, line, COLS);
	if (header)
		attroff(A_BOLD);
}

/* A key, or the interval's end: -1 to go on, 'q' to stop. */
static int screen_wait(unsigned ms, int *sort)
{
	int ch;

	timeout((int)ms);
	ch = getch();
	switch (ch) {
	case 'q':
	case 'Q':
		return 'q';
	case 's':
		*sort = (*sort + 1) % 3;
		break;
	case 'n':
		*sort = CTL_SORT_NAME;
		break;
	case 'u':
		*sort = CTL_SORT_USAGE;
		break;
	case 'p':
		*sort = CTL_SORT_PRESSURE;
		break;
	}
	return -1;
}

int cmd_top(struct ctl *c, int argc, char **argv)
{
	struct live lv;
	struct mg_policy p;
	struct mg_diags d = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	size_t errors;
	bool policy_ok, screen;
	int sort = c->sort_given ? (int)c->sort : CTL_SORT_USAGE, r;

	r = live_choose(&lv, c);
	if (r)
		return r;
	r = ctl_load(c, &p, NULL, &d);
	ctl_print_diags(&d);
	errors = d.errors;
	mg_diags_free(&d);
	if (r == -ENOMEM)
		goto out_policy;
	policy_ok = r >= 0;
	r = live_open(&lv);
	if (r < 0)
		goto out;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Full screen only on a terminal that curses can drive. */
	screen = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && getenv("TERM") && strcmp(getenv("TERM"), "dumb") != 0;
	if (screen && !initscr())
		screen = false;
	if (screen) {
		cbreak();
		noecho();
		curs_set(0);
		keypad(stdscr, TRUE);
	}
	for (unsigned n = 0; !stop && (!c->iterations || n < c->iterations); n++) {
		struct snapshot s;

		r = snapshot_take(&s, c, &lv, &p, policy_ok, errors, argc, argv);
		if (r < 0)
			break;
		snapshot_sort(&s, sort);
		if (screen) {
			erase();
			frame(&s, sort, c->interval_ms, emit_screen, NULL);
			mvaddnstr(LINES - 1, 0, "q quit  s next order  n name  u usage  p pressure", COLS);
			refresh();
		} else {
			if (n)
				printf("\n");
			frame(&s, sort, c->interval_ms, emit_plain, NULL);
			fflush(stdout);
		}
		snapshot_free(&s);
		if (c->iterations && n + 1 >= c->iterations)
			break;
		if (screen) {
			if (screen_wait(c->interval_ms, &sort) == 'q')
				break;
		} else {
			poll(NULL, 0, (int)c->interval_ms);
		}
	}
	if (screen)
		endwin();
out:
	live_close(&lv);
out_policy:
	mg_policy_free(&p);
	return r < 0 ? r : 0;
}
