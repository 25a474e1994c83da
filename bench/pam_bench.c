/* Latency of one login session through a real PAM stack: pam_start,
 * open_session, close_session, pam_end, repeated.
 *
 *   pam_bench CONFDIR SERVICE USER ITERATIONS [CGROUP_DIR]
 *
 * With CGROUP_DIR, each iteration also does by hand the kernel work that
 * pam_memguard cannot avoid (mkdir of a user and a session group, two
 * limit writes, move in, move back, two rmdirs): the floor to compare
 * the module against. Prints the median, min and max in microseconds. */
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
	snprintf(sess, sizeof(sess), "%s/session-bench", user);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (mkdir(user, 0755) < 0 || mkdir(sess, 0755) < 0)
		return -errno;
	if (put(user, "memory.limit_in_bytes", "1073741824") < 0 && put(user, "memory.max", "1073741824") < 0)
		return -EIO;
	if (put(user, "memory.memsw.limit_in_bytes", "1073741824") < 0 && put(user, "memory.swap.max", "0") < 0)
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

int main(int argc, char **argv)
{
	struct pam_conv pc = { conv, NULL };
	const char *floor_dir = argc > 5 ? argv[5] : NULL;
	char orig[4096] = "";
	int n, r;
	double *t;

	if (argc < 5 || (n = atoi(argv[4])) <= 0) {
		fprintf(stderr, "usage: pam_bench CONFDIR SERVICE USER ITERATIONS [CGROUP_DIR]\n");
		return 2;
	}
	if (floor_dir) {
		/* The group this process starts in: where "move back" goes. */
		snprintf(orig, sizeof(orig), "%s", floor_dir);
		char *slash = strrchr(orig, '/');
		if (slash)
			*slash = '\0';
	}
	t = calloc((size_t)n, sizeof(*t));
	for (int i = 0; i < n; i++) {
		pam_handle_t *pamh = NULL;
		double t0 = now_us();

		r = pam_start_confdir(argv[2], argv[3], &pc, argv[1], &pamh);
		if (r == PAM_SUCCESS)
			r = pam_open_session(pamh, 0);
		if (r == PAM_SUCCESS && floor_dir)
			r = kernel_floor(floor_dir, orig) == 0 ? PAM_SUCCESS : PAM_SYSTEM_ERR;
		if (r == PAM_SUCCESS)
			r = pam_close_session(pamh, 0);
		pam_end(pamh, r);
		t[i] = now_us() - t0;
		if (r != PAM_SUCCESS) {
			fprintf(stderr, "pam_bench: iteration %d failed: %d\n", i, r);
			return 1;
		}
	}
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("%.1f %.1f %.1f\n", t[n / 2], t[0], t[n - 1]);
	free(t);
	return 0;
}
