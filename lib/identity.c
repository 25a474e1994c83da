#include "identity.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
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

int mg_identity_add_groups(struct mg_identity_buf *out, uid_t uid_min, uid_t uid_max)
{
	gid_t *gids = NULL;
	int ngids = 32;

	for (;;) {
		int n = ngids;
		gid_t *ng = realloc(gids, (size_t)ngids * sizeof(*gids));
		if (!ng)
			goto oom;
		gids = ng;
		if (getgrouplist(out->name, out->gid, gids, &n) >= 0) {
			ngids = n;
			break;
		}
		if (n <= ngids || n > 65536)
			goto oom;
		ngids = n;
	}
	out->groups = calloc((size_t)ngids + 1, sizeof(char *));
	if (!out->groups)
		goto oom;
	for (int i = 0; i < ngids; i++) {
		char *name = gid_name(gids[i]);
		if (name) /* a gid without a name can match no @group rule */
			out->groups[out->id.ngroups++] = name;
	}
	free(gids);
	out->id.groups = (const char *const *)out->groups;
	out->id.uid_min = uid_min;
	out->id.uid_max = uid_max;
	return 0;
oom:
	free(gids);
	mg_identity_free(out);
	return -ENOMEM;
}

int mg_identity_lookup(const char *user, uid_t uid_min, uid_t uid_max, struct mg_identity_buf *out)
{
	int r = mg_identity_lookup_passwd(user, out);

	return r < 0 ? r : mg_identity_add_groups(out, uid_min, uid_max);
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
	char *buf, *p;
	size_t len;
	int r;

	*min = MG_UID_MIN_DEFAULT;
	*max = MG_UID_MAX_DEFAULT;
	r = mg_read_file(path, 1 << 20, &buf, &len);
	if (r < 0)
		return r;
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != 'U') /* most lines are comments: this runs at every login */
			continue;
		login_defs_value(p, "UID_MIN", min);
		login_defs_value(p, "UID_MAX", max);
	}
	free(buf);
	return 0;
}
