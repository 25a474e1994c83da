#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "readfile.h"

#define RETRIES 16
/* A group removed under us: ENOENT opening it, ENODEV writing to it. */
#define VANISHED(r) ((r) == -ENOENT || (r) == -ENODEV)
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)

/* ---- small file access, always relative to a directory fd ---- */

static int write_at(int dfd, const char *file, const char *val)
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

static int read_at(int dfd, const char *file, char *buf, size_t len)
{
	int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int mg_cg_read_text_at(int dfd, const char *file, char *buf, size_t len)
{
	return read_at(dfd, file, buf, len);
}

/* v1 reports "unlimited" as a huge page-rounded number. */
#define V1_UNLIMITED_FLOOR (1ull << 62)

static int read_limit_at(int dfd, const char *file, uint64_t *v)
{
	char buf[64];
	int r = read_at(dfd, file, buf, sizeof(buf));

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

int mg_cg_read_limit(const char *dir, const char *file, uint64_t *v)
{
	int dfd = open(dir, DIR_FLAGS), r;

	if (dfd < 0)
		return -errno;
	r = read_limit_at(dfd, file, v);
	close(dfd);
	return r;
}

static void limit_text(int version, uint64_t v, char *buf, size_t len)
{
	if (v == MG_CG_UNLIMITED)
		snprintf(buf, len, "%s", version == 2 ? "max" : "-1");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

static int write_limit_at(int version, int dfd, const char *file, uint64_t v)
{
	char buf[32];

	limit_text(version, v, buf, sizeof(buf));
	return write_at(dfd, file, buf);
}

static void human(uint64_t v, char *buf, size_t len)
{
	if (v == MG_CG_UNLIMITED)
		snprintf(buf, len, "max");
	else
		mg_bytes_format(v, buf, len);
}

/* ---- finding the hierarchy ---- */

static long fs_type(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf) < 0)
		return -errno;
	return (long)sf.f_type;
}

/* The topmost directory of the same cgroup filesystem above path. */
static char *mount_of(const char *path, long type)
{
	char *cur = strdup(path);

	while (cur && strcmp(cur, "/") != 0) {
		char *copy = strdup(cur), *parent;
		if (!copy)
			break;
		parent = dirname(copy);
		if (fs_type(parent) != type) {
			free(copy);
			return cur;
		}
		free(cur);
		cur = strdup(parent);
		free(copy);
	}
	return cur;
}

static bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += wl)
		if ((p == list || p[-1] == ' ' || p[-1] == ',') &&
		    (p[wl] == '\0' || p[wl] == ' ' || p[wl] == '\n' || p[wl] == ','))
			return true;
	return false;
}

static int v2_has_memory(const char *dir)
{
	char buf[512];
	int dfd = open(dir, DIR_FLAGS), r;

	if (dfd < 0)
		return -errno;
	r = read_at(dfd, "cgroup.controllers", buf, sizeof(buf));
	close(dfd);
	if (r < 0)
		return r;
	return has_word(buf, "memory") ? 0 : -ENODEV;
}

static int v1_is_memory(const char *dir)
{
	struct stat st;
	char *p = NULL;
	int r;

	if (asprintf(&p, "%s/memory.usage_in_bytes", dir) < 0)
		return -ENOMEM;
	r = stat(p, &st) < 0 ? -ENODEV : 0;
	free(p);
	return r;
}

static int detect_at(const char *parent, const char *base, struct mg_cg *cg)
{
	long t = fs_type(parent);
	int r;

	if (t < 0)
		return (int)t;
	if (t == CGROUP2_SUPER_MAGIC) {
		cg->version = 2;
	} else if (t == CGROUP_SUPER_MAGIC) {
		cg->version = 1;
		if ((r = v1_is_memory(parent)) < 0)
			return r;
	} else {
		return -ENODEV;
	}
	cg->mount = mount_of(parent, t);
	cg->base = strdup(base);
	if (!cg->mount || !cg->base)
		return -ENOMEM;
	if (cg->version == 2 && (r = v2_has_memory(cg->mount)) < 0)
		return r;
	return 0;
}

int mg_cg_detect(const char *base_override, struct mg_cg *cg)
{
	int r;

	memset(cg, 0, sizeof(*cg));
	if (base_override) {
		char *copy = strdup(base_override);
		if (!copy)
			return -ENOMEM;
		r = detect_at(dirname(copy), base_override, cg);
		free(copy);
	} else {
		r = detect_at("/sys/fs/cgroup", "/sys/fs/cgroup/memguard", cg);
		if (r == 0 || r == -ENOMEM)
			goto out;
		/* A hybrid host: cgroup2 without memory, v1 memory beside it. */
		mg_cg_free(cg);
		r = detect_at("/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory/memguard", cg);
	}
out:
	if (r < 0)
		mg_cg_free(cg);
	return r;
}

void mg_cg_free(struct mg_cg *cg)
{
	free(cg->mount);
	free(cg->base);
	memset(cg, 0, sizeof(*cg));
}

/* ---- what the policy asks for ---- */

void mg_caps_from_resolved(const struct mg_resolved *r, uint64_t memtotal, char scope, struct mg_caps *out)
{
	static const enum mg_key user_keys[] = { MG_KEY_MEMORY_MAX, MG_KEY_MEMORY_HIGH, MG_KEY_MEMORY_SWAP_MAX,
						 MG_KEY_MEMORY_LOW, MG_KEY_MEMORY_MIN };
	/* Session caps land in the session group's memory.max and memory.high. */
	static const enum mg_key session_from[] = { MG_KEY_SESSION_MEMORY_MAX, MG_KEY_SESSION_MEMORY_HIGH };
	static const enum mg_key session_to[] = { MG_KEY_MEMORY_MAX, MG_KEY_MEMORY_HIGH };
	long page = sysconf(_SC_PAGESIZE);

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < 5; i++) {
		enum mg_key from = user_keys[i], to = user_keys[i];
		if (scope == 's') {
			if (i >= 2)
				break;
			from = session_from[i];
			to = session_to[i];
		} else if (scope == 'a' && i >= 3) {
			break;
		}
		if (!r->v[from].set)
			continue;
		out->set[to] = true;
		out->bytes[to] = mg_size_bytes(&r->v[from].u.size, memtotal);
		/* A percentage can fall below the floor on a small machine. */
		if ((to == MG_KEY_MEMORY_MAX || to == MG_KEY_MEMORY_HIGH) && out->bytes[to] < MG_CAP_FLOOR)
			out->bytes[to] = MG_CAP_FLOOR;
		if (out->bytes[to] != MG_CG_UNLIMITED && page > 0)
			out->bytes[to] -= out->bytes[to] % (uint64_t)page;
	}
	if (scope == 's')
		out->oom_group = r->v[MG_KEY_OOM_GROUP].set && r->v[MG_KEY_OOM_GROUP].u.flag;
}

/* ---- writing caps ---- */

struct cap_ctx {
	const struct mg_cg *cg;
	int dfd;
	const char *dir; /* for notes */
	/* At login a limit of a group that holds processes is only raised:
	 * lowering it could OOM-kill the user's other sessions. Whether the
	 * group is new does not matter: a caller killed between mkdir and the
	 * writes leaves an empty uncapped group, which must get the policy. */
	bool at_login;
	int populated; /* -1: not asked yet */
	bool pending;  /* a lower value was left pending */
	struct mg_diags *notes;
};

static int populated_fd(int version, int dfd);

static bool holds_processes(struct cap_ctx *c)
{
	if (c->populated < 0)
		c->populated = populated_fd(c->cg->version, c->dfd);
	/* When that cannot be told, keep what runs safe: raise only. */
	return c->populated != 0;
}

static const char *v2_file(enum mg_key k)
{
	switch (k) {
	case MG_KEY_MEMORY_MAX:
		return "memory.max";
	case MG_KEY_MEMORY_HIGH:
		return "memory.high";
	case MG_KEY_MEMORY_SWAP_MAX:
		return "memory.swap.max";
	case MG_KEY_MEMORY_LOW:
		return "memory.low";
	case MG_KEY_MEMORY_MIN:
		return "memory.min";
	default:
		return NULL;
	}
}

/* Writes one cap; on an existing group a lower value is left pending. */
static int put_cap_quiet(struct cap_ctx *c, const char *file, uint64_t want, bool is_limit, bool quiet)
{
	uint64_t cur;
	char a[32], b[32];
	int r;

	if (c->at_login && is_limit && read_limit_at(c->dfd, file, &cur) == 0) {
		if (want == cur)
			return 0;
		if (want < cur && holds_processes(c)) {
			c->pending = true;
			human(cur, a, sizeof(a));
			human(want, b, sizeof(b));
			mg_diag_add(c->notes, MG_WARNING, MG_DIAG_CONTENT, NULL, 0, 0,
				    "pending: %s/%s stays %s, above the policy's %s: processes run in the group, and a "
				    "login never lowers their cap (they could be OOM-killed); it is lowered at the first "
				    "login once the group is empty, or by 'memguardctl apply --lower'",
				    c->dir, file, a, b);
			return 0;
		}
	}
	r = write_limit_at(c->cg->version, c->dfd, file, want);
	if (r < 0 && !quiet) {
		human(want, b, sizeof(b));
		mg_diag_add(c->notes, MG_ERROR, MG_DIAG_ACCESS, NULL, 0, 0, "cannot write %s to %s/%s: %s", b, c->dir,
			    file, strerror(-r));
	}
	return r;
}

static int put_cap(struct cap_ctx *c, const char *file, uint64_t want, bool is_limit)
{
	return put_cap_quiet(c, file, want, is_limit, false);
}

static int apply_v2(struct cap_ctx *c, const struct mg_caps *caps)
{
	int first = 0;

	for (int k = 0; k < MG_KEY_COUNT; k++) {
		const char *file = v2_file((enum mg_key)k);
		bool limit = k == MG_KEY_MEMORY_MAX || k == MG_KEY_MEMORY_HIGH || k == MG_KEY_MEMORY_SWAP_MAX;
		int r;

		if (!file || !caps->set[k])
			continue;
		if (k == MG_KEY_MEMORY_SWAP_MAX && faccessat(c->dfd, file, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
			mg_diag_add(c->notes, MG_WARNING, MG_DIAG_CONTENT, NULL, 0, 0,
				    "memory.swap.max not applied: this kernel does not account swap");
			continue;
		}
		r = put_cap(c, file, caps->bytes[k], limit);
		if (r < 0 && !first)
			first = r;
	}
	return first;
}

/* v1 has one hard limit and a RAM+swap limit that must never be below it:
 * the order of the two writes depends on which way they move. */
static int apply_v1(struct cap_ctx *c, const struct mg_caps *caps)
{
	/* Asked only where a limit is written: most groups of a login get none. */
	bool memsw = (caps->set[MG_KEY_MEMORY_MAX] || caps->set[MG_KEY_MEMORY_SWAP_MAX]) &&
		     faccessat(c->dfd, "memory.memsw.limit_in_bytes", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	int r = 0, e;

	if (caps->set[MG_KEY_MEMORY_LOW] || caps->set[MG_KEY_MEMORY_MIN])
		mg_diag_add(c->notes, MG_WARNING, MG_DIAG_CONTENT, NULL, 0, 0,
			    "memory.low and memory.min are not applied on cgroup v1");
	if (caps->set[MG_KEY_MEMORY_MAX]) {
		uint64_t want = caps->bytes[MG_KEY_MEMORY_MAX], swap = MG_CG_UNLIMITED;

		if (caps->set[MG_KEY_MEMORY_SWAP_MAX])
			swap = caps->bytes[MG_KEY_MEMORY_SWAP_MAX];
		e = put_cap_quiet(c, "memory.limit_in_bytes", want, true, memsw);
		if (e == -EINVAL && memsw) {
			/* The RAM+swap limit is below the new limit: raise it first. */
			e = put_cap(c, "memory.memsw.limit_in_bytes", MG_CG_UNLIMITED, false);
			if (e == 0)
				e = put_cap(c, "memory.limit_in_bytes", want, true);
		} else if (e < 0 && memsw) {
			e = put_cap(c, "memory.limit_in_bytes", want, true);
		}
		if (e < 0)
			r = e;
		if (memsw && e == 0) {
			uint64_t both = (want == MG_CG_UNLIMITED || swap == MG_CG_UNLIMITED || want + swap < want)
						? MG_CG_UNLIMITED
						: want + swap;
			e = put_cap(c, "memory.memsw.limit_in_bytes", both, true);
			if (e < 0 && !r)
				r = e;
		}
	} else if (caps->set[MG_KEY_MEMORY_SWAP_MAX]) {
		mg_diag_add(c->notes, MG_WARNING, MG_DIAG_CONTENT, NULL, 0, 0,
			    "memory.swap.max without memory.max is not applied on cgroup v1 (its limit counts RAM+swap)");
	}
	if (caps->set[MG_KEY_MEMORY_SWAP_MAX] && !memsw)
		mg_diag_add(c->notes, MG_WARNING, MG_DIAG_CONTENT, NULL, 0, 0,
			    "memory.swap.max not applied: this kernel does not account swap");
	if (caps->set[MG_KEY_MEMORY_HIGH]) {
		/* Only a hint for global reclaim on v1, which never kills: written
		 * as the policy says, lower or higher, never held pending. */
		e = put_cap(c, "memory.soft_limit_in_bytes", caps->bytes[MG_KEY_MEMORY_HIGH], false);
		if (e < 0 && !r)
			r = e;
	}
	if (caps->oom_group)
		mg_diag_add(c->notes, MG_WARNING, MG_DIAG_CONTENT, NULL, 0, 0, "oom.group is not applied on cgroup v1");
	return r;
}

static int apply_v2_all(struct cap_ctx *c, const struct mg_caps *caps);

static int apply_caps_fresh(const struct mg_cg *cg, int dfd, const char *dir, const struct mg_caps *caps,
			    bool at_login, bool fresh, bool *pending, struct mg_diags *notes)
{
	/* A group this login just made holds no process yet: no need to ask. */
	struct cap_ctx c = { cg, dfd, dir, at_login && !fresh, fresh ? 0 : -1, false, notes };
	int r;

	r = cg->version == 1 ? apply_v1(&c, caps) : apply_v2_all(&c, caps);
	if (pending && c.pending)
		*pending = true;
	return r;
}

static int apply_caps(const struct mg_cg *cg, int dfd, const char *dir, const struct mg_caps *caps,
		      bool at_login, struct mg_diags *notes)
{
	return apply_caps_fresh(cg, dfd, dir, caps, at_login, false, NULL, notes);
}

static int apply_v2_all(struct cap_ctx *c, const struct mg_caps *caps)
{
	int dfd = c->dfd;
	const char *dir = c->dir;
	struct mg_diags *notes = c->notes;
	int r;

	r = apply_v2(c, caps);
	if (caps->oom_group) {
		int e = write_at(dfd, "memory.oom.group", "1");
		if (e < 0) {
			mg_diag_add(notes, MG_ERROR, MG_DIAG_ACCESS, NULL, 0, 0, "cannot write 1 to %s/memory.oom.group: %s",
				    dir, strerror(-e));
			if (!r)
				r = e;
		}
	}
	return r;
}

/* ---- the tree ---- */

static int enable_memory(int dfd)
{
	char buf[512];
	int r = read_at(dfd, "cgroup.subtree_control", buf, sizeof(buf));

	if (r == 0 && has_word(buf, "memory"))
		return 0;
	return write_at(dfd, "cgroup.subtree_control", "+memory");
}

/* v2: every ancestor from the mount down to BASE must pass the memory
 * controller on to its children. */
static int enable_chain(const struct mg_cg *cg, struct mg_diags *notes)
{
	size_t mlen = strlen(cg->mount);
	char *path = strdup(cg->base);
	int r = 0;

	if (!path)
		return -ENOMEM;
	for (char *p = path + mlen; p && *p && r == 0; p = strchr(p + 1, '/')) {
		char saved = *p;
		int dfd;

		*p = '\0';
		dfd = open(path[0] ? path : "/", DIR_FLAGS);
		if (dfd < 0)
			r = -errno;
		else {
			r = enable_memory(dfd);
			close(dfd);
		}
		if (r < 0)
			mg_diag_add(notes, MG_ERROR, MG_DIAG_ACCESS, NULL, 0, 0,
				    "cannot enable the memory controller in %s/cgroup.subtree_control: %s%s", path,
				    strerror(-r),
				    r == -EBUSY ? " (the group holds processes; cgroup v2 allows no internal processes)"
						: "");
		*p = saved;
	}
	free(path);
	return r;
}

static int mkdir_open(int parent, const char *name, bool *created, int *fd)
{
	*created = false;
	if (mkdirat(parent, name, 0755) == 0)
		*created = true;
	else if (errno != EEXIST)
		return -errno;
	*fd = openat(parent, name, DIR_FLAGS);
	return *fd < 0 ? -errno : 0;
}

int mg_cg_session_name(pid_t pid, char *buf, size_t len)
{
	char path[64], stat[1024], *p;
	unsigned long long start = 0;
	int fd, i;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	stat[n] = '\0';
	/* The command name may hold spaces and parentheses: count from the last ')'. */
	p = strrchr(stat, ')');
	if (!p)
		return -EIO;
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return -EIO;
	snprintf(buf, len, "session-%d-%llu", (int)pid, start);
	return 0;
}

/* v2 protections only hold if every ancestor carries them: BASE gets the
 * sum of its user groups'. */
static void sum_protection(const struct mg_cg *cg, int base_fd, const char *file, struct mg_diags *notes)
{
	uint64_t sum = 0, v;
	struct dirent *de;
	/* A fresh open, not dup(): a dup shares the directory's read offset. */
	int dfd = openat(base_fd, ".", DIR_FLAGS);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		int ufd;
		if (strncmp(de->d_name, "user-", 5) != 0)
			continue;
		ufd = openat(dirfd(d), de->d_name, DIR_FLAGS);
		if (ufd < 0)
			continue;
		if (read_limit_at(ufd, file, &v) == 0 && v != MG_CG_UNLIMITED && sum + v >= sum)
			sum += v;
		close(ufd);
	}
	closedir(d);
	if (write_limit_at(cg->version, base_fd, file, sum) < 0)
		mg_diag_add(notes, MG_WARNING, MG_DIAG_ACCESS, NULL, 0, 0, "cannot write %s/%s", cg->base, file);
}

static int move_pid(int dfd, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	return write_at(dfd, "cgroup.procs", buf);
}

int mg_cg_self(const struct mg_cg *cg, char **rel)
{
	char *buf, *line, *save = NULL;
	size_t len;
	int r = mg_read_file("/proc/self/cgroup", 1 << 16, &buf, &len);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		/* v2: "0::/path" (line now reads "0:"); v1: "N:memory,...:/path". */
		if ((cg->version == 2 && c1 == line + 1 && line[0] == '0' && c1[1] == '\0') ||
		    (cg->version == 1 && has_word(c1 + 1, "memory"))) {
			*rel = strdup(c2 + 1);
			r = *rel ? 0 : -ENOMEM;
			break;
		}
	}
	free(buf);
	return r;
}

int mg_cg_open_session(const struct mg_cg *cg, uid_t uid, const char *session_name, const struct mg_caps *all,
		       const struct mg_caps *user, const struct mg_caps *session, pid_t pid,
		       struct mg_session_place *place, struct mg_diags *notes)
{
	char user_name[32];
	int base_fd = -1, user_fd = -1, sess_fd = -1, r = 0;
	size_t said_before;
	const char *what = NULL;
	bool created, shared, base_pending;

	memset(place, 0, sizeof(*place));
	snprintf(user_name, sizeof(user_name), "user-%u", (unsigned)uid);
	if (cg->version == 2 && (r = enable_chain(cg, notes)) < 0)
		return r;
	/* BASE exists but for the very first login: open it straight away. */
	base_fd = open(cg->base, DIR_FLAGS);
	created = false;
	if (base_fd < 0 && errno != ENOENT)
		r = -errno;
	if (r < 0) {
		mg_diag_add(notes, MG_ERROR, MG_DIAG_ACCESS, NULL, 0, 0, "cannot open %s: %s", cg->base, strerror(-r));
		return r;
	}
	if (base_fd < 0) {
		char *copy = strdup(cg->base);
		int parent;
		if (!copy)
			return -ENOMEM;
		parent = open(dirname(copy), DIR_FLAGS);
		free(copy);
		if (parent < 0)
			return -errno;
		copy = strdup(cg->base);
		r = copy ? mkdir_open(parent, basename(copy), &created, &base_fd) : -ENOMEM;
		free(copy);
		close(parent);
		if (r < 0) {
			mg_diag_add(notes, MG_ERROR, MG_DIAG_ACCESS, NULL, 0, 0, "cannot create %s: %s", cg->base,
				    strerror(-r));
			return r;
		}
	}
	if (cg->version == 2 && (r = enable_memory(base_fd)) < 0) {
		mg_diag_add(notes, MG_ERROR, MG_DIAG_ACCESS, NULL, 0, 0,
			    "cannot enable the memory controller in %s: %s", cg->base, strerror(-r));
		goto out;
	}
	if ((r = apply_caps_fresh(cg, base_fd, cg->base, all, true, created, &place->pending, notes)) < 0)
		goto out;
	if (asprintf(&place->user_dir, "%s/%s", cg->base, user_name) < 0 ||
	    asprintf(&place->session_dir, "%s/%s/%s", cg->base, user_name, session_name) < 0) {
		r = -ENOMEM;
		goto out;
	}
	/* Another login or logout of the same user (or a reaping login of
	 * another user) may create or remove the user group between any two
	 * steps: start over when it vanishes. Caps are written before the pid
	 * is moved, so no process ever runs in a group without them. */
	shared = strcmp(session_name, MG_CG_SHARED_SESSION) == 0;
	said_before = notes->n;
	base_pending = place->pending;
	for (int attempt = 0; attempt < RETRIES; attempt++) {
		bool sess_created;

		/* What a vanished attempt said is not so any more. */
		mg_diags_truncate(notes, said_before);
		place->pending = base_pending;
		if (user_fd >= 0)
			close(user_fd);
		if (sess_fd >= 0)
			close(sess_fd);
		user_fd = sess_fd = -1;
		what = "create";
		r = mkdir_open(base_fd, user_name, &created, &user_fd);
		if (VANISHED(r))
			continue;
		if (r < 0)
			break;
		place->user_created = created;
		if (cg->version == 2 && (r = enable_memory(user_fd)) < 0) {
			if (VANISHED(r))
				continue;
			break;
		}
		if ((r = apply_caps_fresh(cg, user_fd, place->user_dir, user, true, created, &place->pending, notes)) < 0) {
			if (VANISHED(r))
				continue;
			what = NULL;
			break;
		}
		r = mkdir_open(user_fd, session_name, &sess_created, &sess_fd);
		if (VANISHED(r))
			continue;
		if (r < 0)
			break;
		/* The shared group holds other logins: only raised, as the user's. */
		if ((r = apply_caps_fresh(cg, sess_fd, place->session_dir, session, shared, sess_created, &place->pending,
					  notes)) < 0) {
			if (VANISHED(r))
				continue;
			what = NULL;
			break;
		}
		what = "move";
		r = move_pid(sess_fd, pid);
		if (VANISHED(r))
			continue;
		break;
	}
	if (r < 0 && what) {
		if (strcmp(what, "move") == 0)
			mg_diag_add(notes, MG_ERROR, MG_DIAG_ACCESS, NULL, 0, 0, "cannot move pid %d into %s: %s",
				    (int)pid, place->session_dir, strerror(-r));
		else
			mg_diag_add(notes, MG_ERROR, MG_DIAG_ACCESS, NULL, 0, 0, "cannot create %s: %s",
				    place->session_dir, strerror(-r));
	}
	if (r < 0)
		goto out;
	if (cg->version == 2 && (user->set[MG_KEY_MEMORY_MIN] || user->set[MG_KEY_MEMORY_LOW])) {
		sum_protection(cg, base_fd, "memory.min", notes);
		sum_protection(cg, base_fd, "memory.low", notes);
	}
out:
	if (sess_fd >= 0)
		close(sess_fd);
	if (user_fd >= 0)
		close(user_fd);
	if (base_fd >= 0)
		close(base_fd);
	return r;
}

/* The user's last session ended and their group is gone: BASE carries the
 * sum of the remaining groups' protections, not theirs any more. Only
 * where a sum was written: most hosts set none. */
static void drop_protections(const struct mg_cg *cg, struct mg_diags *notes)
{
	static const char *const files[] = { "memory.min", "memory.low" };
	uint64_t v;
	int dfd;

	if (cg->version != 2 || (dfd = open(cg->base, DIR_FLAGS)) < 0)
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (read_limit_at(dfd, files[i], &v) == 0 && v != 0)
			sum_protection(cg, dfd, files[i], notes);
	close(dfd);
}

int mg_cg_close_session(const struct mg_cg *cg, uid_t uid, const char *session_name, const char *orig_rel,
			pid_t pid, struct mg_diags *notes)
{
	char *orig = NULL, *user_dir = NULL;
	int r = 0, dfd;

	if (asprintf(&orig, "%s%s", cg->mount, orig_rel) < 0 ||
	    asprintf(&user_dir, "%s/user-%u", cg->base, (unsigned)uid) < 0) {
		free(orig);
		return -ENOMEM;
	}
	/* close_session runs inside the group it removes: leave it first. */
	dfd = open(orig, DIR_FLAGS);
	if (dfd < 0 || (r = move_pid(dfd, pid)) < 0) {
		if (dfd < 0)
			r = -errno;
		mg_diag_add(notes, MG_WARNING, MG_DIAG_ACCESS, NULL, 0, 0, "cannot move pid %d back to %s: %s",
			    (int)pid, orig, strerror(-r));
	}
	if (dfd >= 0)
		close(dfd);
	dfd = open(user_dir, DIR_FLAGS);
	if (dfd >= 0) {
		/* The shared group stays while other logins use it. */
		bool shared = strcmp(session_name, MG_CG_SHARED_SESSION) == 0;

		if (unlinkat(dfd, session_name, AT_REMOVEDIR) < 0 && errno != ENOENT && !(shared && errno == EBUSY)) {
			int e = errno;
			mg_diag_add(notes, MG_WARNING, MG_DIAG_CONTENT, NULL, 0, 0,
				    "%s/%s kept: %s; it stays capped and a later login removes it", user_dir,
				    session_name, e == EBUSY ? "processes of the session still run" : strerror(e));
		}
		close(dfd);
		/* Fails while another session of the user is open: as it should. */
		if (rmdir(user_dir) == 0)
			drop_protections(cg, notes);
		else if (errno != EBUSY && errno != ENOTEMPTY && errno != ENOENT)
			mg_diag_add(notes, MG_WARNING, MG_DIAG_ACCESS, NULL, 0, 0, "cannot remove %s: %s", user_dir,
				    strerror(errno));
	}
	free(orig);
	free(user_dir);
	return r;
}

int mg_cg_oom_kills(const struct mg_cg *cg, const char *dir, uint64_t *kills)
{
	char buf[4096], *p;
	int dfd = open(dir, DIR_FLAGS), r;

	if (dfd < 0)
		return -errno;
	r = read_at(dfd, cg->version == 2 ? "memory.events" : "memory.oom_control", buf, sizeof(buf));
	close(dfd);
	if (r < 0)
		return r;
	p = strstr(buf, "oom_kill ");
	if (!p)
		return -ENOENT;
	*kills = strtoull(p + 9, NULL, 10);
	return 0;
}

static void live_limit(int dfd, const char *file, enum mg_key k, struct mg_cg_live *out)
{
	if (read_limit_at(dfd, file, &out->bytes[k]) == 0)
		out->has[k] = true;
}

int mg_cg_read_live(int version, const char *dir, struct mg_cg_live *out)
{
	char buf[4096], *p;
	int dfd = open(dir, DIR_FLAGS);

	memset(out, 0, sizeof(*out));
	if (dfd < 0)
		return -errno;
	if (version == 2) {
		for (int k = 0; k < MG_KEY_COUNT; k++)
			if (v2_file((enum mg_key)k))
				live_limit(dfd, v2_file((enum mg_key)k), (enum mg_key)k, out);
		out->has_current = read_limit_at(dfd, "memory.current", &out->current) == 0;
	} else {
		uint64_t memsw;

		live_limit(dfd, "memory.limit_in_bytes", MG_KEY_MEMORY_MAX, out);
		live_limit(dfd, "memory.soft_limit_in_bytes", MG_KEY_MEMORY_HIGH, out);
		if (out->has[MG_KEY_MEMORY_MAX] && read_limit_at(dfd, "memory.memsw.limit_in_bytes", &memsw) == 0) {
			uint64_t max = out->bytes[MG_KEY_MEMORY_MAX];

			out->has[MG_KEY_MEMORY_SWAP_MAX] = true;
			out->bytes[MG_KEY_MEMORY_SWAP_MAX] =
				memsw == MG_CG_UNLIMITED || max == MG_CG_UNLIMITED || memsw < max ? MG_CG_UNLIMITED
												: memsw - max;
		}
		out->has_current = read_limit_at(dfd, "memory.usage_in_bytes", &out->current) == 0;
	}
	if (read_at(dfd, version == 2 ? "memory.events" : "memory.oom_control", buf, sizeof(buf)) == 0 &&
	    (p = strstr(buf, "oom_kill ")) && (p == buf || p[-1] == '\n')) {
		out->oom_kills = strtoull(p + 9, NULL, 10);
		out->has_oom_kills = true;
	}
	close(dfd);
	return 0;
}

void mg_cg_place_free(struct mg_session_place *p)
{
	free(p->user_dir);
	free(p->session_dir);
	memset(p, 0, sizeof(*p));
}

int mg_cg_set_caps(const struct mg_cg *cg, const char *dir, const struct mg_caps *caps, struct mg_diags *notes)
{
	int dfd = open(dir, DIR_FLAGS), r;

	if (dfd < 0) {
		r = -errno;
		mg_diag_add(notes, MG_ERROR, MG_DIAG_ACCESS, NULL, 0, 0, "cannot open %s: %s", dir, strerror(-r));
		return r;
	}
	r = apply_caps(cg, dfd, dir, caps, false, notes);
	close(dfd);
	return r;
}

void mg_cg_sum_protections(const struct mg_cg *cg, struct mg_diags *notes)
{
	int dfd;

	if (cg->version != 2)
		return;
	dfd = open(cg->base, DIR_FLAGS);
	if (dfd < 0) {
		mg_diag_add(notes, MG_WARNING, MG_DIAG_ACCESS, NULL, 0, 0, "cannot open %s: %s", cg->base,
			    strerror(errno));
		return;
	}
	sum_protection(cg, dfd, "memory.min", notes);
	sum_protection(cg, dfd, "memory.low", notes);
	close(dfd);
}

/* v1 has no cgroup.events: any pid in cgroup.procs of the group or of a
 * group below it. */
static int populated_at(int dfd, int depth)
{
	char buf[16];
	struct dirent *de;
	DIR *d;
	int sub, r;

	r = read_at(dfd, "cgroup.procs", buf, sizeof(buf));
	if (r < 0)
		return r;
	if (buf[0])
		return 1;
	if (depth > 32)
		return -ELOOP;
	sub = openat(dfd, ".", DIR_FLAGS);
	d = sub >= 0 ? fdopendir(sub) : NULL;
	if (!d) {
		r = -errno;
		if (sub >= 0)
			close(sub);
		return r;
	}
	r = 0;
	while (r == 0 && (de = readdir(d))) {
		int cfd;

		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cfd = openat(dirfd(d), de->d_name, DIR_FLAGS);
		if (cfd < 0) {
			/* A group removed right now holds nothing. */
			if (errno != ENOENT)
				r = -errno;
			continue;
		}
		r = populated_at(cfd, depth + 1);
		close(cfd);
		if (r == -ENOENT)
			r = 0;
	}
	closedir(d);
	return r;
}

static int populated_fd(int version, int dfd)
{
	char buf[256], *p;

	if (version == 2 && read_at(dfd, "cgroup.events", buf, sizeof(buf)) == 0 &&
	    (p = strstr(buf, "populated ")) && (p == buf || p[-1] == '\n'))
		return p[10] == '1';
	return populated_at(dfd, 0);
}

int mg_cg_populated(int version, const char *dir)
{
	int dfd = open(dir, DIR_FLAGS), r;

	if (dfd < 0)
		return -errno;
	r = populated_fd(version, dfd);
	close(dfd);
	return r;
}

bool mg_cg_key_applies(int version, enum mg_key k)
{
	/* v1 has no memory.low, memory.min or memory.oom.group. */
	return version != 1 || (k != MG_KEY_MEMORY_LOW && k != MG_KEY_MEMORY_MIN && k != MG_KEY_OOM_GROUP);
}
