#include "identity.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"

static char *gid_name(gid_t gid)
{
	size_t bufsize = 1024;
	char *buf = NULL, *name = NULL;
	struct group gr, *res = NULL;
	int r;

	for (;;) {
		char *nb = realloc(buf, bufsize);
		if (!nb)
			break;
		buf = nb;
		r = getgrgid_r(gid, &gr, buf, bufsize, &res);
		if (r == ERANGE && bufsize < (1u << 24)) {
			bufsize *= 2;
			continue;
		}
		if (r == 0 && res)
			name = strdup(res->gr_name);
		break;
	}
	free(buf);
	return name;
}

int mg_identity_lookup_passwd(const char *user, struct mg_identity_buf *out)
{
	size_t bufsize = 1024;
	char *buf = NULL;
	struct passwd pw, *res = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (strnlen(user, MG_NAME_MAX + 1) > MG_NAME_MAX)
		return -ENAMETOOLONG; /* never handed to NSS */
	for (;;) {
		char *nb = realloc(buf, bufsize);
		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		r = getpwnam_r(user, &pw, buf, bufsize, &res);
		if (r == ERANGE && bufsize < (1u << 24)) {
			bufsize *= 2;
			continue;
		}
		break;
	}
	if (r != 0 || !res) {
		free(buf);
		return r ? -r : -ENOENT;
	}
	out->name = strdup(pw.pw_name);
	out->home = strdup(pw.pw_dir ? pw.pw_dir : "");
	out->gid = pw.pw_gid;
	out->id.uid = pw.pw_uid;
	free(buf);
	out->id.name = out->name;
	if (!out->name || !out->home) {
		mg_identity_free(out);
		return -ENOMEM;
	}
	return 0;
}

/* Groups by name into out; nothing of out changes on failure. */
static int add_groups(struct mg_identity_buf *out)
{
	gid_t *gids = NULL;
	char **names;
	int ngids = 32;
	size_t n = 0;

	for (;;) {
		int got = ngids;
		gid_t *ng = realloc(gids, (size_t)ngids * sizeof(*gids));
		if (!ng)
			goto oom;
		gids = ng;
		if (getgrouplist(out->name, out->gid, gids, &got) >= 0) {
			ngids = got;
			break;
		}
		if (got <= ngids || got > 65536)
			goto oom;
		ngids = got;
	}
	names = calloc((size_t)ngids + 1, sizeof(char *));
	if (!names)
		goto oom;
	for (int i = 0; i < ngids; i++) {
		char *name = gid_name(gids[i]);
		if (name) /* a gid without a name can match no @group rule */
			names[n++] = name;
	}
	free(gids);
	out->groups = names;
	out->id.groups = (const char *const *)names;
	out->id.ngroups = n;
	return 0;
oom:
	free(gids);
	return -ENOMEM;
}

static void look_up_later(struct mg_identity_later *later, unsigned need)
{
	struct mg_identity_buf *b = (struct mg_identity_buf *)((char *)later - offsetof(struct mg_identity_buf, later));

	if (need & MG_NEED_UID_RANGE)
		mg_login_defs_uid_range(b->login_defs, &b->id.uid_min, &b->id.uid_max);
	if (need & MG_NEED_GROUPS)
		b->groups_error = add_groups(b);
	later->pending &= ~need;
}

void mg_identity_defer(struct mg_identity_buf *out, const char *login_defs)
{
	out->login_defs = login_defs;
	out->id.uid_min = MG_UID_MIN_DEFAULT;
	out->id.uid_max = MG_UID_MAX_DEFAULT;
	out->later.pending = MG_NEED_GROUPS | MG_NEED_UID_RANGE;
	out->later.look_up = look_up_later;
	out->id.later = &out->later;
}

int mg_identity_lookup(const char *user, uid_t uid_min, uid_t uid_max, struct mg_identity_buf *out)
{
	int r = mg_identity_lookup_passwd(user, out);

	if (r < 0)
		return r;
	r = add_groups(out);
	if (r < 0) {
		mg_identity_free(out);
		return r;
	}
	out->id.uid_min = uid_min;
	out->id.uid_max = uid_max;
	return 0;
}

void mg_identity_free(struct mg_identity_buf *b)
{
	if (b->groups)
		for (size_t i = 0; i < b->id.ngroups; i++)
			free(b->groups[i]);
	free(b->groups);
	free(b->name);
	free(b->home);
	memset(b, 0, sizeof(*b));
}

static bool login_defs_value(const char *line, const char *key, uid_t *out)
{
	size_t n = strlen(key);
	char *end;
	unsigned long v;

	if (strncmp(line, key, n) != 0 || (line[n] != ' ' && line[n] != '\t'))
		return false;
	v = strtoul(line + n, &end, 10);
	if (end == line + n || v >= (uid_t)-1)
		return false;
	*out = (uid_t)v;
	return true;
}

int mg_login_defs_uid_range(const char *path, uid_t *min, uid_t *max)
{
	const char *p;
	char *buf;
	size_t len;
	int r;

	*min = MG_UID_MIN_DEFAULT;
	*max = MG_UID_MAX_DEFAULT;
	r = mg_read_file(path, 1 << 20, &buf, &len);
	if (r < 0)
		return r;
	/* Found by name rather than line by line: the file is mostly
	 * comments, and a login reads it. A key counts at the start of a
	 * line, after blanks: not in a comment, not in SUB_UID_MIN. A NUL
	 * byte ends the file, as it did when lines were walked. */
	for (p = buf; (p = strstr(p, "UID_M")); p += 5) {
		const char *start = p;

		while (start > buf && (start[-1] == ' ' || start[-1] == '\t'))
			start--;
		if (start > buf && start[-1] != '\n')
			continue;
		login_defs_value(p, "UID_MIN", min);
		login_defs_value(p, "UID_MAX", max);
	}
	free(buf);
	return 0;
}
