#include "oom_adj.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "readfile.h"

static int path_of(pid_t pid, char *buf, size_t len)
{
	return snprintf(buf, len, "/proc/%d/oom_score_adj", (int)pid) < (int)len ? 0 : -ENAMETOOLONG;
}

int mg_oom_adj_read(pid_t pid, int *value)
{
	char path[64], buf[16];
	int r;

	path_of(pid, path, sizeof(path));
	if ((r = mg_read_text_at(AT_FDCWD, path, buf, sizeof(buf))) < 0)
		return r;
	if (!buf[0])
		return -EIO;
	*value = atoi(buf);
	return 0;
}

int mg_oom_adj_write(pid_t pid, int value)
{
	char path[64], buf[16];
	int fd, len, r = 0;

	path_of(pid, path, sizeof(path));
	len = snprintf(buf, sizeof(buf), "%d", value);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)len) != len)
		r = -errno;
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
