/* Latency of one login session through a real PAM stack: pam_start,
 * open_session, close_session, pam_end, repeated.
 *
 *   pam_bench CONFDIR USER ITERATIONS SERVICE[@CGROUP_DIR]...
 *
 * Every iteration runs each service once, in turn, so that whatever else
 * the machine does falls on all of them alike. SERVICE@CGROUP_DIR also does
 * by hand, inside the session, the kernel work pam_memguard cannot avoid
 * (mkdir of a user and a session group, the three limit writes the bench
 * policy asks for, move in, move back, two rmdirs): the floor to compare the module against.
 * Prints one line per service: "SERVICE[@DIR] median min max" in
 * microseconds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
};

static int one_session(const char *confdir, const char *user, const struct stack *s)
{
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *pamh = NULL;
	int r;

	r = pam_start_confdir(s->service, user, &pc, confdir, &pamh);
	if (r == PAM_SUCCESS)
		r = pam_open_session(pamh, 0);
	if (r == PAM_SUCCESS && s->floor_dir)
		r = kernel_floor(s->floor_dir, s->orig) == 0 ? PAM_SUCCESS : PAM_SYSTEM_ERR;
	if (r == PAM_SUCCESS)
		r = pam_close_session(pamh, 0);
	pam_end(pamh, r);
	return r;
}

int main(int argc, char **argv)
{
	struct stack *st;
	int n, ns;

	if (argc < 5 || (n = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: pam_bench CONFDIR USER ITERATIONS SERVICE[@CGROUP_DIR]...\n");
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
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < ns; j++) {
			double t0 = now_us();
			int r = one_session(argv[1], argv[2], &st[j]);

			st[j].t[i] = now_us() - t0;
			if (r != PAM_SUCCESS) {
				fprintf(stderr, "pam_bench: %s: iteration %d failed: %d\n", st[j].arg, i, r);
				return 1;
			}
		}
	}
	for (int j = 0; j < ns; j++) {
		qsort(st[j].t, (size_t)n, sizeof(double), cmp);
		printf("%s %.1f %.1f %.1f\n", st[j].arg, st[j].t[n / 2], st[j].t[0], st[j].t[n - 1]);
		free(st[j].t);
	}
	free(st);
	return 0;
}
