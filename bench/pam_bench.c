/* Latency of one login session through a real PAM stack: pam_start,
 * open_session, close_session, pam_end, repeated.
 *
 *   pam_bench [--fork] CONFDIR USER ITERATIONS SERVICE[@CGROUP_DIR]...
 *
 * Every iteration runs each service once, so that whatever else the
 * machine does falls on all of them alike, in an order shuffled anew each
 * iteration (with a fixed seed): a stack that runs right after one that
 * reads a large file finds colder caches, and in a fixed order the same
 * stack would always pay for it. SERVICE@CGROUP_DIR also does
 * by hand, inside the session, the kernel work pam_memguard cannot avoid
 * (mkdir of a user and a session group, the three limit writes the bench
 * policy asks for, move in, move back, two rmdirs): the floor to compare the module against.
 * Prints one line per service: "SERVICE[@DIR] median min max" in
 * microseconds.
 *
 * --fork: every session runs in a fresh child, as a login manager forks
 * one per login. pam_systemd moves its caller into the new session's
 * scope, so from the second session on a single process would already be
 * in a session and logind would make no new one: the bench would time a
 * login that does nothing. The child times itself (not the fork) and
 * reports whether open_session moved it into a new session-ID.scope, that
 * of the session pam_systemd announced (XDG_SESSION_ID); each line then
 * gets a fifth field, the number of sessions that did. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)msg;
	(void)data;
	*resp = calloc((size_t)n, sizeof(**resp));
	return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int put(const char *dir, const char *file, const char *val)
{
	char path[4096];
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int kernel_floor(const char *base, const char *orig)
{
	char user[4096], sess[4096], pid[32];

	snprintf(user, sizeof(user), "%s/user-bench", base);
	snprintf(sess, sizeof(sess), "%.4000s/session-bench", user);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (mkdir(user, 0755) < 0 || mkdir(sess, 0755) < 0)
		return -errno;
	if (put(user, "memory.limit_in_bytes", "1073741824") < 0 && put(user, "memory.max", "1073741824") < 0)
		return -EIO;
	if (put(user, "memory.memsw.limit_in_bytes", "1073741824") < 0 && put(user, "memory.swap.max", "0") < 0)
		return -EIO;
	if (put(user, "memory.soft_limit_in_bytes", "805306368") < 0 && put(user, "memory.high", "805306368") < 0)
		return -EIO;
	if (put(sess, "cgroup.procs", pid) < 0 || put(orig, "cgroup.procs", pid) < 0)
		return -EIO;
	if (rmdir(sess) < 0 || rmdir(user) < 0)
		return -errno;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct stack {
	const char *arg, *service;
	char service_buf[256];
	const char *floor_dir; /* NULL: the PAM stack alone */
	char orig[4096];       /* where "move back" goes: the floor dir's parent */
	double *t;
	int scopes; /* --fork: sessions that ran in a new session scope */
};

/* This process's cgroup v2 path (the "0::" line) into buf, or -errno. */
static int own_cgroup(char *buf, size_t size)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (r < 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "0::", 3) == 0) {
			snprintf(buf, size, "%s", line + 3);
			r = 0;
		}
	}
	fclose(f);
	return r;
}

/* Whether the session just opened put this process into a new scope:
 * session-ID.scope of the session pam_systemd announced (XDG_SESSION_ID),
 * and not the one it ran in before (a caller already in a session gets
 * that session's id back and stays where it was). */
static int in_new_scope(pam_handle_t *pamh, const char *before)
{
	const char *id = pam_getenv(pamh, "XDG_SESSION_ID");
	char now[4096], want[128];
	size_t len, wlen;

	if (!id || !*id || own_cgroup(now, sizeof(now)) < 0 || strcmp(now, before) == 0)
		return 0;
	snprintf(want, sizeof(want), "/session-%s.scope", id);
	len = strlen(now);
	wlen = strlen(want);
	return len >= wlen && strcmp(now + len - wlen, want) == 0;
}

/* One session; *us gets its duration, *scope (when not NULL) whether it
 * ran in a new session scope, checked outside the timed part. */
static int one_session(const char *confdir, const char *user, const struct stack *s, double *us, int *scope)
{
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *pamh = NULL;
	char before[4096] = "";
	double t0, t1 = 0, t2 = 0;
	int r;

	if (scope && own_cgroup(before, sizeof(before)) < 0)
		before[0] = '\0';
	t0 = now_us();
	r = pam_start_confdir(s->service, user, &pc, confdir, &pamh);
	if (r == PAM_SUCCESS)
		r = pam_open_session(pamh, 0);
	if (r == PAM_SUCCESS && s->floor_dir)
		r = kernel_floor(s->floor_dir, s->orig) == 0 ? PAM_SUCCESS : PAM_SYSTEM_ERR;
	if (r == PAM_SUCCESS && scope) {
		t1 = now_us();
		*scope = in_new_scope(pamh, before);
		t2 = now_us();
	}
	if (r == PAM_SUCCESS)
		r = pam_close_session(pamh, 0);
	pam_end(pamh, r);
	*us = now_us() - t0 - (t2 - t1);
	return r;
}

/* What a --fork child sends back. */
struct child_result {
	int pam;
	int scope;
	double us;
};

/* One session in a fresh child. Returns 0 with *res filled in, or -errno
 * (-ECHILD: the child died without a result). */
static int one_session_forked(const char *confdir, const char *user, const struct stack *s,
			      struct child_result *res)
{
	int fd[2], status, r = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fd) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fd[0]);
		close(fd[1]);
		return r;
	}
	if (pid == 0) {
		struct child_result c = { 0 };

		close(fd[0]);
		c.pam = one_session(confdir, user, s, &c.us, &c.scope);
		_exit(write(fd[1], &c, sizeof(c)) == (ssize_t)sizeof(c) ? 0 : 1);
	}
	close(fd[1]);
	do
		n = read(fd[0], res, sizeof(*res));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		r = -errno;
	else if (n != (ssize_t)sizeof(*res))
		r = -ECHILD;
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		r = -ECHILD;
	return r;
}

int main(int argc, char **argv)
{
	struct stack *st;
	int n, ns, use_fork = 0;

	if (argc > 1 && strcmp(argv[1], "--fork") == 0) {
		use_fork = 1;
		argv++;
		argc--;
	}
	if (argc < 5 || (n = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: pam_bench [--fork] CONFDIR USER ITERATIONS SERVICE[@CGROUP_DIR]...\n");
		return 2;
	}
	ns = argc - 4;
	st = calloc((size_t)ns, sizeof(*st));
	if (!st)
		return 1;
	for (int j = 0; j < ns; j++) {
		struct stack *s = &st[j];
		char *at;

		s->arg = argv[4 + j];
		snprintf(s->service_buf, sizeof(s->service_buf), "%s", s->arg);
		if ((at = strchr(s->service_buf, '@'))) {
			*at = '\0';
			s->floor_dir = strchr(s->arg, '@') + 1;
			snprintf(s->orig, sizeof(s->orig), "%s", s->floor_dir);
			char *slash = strrchr(s->orig, '/');
			if (slash)
				*slash = '\0';
		}
		s->service = s->service_buf;
		s->t = calloc((size_t)n, sizeof(double));
		if (!s->t)
			return 1;
	}
	int *order = calloc((size_t)ns, sizeof(int));
	unsigned long long seed = 0x9e3779b97f4a7c15ull;

	if (!order)
		return 1;
	for (int j = 0; j < ns; j++)
		order[j] = j;
	for (int i = 0; i < n; i++) {
		for (int j = ns - 1; j > 0; j--) {
			int k, t;

			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			k = (int)(seed % (unsigned long long)(j + 1));
			t = order[j];
			order[j] = order[k];
			order[k] = t;
		}
		for (int o = 0; o < ns; o++) {
			int j = order[o], r;

			if (use_fork) {
				struct child_result c;
				int e = one_session_forked(argv[1], argv[2], &st[j], &c);

				if (e < 0) {
					fprintf(stderr, "pam_bench: %s: iteration %d: %s\n", st[j].arg, i,
						e == -ECHILD ? "the child died without a result" : strerror(-e));
					return 1;
				}
				r = c.pam;
				st[j].t[i] = c.us;
				st[j].scopes += c.scope;
			} else {
				r = one_session(argv[1], argv[2], &st[j], &st[j].t[i], NULL);
			}
			if (r != PAM_SUCCESS) {
				fprintf(stderr, "pam_bench: %s: iteration %d failed: %d\n", st[j].arg, i, r);
				return 1;
			}
		}
	}
	free(order);
	for (int j = 0; j < ns; j++) {
		qsort(st[j].t, (size_t)n, sizeof(double), cmp);
		printf("%s %.1f %.1f %.1f", st[j].arg, st[j].t[n / 2], st[j].t[0], st[j].t[n - 1]);
		if (use_fork)
			printf(" %d", st[j].scopes);
		printf("\n");
		free(st[j].t);
	}
	free(st);
	return 0;
}
