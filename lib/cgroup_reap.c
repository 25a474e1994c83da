/* Removing the groups of sessions that are gone: at every login (the
 * module, for all users, precisely for the user logging in) and on
 * demand (memguardctl gc). One pass, so both judge a group alike. */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)

static bool owner_alive(const char *name)
{
	char now[64];
	int pid;

	if (sscanf(name, "session-%d-", &pid) != 1)
		return false;
	return mg_cg_session_name(pid, now, sizeof(now)) == 0 && strcmp(now, name) == 0;
}

struct pass {
	const struct mg_cg *cg;
	const struct mg_cg_reap_opts *o; /* NULL: the login's pass */
	uid_t uid;
	const char *user_name;
};

/* Removes dir/name, or in a dry run tells whether it could be: empty and
 * without a group below. */
static bool remove_group(const struct pass *p, int dfd, const char *name)
{
	char path[4096];
	int r;

	if (!p->o || !p->o->dry_run)
		return unlinkat(dfd, name, AT_REMOVEDIR) == 0;
	if (p->user_name)
		snprintf(path, sizeof(path), "%s/%s/%s", p->cg->base, p->user_name, name);
	else
		snprintf(path, sizeof(path), "%s/%s", p->cg->base, name);
	r = mg_cg_populated(p->cg->version, path);
	return r == 0;
}

static void tell(const struct pass *p, const char *name, bool user_group)
{
	if (p->o && p->o->removed)
		p->o->removed(p->o->arg, p->uid, name, user_group);
}

/* Removes the stale session groups of one user directory: every group
 * whose login is gone (precise: the owner's start time, when precise) and
 * that no process keeps busy. *left counts the session groups that stay. */
static int reap_user_dir(const struct pass *p, int dfd, const char *keep, bool precise, unsigned *reaped,
			 unsigned *left)
{
	struct dirent *de;
	DIR *d;

	/* No session group below: nothing to list. */
	if (mg_cg_subgroups_at(dfd) == 0) {
		close(dfd);
		return 0;
	}
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		bool stale, shared = strcmp(de->d_name, MG_CG_SHARED_SESSION) == 0;
		int pid;

		if (strncmp(de->d_name, "session-", 8) != 0)
			continue;
		if (keep && strcmp(de->d_name, keep) == 0) {
			(*left)++;
			continue;
		}
		/* A group whose login is still open is not stale, even if empty
		 * (its caller may not have moved in yet). For other users' groups
		 * one kill(0) tells enough: a reused pid only delays the reaping
		 * until the owner's next login. */
		/* The shared group is stale once empty: only then can it go. */
		if (shared)
			stale = true;
		else if (precise)
			stale = !owner_alive(de->d_name);
		else
			stale = sscanf(de->d_name, "session-%d-", &pid) == 1 && pid > 0 && kill(pid, 0) < 0 &&
				errno == ESRCH;
		if (stale && remove_group(p, dirfd(d), de->d_name)) {
			(*reaped)++;
			tell(p, de->d_name, false);
		} else if (!shared) { /* the bound counts groups of one login each */
			(*left)++;
		}
	}
	closedir(d);
	return 0;
}

/* base_dfd: BASE open, borrowed; -1: opened here. */
static int reap(const struct mg_cg *cg, int base_dfd, const struct mg_cg_reap_opts *o, uid_t uid, const char *keep,
		unsigned *reaped, unsigned *left)
{
	char own[32];
	struct dirent *de;
	DIR *d;
	int bfd = -1;

	*reaped = 0;
	*left = 0;
	snprintf(own, sizeof(own), "user-%u", (unsigned)uid);
	if (base_dfd < 0 && (bfd = base_dfd = open(cg->base, DIR_FLAGS)) < 0)
		return errno == ENOENT ? 0 : -errno;
	/* The link count tells whether any user group is there: when none
	 * is, as after every user's last logout, nothing is listed. */
	if (mg_cg_subgroups_at(base_dfd) == 0) {
		if (bfd >= 0)
			close(bfd);
		return 0;
	}
	/* The caller's fd stays as it is: a fresh open, not dup(), which
	 * would share its read offset. */
	if (bfd < 0 && (bfd = openat(base_dfd, ".", DIR_FLAGS)) < 0)
		return -errno;
	d = fdopendir(bfd);
	if (!d) {
		close(bfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		unsigned ureaped = 0, uleft = 0;
		bool mine = !o && strcmp(de->d_name, own) == 0;
		struct pass p = { cg, o, 0, de->d_name };
		int ufd;

		if (strncmp(de->d_name, "user-", 5) != 0)
			continue;
		p.uid = (uid_t)strtoul(de->d_name + 5, NULL, 10);
		ufd = openat(dirfd(d), de->d_name, DIR_FLAGS);
		if (ufd < 0)
			continue;
		/* gc: no login is under way, every group is judged precisely. */
		if (reap_user_dir(&p, ufd, mine ? keep : NULL, mine || o, &ureaped, &uleft) < 0)
			continue;
		*reaped += ureaped;
		if (mine) {
			*left = uleft;
			continue;
		}
		if (o)
			*left += uleft;
		/* A user with no session left: the whole group goes. A login of
		 * that user racing with this finds it gone and starts over. */
		p.user_name = NULL;
		if (uleft == 0 && remove_group(&p, dirfd(d), de->d_name)) {
			(*reaped)++;
			tell(&p, de->d_name, true);
		}
	}
	closedir(d);
	return 0;
}

int mg_cg_reap(const struct mg_cg *cg, int base_dfd, uid_t uid, const char *keep, unsigned *reaped, unsigned *left)
{
	if (base_dfd < 0) {
		*reaped = *left = 0;
		return 0;
	}
	return reap(cg, base_dfd, NULL, uid, keep, reaped, left);
}

int mg_cg_gc(const struct mg_cg *cg, const struct mg_cg_reap_opts *o, unsigned *removed, unsigned *left)
{
	return reap(cg, -1, o, (uid_t)-1, NULL, removed, left);
}
