#include "cgroup_stat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "readfile.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" */
static void psi_line(const char *p, struct mg_psi_line *l)
{
	const char *q;

	memset(l, 0, sizeof(*l));
	if ((q = strstr(p, "avg10=")))
		l->avg10 = strtod(q + 6, NULL);
	if ((q = strstr(p, "avg60=")))
		l->avg60 = strtod(q + 6, NULL);
	if ((q = strstr(p, "avg300=")))
		l->avg300 = strtod(q + 7, NULL);
	if ((q = strstr(p, "total=")))
		l->total_us = strtoull(q + 6, NULL, 10);
	l->has = true;
}

int mg_psi_parse(const char *text, struct mg_psi *out)
{
	memset(out, 0, sizeof(*out));
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *eol = strchr(p, '\n');
		char line[256];
		size_t n = eol ? (size_t)(eol - p) : strlen(p);

		if (n >= sizeof(line))
			continue;
		memcpy(line, p, n);
		line[n] = '\0';
		if (strncmp(line, "some ", 5) == 0)
			psi_line(line, &out->some);
		else if (strncmp(line, "full ", 5) == 0)
			psi_line(line, &out->full);
	}
	return out->some.has || out->full.has ? 0 : -EINVAL;
}

int mg_psi_read(const char *path, struct mg_psi *out)
{
	char buf[512];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	/* psi=0 on the kernel command line: the file is there, reading fails. */
	if (n < 0) {
		n = -errno;
		close(fd);
		return n == -EOPNOTSUPP ? -ENOENT : (int)n;
	}
	close(fd);
	buf[n] = '\0';
	return mg_psi_parse(buf, out);
}

static int count_at(int dfd, bool recursive, unsigned depth, unsigned *n)
{
	char buf[8192];
	ssize_t got;
	int fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct dirent *de;
	DIR *d;
	int sub;

	if (fd < 0)
		return -errno;
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < got; i++)
			*n += buf[i] == '\n';
	close(fd);
	if (got < 0)
		return -errno;
	if (!recursive || depth > 32)
		return 0;
	if ((sub = openat(dfd, ".", DIR_FLAGS)) < 0)
		return -errno;
	if (!(d = fdopendir(sub))) {
		close(sub);
		return -errno;
	}
	while ((de = readdir(d))) {
		int cfd;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		/* A group removed right now holds nothing. */
		if ((cfd = openat(dirfd(d), de->d_name, DIR_FLAGS)) < 0)
			continue;
		count_at(cfd, true, depth + 1, n);
		close(cfd);
	}
	closedir(d);
	return 0;
}

int mg_cg_count_procs(const char *dir, bool recursive, unsigned *n)
{
	int dfd = open(dir, DIR_FLAGS), r;

	*n = 0;
	if (dfd < 0)
		return -errno;
	r = count_at(dfd, recursive, 0, n);
	close(dfd);
	return r;
}

int mg_cg_effective_limit(int version, const char *mount, const char *rel, uint64_t *limit, size_t *by_len)
{
	const char *file = version == 2 ? "memory.max" : "memory.limit_in_bytes";
	char path[PATH_MAX];
	size_t len = strlen(rel);

	*limit = MG_CG_UNLIMITED;
	*by_len = 0;
	/* From the group up: the nearest level wins a tie. */
	for (;;) {
		uint64_t v;

		if ((size_t)snprintf(path, sizeof(path), "%s%.*s", mount, (int)len, rel) >= sizeof(path))
			return -ENAMETOOLONG;
		if (mg_cg_read_limit(path, file, &v) == 0 && v < *limit) {
			*limit = v;
			*by_len = len ? len : 1;
		}
		if (len == 0)
			break;
		while (len > 0 && rel[len - 1] != '/')
			len--;
		if (len > 0)
			len--; /* the '/' before the last component */
	}
	if (*limit == MG_CG_UNLIMITED)
		*by_len = 0;
	return 0;
}

/* The boot time, from /proc/stat's btime. */
int mg_boot_time(const char *proc, time_t *bt)
{
	char path[PATH_MAX], *text = NULL, *p;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/stat", proc);
	r = mg_read_file(path, 1u << 20, &text, &len);
	if (r < 0)
		return r;
	p = strstr(text, "\nbtime ");
	r = p ? 0 : -EINVAL;
	if (p)
		*bt = (time_t)strtoll(p + 7, NULL, 10);
	free(text);
	return r;
}

static int start_ticks(const char *proc, pid_t pid, unsigned long long *start)
{
	char path[PATH_MAX], stat[1024], *p;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "%s/%d/stat", proc, (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	stat[n] = '\0';
	/* The command may hold spaces and parentheses: count from the last ')'. */
	if (!(p = strrchr(stat, ')')))
		return -EIO;
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	return p && sscanf(p + 1, "%llu", start) == 1 ? 0 : -EIO;
}

int mg_cg_session_leader(const char *proc, time_t bt, const char *name, pid_t *pid, time_t *started, bool *alive)
{
	unsigned long long start, now;
	long tick = sysconf(_SC_CLK_TCK);
	int p, used = 0;

	*alive = false;
	if (sscanf(name, "session-%d-%llu%n", &p, &start, &used) != 2 || name[used] || p <= 0)
		return -EINVAL;
	*pid = p;
	*started = 0;
	if (bt > 0 && tick > 0)
		*started = bt + (time_t)(start / (unsigned long long)tick);
	*alive = start_ticks(proc, p, &now) == 0 && now == start;
	return 0;
}
