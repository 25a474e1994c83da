/* memguard's tree of groups: a login's user and session groups made,
 * capped and entered, left and removed again. */
#include "cgroup_io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "proc_stat.h"

#define RETRIES 16
/* A group removed under us: ENOENT opening it, ENODEV writing to it. */
#define VANISHED(r) ((r) == -ENOENT || (r) == -ENODEV)

static int enable_memory(int dfd)
{
	char buf[512];
	int r = mg_cg_read_text_at(dfd, "cgroup.subtree_control", buf, sizeof(buf));

	if (r == 0 && mg_cg_has_word(buf, "memory"))
		return 0;
	return mg_cg_write_at(dfd, "cgroup.subtree_control", "+memory");
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
		dfd = open(path[0] ? path : "/", MG_CG_DIR_FLAGS);
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
	*fd = openat(parent, name, MG_CG_DIR_FLAGS);
	return *fd < 0 ? -errno : 0;
}

static int move_pid(int dfd, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	return mg_cg_write_at(dfd, "cgroup.procs", buf);
}

int mg_cg_open_base(const struct mg_cg *cg)
{
	int fd = open(cg->base, MG_CG_DIR_FLAGS);

	return fd < 0 ? -errno : fd;
}

int mg_cg_open_session(const struct mg_cg *cg, int base_dfd, uid_t uid, const char *session_name,
		       const struct mg_caps *all, const struct mg_caps *user, const struct mg_caps *session, pid_t pid,
		       struct mg_session_place *place, struct mg_diags *notes)
{
	char user_name[32];
	int base_fd = base_dfd, user_fd = -1, sess_fd = -1, r = 0;
	size_t said_before;
	const char *what = NULL;
	bool created, shared, base_pending;

	memset(place, 0, sizeof(*place));
	place->user_fd = -1;
	snprintf(user_name, sizeof(user_name), "user-%u", (unsigned)uid);
	if (cg->version == 2 && (r = enable_chain(cg, notes)) < 0)
		return r;
	/* BASE exists but for the very first login: the caller opened it. */
	created = false;
	if (base_fd < 0) {
		char *copy = strdup(cg->base);
		int parent;
		if (!copy)
			return -ENOMEM;
		parent = open(dirname(copy), MG_CG_DIR_FLAGS);
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
	if ((r = mg_cg_apply_caps(cg, base_fd, cg->base, all, true, created, &place->pending, notes)) < 0)
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
		if ((r = mg_cg_apply_caps(cg, user_fd, place->user_dir, user, true, created, &place->pending, notes)) < 0) {
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
		if ((r = mg_cg_apply_caps(cg, sess_fd, place->session_dir, session, shared, sess_created, &place->pending,
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
		mg_cg_sum_protection(cg, base_fd, "memory.min", notes);
		mg_cg_sum_protection(cg, base_fd, "memory.low", notes);
	}
out:
	if (sess_fd >= 0)
		close(sess_fd);
	/* Kept for close_session, which reads and removes through it. */
	if (r == 0)
		place->user_fd = user_fd;
	else if (user_fd >= 0)
		close(user_fd);
	if (base_fd >= 0 && base_fd != base_dfd)
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

	if (cg->version != 2 || (dfd = open(cg->base, MG_CG_DIR_FLAGS)) < 0)
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (mg_cg_read_limit_at(dfd, files[i], &v) == 0 && v != 0)
			mg_cg_sum_protection(cg, dfd, files[i], notes);
	close(dfd);
}

int mg_cg_move_back(const struct mg_cg *cg, const char *orig_rel, pid_t pid, struct mg_diags *notes)
{
	char *orig = NULL;
	int r = 0, dfd;

	if (asprintf(&orig, "%s%s", cg->mount, orig_rel) < 0)
		return -ENOMEM;
	dfd = open(orig, MG_CG_DIR_FLAGS);
	if (dfd < 0 || (r = move_pid(dfd, pid)) < 0) {
		if (dfd < 0)
			r = -errno;
		mg_diag_add(notes, MG_WARNING, MG_DIAG_ACCESS, NULL, 0, 0, "cannot move pid %d back to %s: %s",
			    (int)pid, orig, strerror(-r));
	}
	if (dfd >= 0)
		close(dfd);
	free(orig);
	return r;
}

/* How long close_session waits for a session's last processes that are
 * on their way out. */
#define EXITING_WAIT_USEC 1000000u
#define EXITING_POLL_NS 2000000L

/* true when every process still listed in the group at dfd/name has its
 * main thread on the way out (PF_EXITING) or is gone. A process closes
 * its files early in its exit and leaves its cgroup only later: sshd's
 * monitor wakes on the closed socket of its child and closes the PAM
 * session while the child still counts in the group. */
static bool only_exiting(int dfd, const char *name)
{
	char buf[4096], *p, *end;
	int sfd = openat(dfd, name, MG_CG_DIR_FLAGS), r;

	if (sfd < 0)
		return false;
	r = mg_cg_read_text_at(sfd, "cgroup.procs", buf, sizeof(buf));
	close(sfd);
	if (r < 0)
		return false;
	for (p = buf; *p; p = end) {
		unsigned long long flags;
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		r = mg_proc_stat_field((pid_t)pid, MG_PROC_STAT_FLAGS, &flags);
		if (r == 0 && !(flags & MG_PF_EXITING))
			return false;
		if (r < 0 && r != -ENOENT)
			return false;
	}
	return true;
}

/* unlinkat(AT_REMOVEDIR) of a session group, waiting up to a second
 * while what keeps it busy is only exiting; a process that still runs
 * (a job the user left behind) keeps it at once. */
static int remove_group_at(int dfd, const char *name, uint64_t *waited_usec)
{
	uint64_t start = mg_now_usec(), deadline = start + EXITING_WAIT_USEC;
	const struct timespec poll = { 0, EXITING_POLL_NS };

	*waited_usec = 0;
	for (;;) {
		int e;

		if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
			return 0;
		*waited_usec = mg_now_usec() - start;
		e = errno;
		if (e != EBUSY || mg_now_usec() >= deadline || !only_exiting(dfd, name))
			return -e;
		nanosleep(&poll, NULL);
	}
}

void mg_cg_remove_session(const struct mg_cg *cg, int user_dfd, uid_t uid, const char *session_name,
			  struct mg_diags *notes)
{
	char *user_dir = NULL;
	int dfd;

	if (asprintf(&user_dir, "%s/user-%u", cg->base, (unsigned)uid) < 0)
		return;
	dfd = user_dfd >= 0 ? user_dfd : open(user_dir, MG_CG_DIR_FLAGS);
	if (dfd >= 0) {
		/* The shared group stays while other logins use it. */
		bool shared = strcmp(session_name, MG_CG_SHARED_SESSION) == 0;

		uint64_t waited = 0;
		int r = shared ? (unlinkat(dfd, session_name, AT_REMOVEDIR) < 0 ? -errno : 0)
			       : remove_group_at(dfd, session_name, &waited);

		if (r == 0 && waited > 0)
			mg_diag_add(notes, MG_NOTE, MG_DIAG_CONTENT, NULL, 0, 0,
				    "%s/%s removed after %llu ms: its last processes were still exiting", user_dir,
				    session_name, (unsigned long long)(waited / 1000));

		if (r < 0 && r != -ENOENT && !(shared && r == -EBUSY)) {
			int e = -r;
			mg_diag_add(notes, MG_WARNING, MG_DIAG_CONTENT, NULL, 0, 0,
				    "%s/%s kept: %s; it stays capped and a later login removes it", user_dir,
				    session_name, e == EBUSY ? "processes of the session still run" : strerror(e));
		}
		if (dfd != user_dfd)
			close(dfd);
		/* Fails while another session of the user is open: as it should. */
		if (rmdir(user_dir) == 0)
			drop_protections(cg, notes);
		else if (errno != EBUSY && errno != ENOTEMPTY && errno != ENOENT)
			mg_diag_add(notes, MG_WARNING, MG_DIAG_ACCESS, NULL, 0, 0, "cannot remove %s: %s", user_dir,
				    strerror(errno));
	}
	free(user_dir);
}

int mg_cg_close_session(const struct mg_cg *cg, int user_dfd, uid_t uid, const char *session_name,
			const char *orig_rel, pid_t pid, struct mg_diags *notes)
{
	/* close_session runs inside the group it removes: leave it first. */
	int r = mg_cg_move_back(cg, orig_rel, pid, notes);

	mg_cg_remove_session(cg, user_dfd, uid, session_name, notes);
	return r;
}

void mg_cg_place_free(struct mg_session_place *p)
{
	if (p->user_fd >= 0)
		close(p->user_fd);
	free(p->user_dir);
	free(p->session_dir);
	memset(p, 0, sizeof(*p));
}

