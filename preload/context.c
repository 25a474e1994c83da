#include "context.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

const struct mg_pl_roots mg_pl_roots_default = { "/proc", "/sys/fs/cgroup" };

/* Joins up to three parts; -ENAMETOOLONG when they do not fit. */
static int join(char *out, size_t cap, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;

	if (la + lb + lc + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, a, la);
	memcpy(out + la, b, lb);
	if (c)
		memcpy(out + la + lb, c, lc);
	out[la + lb + lc] = '\0';
	return 0;
}

/* Whole small file into buf, NUL-terminated; returns length or -errno. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	while (len + 1 < cap) {
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

static int64_t parse_i64(const char *s)
{
	int64_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return MG_PL_UNKNOWN;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > (INT64_MAX - 9) / 10)
			return MG_PL_UNKNOWN;
		n = n * 10 + (*s - '0');
	}
	return n;
}

/* "Key:   1234 kB" lines, as in meminfo and status. */
static int64_t field_kb(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, kl) == 0 && p[kl] == ':')
			return parse_i64(p + kl + 1);
	return MG_PL_UNKNOWN;
}

static int64_t read_value(const char *dir, const char *name)
{
	char path[512], buf[64];

	if (join(path, sizeof(path), dir, "/", name) < 0 || slurp(path, buf, sizeof(buf)) <= 0)
		return MG_PL_UNKNOWN;
	if (strncmp(buf, "max", 3) == 0)
		return MG_PL_UNLIMITED;
	return parse_i64(buf);
}

static bool has_memory(const char *controllers, size_t len)
{
	const char *p = controllers, *end = controllers + len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
		if (n == 6 && memcmp(p, "memory", 6) == 0)
			return true;
		p += n + 1;
	}
	return false;
}

/* Copies the path of this line (after the second ':') into out. */
static void line_path(const char *line, const char *eol, char *out, size_t cap)
{
	const char *p = memchr(line, ':', (size_t)(eol - line));
	size_t n;

	p = p ? memchr(p + 1, ':', (size_t)(eol - p - 1)) : NULL;
	if (!p) {
		out[0] = '\0';
		return;
	}
	p++;
	n = (size_t)(eol - p);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* A directory holding file, trying the process's own path first and the
 * hierarchy's root second (inside a cgroup namespace the two coincide). */
static bool find_dir(char *dir, size_t cap, const char *mount, const char *path, const char *file)
{
	char probe[512];

	if (join(dir, cap, mount, strcmp(path, "/") ? path : "", NULL) == 0 &&
	    join(probe, sizeof(probe), dir, "/", file) == 0 && access(probe, F_OK) == 0)
		return true;
	return false;
}

/* v1 writes "no limit" as the page counter's maximum in bytes. */
static bool v1_unlimited(int64_t v)
{
	return v >= 0x7ffffffffff00000LL;
}

/* The limit in force is the smallest on the way to the root: walk up from
 * the group, reading file in each ancestor. group receives the path of the
 * one that sets it; MG_PL_UNLIMITED when none does. */
static void effective_limit(const char *mount, const char *leaf, const char *file, struct mg_pl_context *c)
{
	char rel[256], dir[512];
	size_t len = strlen(leaf);

	if (len >= sizeof(rel))
		return;
	memcpy(rel, leaf, len + 1);
	c->cgroup_limit = MG_PL_UNLIMITED;
	for (;;) {
		int64_t v;

		if (join(dir, sizeof(dir), mount, strcmp(rel, "/") ? rel : "", NULL) < 0)
			return;
		v = read_value(dir, file);
		if (v >= 0 && !(c->cgroup_version == 1 && v1_unlimited(v)) &&
		    (c->cgroup_limit < 0 || v < c->cgroup_limit)) {
			c->cgroup_limit = v;
			memcpy(c->cgroup_limit_group, rel, strlen(rel) + 1);
		}
		char *slash = strrchr(rel, '/');
		if (!slash || slash == rel) {
			if (rel[1] == '\0')
				return;
			rel[1] = '\0'; /* the root, last */
		} else {
			*slash = '\0';
		}
	}
}

static void read_cgroup(const struct mg_pl_roots *roots, struct mg_pl_context *c)
{
	char buf[2048], path[512], v1[256] = "", v2[256] = "", mount[256];
	bool have_v1 = false, have_v2 = false;

	if (join(path, sizeof(path), roots->proc, "/self/cgroup", NULL) < 0 ||
	    slurp(path, buf, sizeof(buf)) <= 0)
		return;
	for (char *line = buf; *line;) {
		char *eol = strchr(line, '\n');
		if (!eol)
			eol = line + strlen(line);
		char *c1 = memchr(line, ':', (size_t)(eol - line));
		char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
		if (c2) {
			if (c2 == c1 + 1 && line[0] == '0' && c1 == line + 1) {
				line_path(line, eol, v2, sizeof(v2));
				have_v2 = true;
			} else if (has_memory(c1 + 1, (size_t)(c2 - c1 - 1))) {
				line_path(line, eol, v1, sizeof(v1));
				have_v1 = true;
			}
		}
		line = *eol ? eol + 1 : eol;
	}
	/* A v1 memory controller wins: on hybrid hosts the v2 tree has none. */
	if (have_v1 && join(mount, sizeof(mount), roots->cgroup, "/memory", NULL) == 0) {
		c->cgroup_version = 1;
		memcpy(c->cgroup, v1, sizeof(c->cgroup));
		if (find_dir(path, sizeof(path), mount, v1, "memory.limit_in_bytes")) {
			effective_limit(mount, v1, "memory.limit_in_bytes", c);
			c->cgroup_usage = read_value(path, "memory.usage_in_bytes");
		} else if (find_dir(path, sizeof(path), mount, "/", "memory.limit_in_bytes")) {
			/* A cgroup namespace: its root is all there is to see. */
			effective_limit(mount, "/", "memory.limit_in_bytes", c);
			c->cgroup_usage = read_value(path, "memory.usage_in_bytes");
		}
		return;
	}
	if (have_v2) {
		c->cgroup_version = 2;
		memcpy(c->cgroup, v2, sizeof(c->cgroup));
		if (find_dir(path, sizeof(path), roots->cgroup, v2, "memory.max")) {
			effective_limit(roots->cgroup, v2, "memory.max", c);
			c->cgroup_usage = read_value(path, "memory.current");
		} else if (join(mount, sizeof(mount), roots->cgroup, "/unified", NULL) == 0 &&
			   find_dir(path, sizeof(path), mount, v2, "memory.max")) {
			effective_limit(mount, v2, "memory.max", c);
			c->cgroup_usage = read_value(path, "memory.current");
		} else if (find_dir(path, sizeof(path), roots->cgroup, v2, "memory.stat")) {
			/* The root group has usage but no limit file. */
			c->cgroup_usage = MG_PL_UNKNOWN;
		}
	}
}

void mg_pl_context_read(const struct mg_pl_roots *roots, struct mg_pl_context *c)
{
	char buf[4096], path[512];
	struct rlimit rl;

	memset(c, 0, sizeof(*c));
	c->overcommit = -1;
	c->commit_limit_kb = c->committed_as_kb = MG_PL_UNKNOWN;
	c->vm_size_kb = c->vm_rss_kb = c->vm_hwm_kb = MG_PL_UNKNOWN;
	c->rlimit_as = MG_PL_UNKNOWN;
	c->cgroup_limit = c->cgroup_usage = MG_PL_UNKNOWN;

	if (join(path, sizeof(path), roots->proc, "/sys/vm/overcommit_memory", NULL) == 0 &&
	    slurp(path, buf, sizeof(buf)) > 0) {
		int64_t m = parse_i64(buf);
		c->overcommit = m >= 0 && m <= 2 ? (int)m : -1;
	}
	if (join(path, sizeof(path), roots->proc, "/meminfo", NULL) == 0 &&
	    slurp(path, buf, sizeof(buf)) > 0) {
		c->commit_limit_kb = field_kb(buf, "CommitLimit");
		c->committed_as_kb = field_kb(buf, "Committed_AS");
	}
	if (join(path, sizeof(path), roots->proc, "/self/status", NULL) == 0 &&
	    slurp(path, buf, sizeof(buf)) > 0) {
		c->vm_size_kb = field_kb(buf, "VmSize");
		c->vm_rss_kb = field_kb(buf, "VmRSS");
		c->vm_hwm_kb = field_kb(buf, "VmHWM");
	}
	if (getrlimit(RLIMIT_AS, &rl) == 0)
		c->rlimit_as = rl.rlim_cur == RLIM_INFINITY ? MG_PL_UNLIMITED
			       : rl.rlim_cur > INT64_MAX    ? INT64_MAX
							    : (int64_t)rl.rlim_cur;
	read_cgroup(roots, c);
}

int64_t mg_pl_read_hwm_kb(const struct mg_pl_roots *roots)
{
	char buf[4096], path[512];

	if (join(path, sizeof(path), roots->proc, "/self/status", NULL) < 0 ||
	    slurp(path, buf, sizeof(buf)) <= 0)
		return MG_PL_UNKNOWN;
	return field_kb(buf, "VmHWM");
}
