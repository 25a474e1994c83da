#include "proc_stat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mg_proc_stat_field(pid_t pid, int field, unsigned long long *value)
{
	char path[64], stat[1024], *p, *end;
	ssize_t n;
	int fd;

	if (field < 3)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 && errno == ESRCH ? -ENOENT : -EIO;
	stat[n] = '\0';
	/* The command name may hold spaces and parentheses: count from the
	 * last ')', which ends field 2. */
	p = strrchr(stat, ')');
	for (int i = 2; p && i < field; i++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EIO;
	errno = 0;
	*value = strtoull(p + 1, &end, 10);
	return end == p + 1 || errno ? -EIO : 0;
}
