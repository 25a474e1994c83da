#include "proc_stat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"

int mg_proc_stat_field(pid_t pid, int field, unsigned long long *value)
{
	char path[64], stat[1024], *p, *end;
	int r;

	if (field < 3)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	/* A process that ended after the open: gone, as one before it. */
	if ((r = mg_read_text_at(AT_FDCWD, path, stat, sizeof(stat))) < 0)
		return r == -ESRCH ? -ENOENT : r;
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
