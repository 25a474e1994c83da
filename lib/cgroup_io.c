/* Small file access inside a group, always relative to the group's
 * directory fd, shared by the files that read and write groups. */
#include "cgroup_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"

int mg_cg_write_at(int dfd, const char *file, const char *val)
{
	int fd = openat(dfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;
	size_t len = strlen(val);

	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	close(fd);
	return r;
}

int mg_cg_read_text_at(int dfd, const char *file, char *buf, size_t len)
{
	return mg_read_text_at(dfd, file, buf, len);
}

/* v1 reports "unlimited" as a huge page-rounded number. */
#define V1_UNLIMITED_FLOOR (1ull << 62)

int mg_cg_read_limit_at(int dfd, const char *file, uint64_t *v)
{
	char buf[64];
	int r = mg_cg_read_text_at(dfd, file, buf, sizeof(buf));

	if (r < 0)
		return r;
	if (strncmp(buf, "max", 3) == 0) {
		*v = MG_CG_UNLIMITED;
		return 0;
	}
	*v = strtoull(buf, NULL, 10);
	if (*v >= V1_UNLIMITED_FLOOR)
		*v = MG_CG_UNLIMITED;
	return 0;
}

static void limit_text(int version, uint64_t v, char *buf, size_t len)
{
	if (v == MG_CG_UNLIMITED)
		snprintf(buf, len, "%s", version == 2 ? "max" : "-1");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

int mg_cg_write_limit_at(int version, int dfd, const char *file, uint64_t v)
{
	char buf[32];

	limit_text(version, v, buf, sizeof(buf));
	return mg_cg_write_at(dfd, file, buf);
}

void mg_cg_human(uint64_t v, char *buf, size_t len)
{
	if (v == MG_CG_UNLIMITED)
		snprintf(buf, len, "max");
	else
		mg_bytes_format(v, buf, len);
}

bool mg_cg_has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += wl)
		if ((p == list || p[-1] == ' ' || p[-1] == ',') &&
		    (p[wl] == '\0' || p[wl] == ' ' || p[wl] == '\n' || p[wl] == ','))
			return true;
	return false;
}


int mg_cg_subgroups_at(int dfd)
{
	struct stat st;

	if (fstat(dfd, &st) < 0)
		return -errno;
	/* A file system that does not count subdirectories says 1. */
	if (st.st_nlink < 2)
		return -EOPNOTSUPP;
	return st.st_nlink - 2 > INT_MAX ? INT_MAX : (int)(st.st_nlink - 2);
}
