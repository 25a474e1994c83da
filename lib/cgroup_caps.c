/* Writing caps into a group, in the file set of each cgroup version:
 * at login (a populated group's limits only raised) and for
 * memguardctl apply. */
#include "cgroup_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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


static bool holds_processes(struct cap_ctx *c)
{
	if (c->populated < 0)
		c->populated = mg_cg_populated_fd(c->cg->version, c->dfd);
	/* When that cannot be told, keep what runs safe: raise only. */
	return c->populated != 0;
}

const char *mg_cg_v2_file(enum mg_key k)
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

	if (c->at_login && is_limit && mg_cg_read_limit_at(c->dfd, file, &cur) == 0) {
		if (want == cur)
			return 0;
		if (want < cur && holds_processes(c)) {
			c->pending = true;
			mg_cg_human(cur, a, sizeof(a));
			mg_cg_human(want, b, sizeof(b));
			mg_diag_add(c->notes, MG_WARNING, MG_DIAG_CONTENT, NULL, 0, 0,
				    "pending: %s/%s stays %s, above the policy's %s: processes run in the group, and a "
				    "login never lowers their cap (they could be OOM-killed); it is lowered at the first "
				    "login once the group is empty, or by 'memguardctl apply --lower'",
				    c->dir, file, a, b);
			return 0;
		}
	}
	r = mg_cg_write_limit_at(c->cg->version, c->dfd, file, want);
	if (r < 0 && !quiet) {
		mg_cg_human(want, b, sizeof(b));
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
		const char *file = mg_cg_v2_file((enum mg_key)k);
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

int mg_cg_apply_caps(const struct mg_cg *cg, int dfd, const char *dir, const struct mg_caps *caps,
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
	return mg_cg_apply_caps(cg, dfd, dir, caps, at_login, false, NULL, notes);
}

static int apply_v2_all(struct cap_ctx *c, const struct mg_caps *caps)
{
	int dfd = c->dfd;
	const char *dir = c->dir;
	struct mg_diags *notes = c->notes;
	int r;

	r = apply_v2(c, caps);
	if (caps->oom_group) {
		int e = mg_cg_write_at(dfd, "memory.oom.group", "1");
		if (e < 0) {
			mg_diag_add(notes, MG_ERROR, MG_DIAG_ACCESS, NULL, 0, 0, "cannot write 1 to %s/memory.oom.group: %s",
				    dir, strerror(-e));
			if (!r)
				r = e;
		}
	}
	return r;
}

/* v2 protections only hold if every ancestor carries them: BASE gets the
 * sum of its user groups'. */
void mg_cg_sum_protection(const struct mg_cg *cg, int base_fd, const char *file, struct mg_diags *notes)
{
	uint64_t sum = 0, v;
	struct dirent *de;
	/* A fresh open, not dup(): a dup shares the directory's read offset. */
	int dfd = openat(base_fd, ".", MG_CG_DIR_FLAGS);
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
		ufd = openat(dirfd(d), de->d_name, MG_CG_DIR_FLAGS);
		if (ufd < 0)
			continue;
		if (mg_cg_read_limit_at(ufd, file, &v) == 0 && v != MG_CG_UNLIMITED && sum + v >= sum)
			sum += v;
		close(ufd);
	}
	closedir(d);
	if (mg_cg_write_limit_at(cg->version, base_fd, file, sum) < 0)
		mg_diag_add(notes, MG_WARNING, MG_DIAG_ACCESS, NULL, 0, 0, "cannot write %s/%s", cg->base, file);
}

int mg_cg_set_caps(const struct mg_cg *cg, const char *dir, const struct mg_caps *caps, struct mg_diags *notes)
{
	int dfd = open(dir, MG_CG_DIR_FLAGS), r;

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
	dfd = open(cg->base, MG_CG_DIR_FLAGS);
	if (dfd < 0) {
		mg_diag_add(notes, MG_WARNING, MG_DIAG_ACCESS, NULL, 0, 0, "cannot open %s: %s", cg->base,
			    strerror(errno));
		return;
	}
	mg_cg_sum_protection(cg, dfd, "memory.min", notes);
	mg_cg_sum_protection(cg, dfd, "memory.low", notes);
	close(dfd);
}

/* v1 has no cgroup.events: any pid in cgroup.procs of the group or of a
 * group below it. */
