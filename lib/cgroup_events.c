/* What the kernel counted in a group: its peak usage and how often it hit
 * its caps or OOM-killed. For the close-session record and status. */
#include "cgroup.h"
#include "cgroup_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)

static bool read_u64(int dfd, const char *file, uint64_t *v)
{
	char buf[64], *end;

	if (mg_cg_read_text_at(dfd, file, buf, sizeof(buf)) < 0)
		return false;
	*v = strtoull(buf, &end, 10);
	return end != buf;
}

/* "key N" on a line of its own in a flat keyed file. */
static bool keyed(const char *text, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			*v = strtoull(p + kl + 1, NULL, 10);
			return true;
		}
	return false;
}

/* v1 counts an OOM kill only in the victim's own group: a group's kills
 * are those of the groups below it too, as far as they still exist. A
 * group with no group below it (a session group) is not listed: listing
 * a cgroup directory costs more than all its counters. skip: a child
 * whose kills the caller has already (NULL: none). */
static uint64_t v1_children_oom_kills(int dfd, int depth, const char *skip)
{
	char buf[512];
	uint64_t sum = 0, v;
	struct dirent *de;
	int sub;
	DIR *d;

	if (depth > 8 || mg_cg_subgroups_at(dfd) == 0 || (sub = openat(dfd, ".", DIR_FLAGS)) < 0)
		return 0;
	if (!(d = fdopendir(sub))) {
		close(sub);
		return 0;
	}
	while ((de = readdir(d))) {
		int cfd;

		if (de->d_type != DT_DIR || de->d_name[0] == '.' || (skip && strcmp(de->d_name, skip) == 0))
			continue;
		if ((cfd = openat(dirfd(d), de->d_name, DIR_FLAGS)) < 0)
			continue;
		if (mg_cg_read_text_at(cfd, "memory.oom_control", buf, sizeof(buf)) == 0 && keyed(buf, "oom_kill", &v))
			sum += v;
		sum += v1_children_oom_kills(cfd, depth + 1, NULL);
		close(cfd);
	}
	closedir(d);
	return sum;
}

/* The group's own counters, none from below. */
static void read_own(int version, int dfd, struct mg_cg_events *out)
{
	char buf[1024];

	memset(out, 0, sizeof(*out));
	if (version == 2) {
		out->has_peak = read_u64(dfd, "memory.peak", &out->peak);
		if (mg_cg_read_text_at(dfd, "memory.events", buf, sizeof(buf)) == 0) {
			out->has_high = keyed(buf, "high", &out->high);
			out->has_max = keyed(buf, "max", &out->max);
			out->has_oom_kills = keyed(buf, "oom_kill", &out->oom_kills);
			out->has_oom = keyed(buf, "oom", &out->oom);
		}
	} else {
		out->has_peak = read_u64(dfd, "memory.max_usage_in_bytes", &out->peak);
		out->has_max = read_u64(dfd, "memory.failcnt", &out->max);
		out->has_oom_kills = mg_cg_read_text_at(dfd, "memory.oom_control", buf, sizeof(buf)) == 0 &&
				     keyed(buf, "oom_kill", &out->oom_kills);
	}
}

int mg_cg_read_events_at(int version, int dfd, bool subtree, struct mg_cg_events *out)
{
	read_own(version, dfd, out);
	/* v2 counts a group's kills with those below it already. */
	if (version == 1 && subtree && out->has_oom_kills)
		out->oom_kills += v1_children_oom_kills(dfd, 0, NULL);
	return 0;
}

int mg_cg_read_events(int version, const char *dir, bool subtree, struct mg_cg_events *out)
{
	int dfd = open(dir, DIR_FLAGS);

	if (dfd < 0) {
		memset(out, 0, sizeof(*out));
		return -errno;
	}
	mg_cg_read_events_at(version, dfd, subtree, out);
	close(dfd);
	return 0;
}

void mg_cg_read_session_events(int version, int ufd, const char *session_name, struct mg_cg_events *sess,
			       struct mg_cg_events *user)
{
	bool have_sess = false;
	int sfd;

	memset(sess, 0, sizeof(*sess));
	memset(user, 0, sizeof(*user));
	if (ufd < 0)
		return;
	if ((sfd = openat(ufd, session_name, DIR_FLAGS)) >= 0) {
		read_own(version, sfd, sess);
		have_sess = sess->has_oom_kills;
		close(sfd);
	}
	read_own(version, ufd, user);
	if (version == 1 && user->has_oom_kills) {
		/* Most users have one session open: then the session's kills,
		 * just read, are all there is below. */
		if (have_sess && mg_cg_subgroups_at(ufd) == 1)
			user->oom_kills += sess->oom_kills;
		else
			user->oom_kills += (have_sess ? sess->oom_kills : 0) +
					   v1_children_oom_kills(ufd, 0, have_sess ? session_name : NULL);
	}
}
