#include "oom_adj.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int path_of(pid_t pid, char *buf, size_t len)
{
	return snprintf(buf, len, "/proc/%d/oom_score_adj", (int)pid) < (int)len ? 0 : -ENAMETOOLONG;
}

int mg_oom_adj_write(pid_t pid, int value)
{
	char path[64], buf[16];
	int fd, len, r = 0;

	path_of(pid, path, sizeof(path));
	len = snprintf(buf, sizeof(buf), "%d", value);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)len) != len)
		r = -errno;
	close(fd);
	return r;
}

int mg_oom_adj_swap(pid_t pid, int value, int *prev)
{
	char path[64], buf[16], *end;
	int fd, len, r = 0;
	ssize_t n, w;
	long old;

	*prev = MG_OOM_ADJ_UNKNOWN;
	path_of(pid, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	/* A value that cannot be read cannot be restored at close: then
	 * nothing is changed. */
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0) {
		r = n < 0 ? -errno : -EIO;
		close(fd);
		return r;
	}
	buf[n] = '\0';
	errno = 0;
	old = strtol(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || errno || old < -1000 || old > 1000) {
		close(fd);
		return -EIO;
	}
	*prev = (int)old;
	len = snprintf(buf, sizeof(buf), "%d", value);
	w = pwrite(fd, buf, (size_t)len, 0);
	if (w != len)
		r = w < 0 ? -errno : -EIO;
	close(fd);
	return r;
}

bool mg_have_sys_resource(void)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_get_caps_process() < 0)
		return false;
	return capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_RESOURCE);
}
