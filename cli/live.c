#include "live.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdlive.h"

int live_choose(struct live *lv, struct ctl *c)
{
	int r;

	memset(lv, 0, sizeof(*lv));
	lv->c = c;
	if (c->backend == CTL_BACKEND_SYSTEMD && c->cgroup_root_explicit)
		return ctl_usage_err("--cgroup-root is for the cgroupfs backend, not --backend=systemd");
	/* Where logins put sessions, and the policy they read. */
	r = ctl_module_config(c);
	if (r)
		return r;
	switch (c->backend) {
	case CTL_BACKEND_SYSTEMD:
		if (c->cgroup_root)
			return ctl_usage_err("--cgroup-root is for the cgroupfs backend, not --backend=systemd");
		lv->systemd = true;
		break;
	case CTL_BACKEND_CGROUPFS:
		break;
	case CTL_BACKEND_AUTO:
		/* As pam_memguard: systemd when it manages the cgroups and no
		 * directory of ours is named. */
		lv->systemd = !c->cgroup_root && access("/run/systemd/system", F_OK) == 0;
		break;
	}
	return 0;
}

int live_open(struct live *lv)
{
	int r;

	if (lv->systemd) {
		r = sdlive_open(&lv->bus);
		if (r < 0) {
			ctl_err("cannot connect to the system bus: %s", sdlive_error(r));
			return r;
		}
		/* The hierarchy the ControlGroup paths are relative to. */
		r = mg_cg_detect(NULL, &lv->cg);
		if (r < 0)
			ctl_err("no cgroup memory controller under /sys/fs/cgroup: %s", strerror(-r));
		return r;
	}
	r = mg_cg_detect(lv->c->cgroup_root, &lv->cg);
	if (r < 0)
		ctl_err("no cgroup memory controller at %s: %s",
			lv->c->cgroup_root ? lv->c->cgroup_root : "/sys/fs/cgroup",
			r == -ENODEV ? "not a cgroup file system with the memory controller" : strerror(-r));
	return r;
}

void live_close(struct live *lv)
{
	sdlive_close(&lv->bus);
	mg_cg_free(&lv->cg);
}

const char *live_error(const struct live *lv, int r)
{
	return lv->systemd ? sdlive_error(r) : strerror(r < 0 ? -r : r);
}

static int cmp_uid(const void *a, const void *b)
{
	uid_t x = *(const uid_t *)a, y = *(const uid_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int live_list_dir(const char *dir, const char *prefix, char ***names, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t len = 0;
	int r = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char **grown;

		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || de->d_type != DT_DIR)
			continue;
		grown = realloc(v, (len + 1) * sizeof(*v));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		v = grown;
		if (!(v[len] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		len++;
	}
	closedir(d);
	if (r < 0) {
		sdlive_strv_free(v, len);
		return r;
	}
	if (len)
		qsort(v, len, sizeof(*v), cmp_str);
	*names = v;
	*n = len;
	return 0;
}

int live_uids(struct live *lv, uid_t **uids, size_t *n)
{
	char **names = NULL;
	size_t len = 0, m = 0;
	int r;

	if (lv->systemd)
		r = sdlive_users(&lv->bus, uids, n);
	else {
		*uids = NULL;
		*n = 0;
		r = live_list_dir(lv->cg.base, "user-", &names, &len);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
		*uids = calloc(len ? len : 1, sizeof(**uids));
		if (!*uids) {
			sdlive_strv_free(names, len);
			return -ENOMEM;
		}
		for (size_t i = 0; i < len; i++) {
			char *end;
			unsigned long v = strtoul(names[i] + 5, &end, 10);
			if (!*end && end != names[i] + 5)
				(*uids)[m++] = (uid_t)v;
		}
		*n = m;
		sdlive_strv_free(names, len);
	}
	if (r == 0 && *n)
		qsort(*uids, *n, sizeof(**uids), cmp_uid);
	return r;
}

int live_user_quiet(const char *arg, uid_t uid_min, uid_t uid_max, struct mg_identity_buf *who, uid_t *uid,
		    char *why, size_t whylen)
{
	char *end = NULL, buf[4096];
	struct passwd pw, *res = NULL;
	const char *name = arg;
	unsigned long v;
	int r;

	why[0] = '\0';
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (*arg >= '0' && *arg <= '9' && !*end && errno == 0 && v < (uid_t)-1) {
		*uid = (uid_t)v;
		if (getpwuid_r((uid_t)v, &pw, buf, sizeof(buf), &res) != 0 || !res) {
			snprintf(why, whylen, "uid %lu is not known to NSS", v);
			return 1;
		}
		name = res->pw_name;
	}
	r = mg_identity_lookup(name, uid_min, uid_max, who);
	if (r == -ENOENT)
		snprintf(why, whylen, "no such user: %s", arg);
	else if (r == -ENAMETOOLONG)
		snprintf(why, whylen, "a user name of %zu bytes is too long (at most %d)", strlen(arg), MG_NAME_MAX);
	else if (r < 0)
		snprintf(why, whylen, "cannot look up %s: %s", arg, strerror(-r));
	else
		*uid = who->id.uid;
	return r;
}

int live_user(const char *arg, uid_t uid_min, uid_t uid_max, struct mg_identity_buf *who, uid_t *uid)
{
	char why[512];
	int r = live_user_quiet(arg, uid_min, uid_max, who, uid, why, sizeof(why));

	if (r < 0)
		ctl_err("%s", why);
	return r;
}

int live_user_of_uid(uid_t uid, uid_t uid_min, uid_t uid_max, struct mg_identity_buf *who)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	uid_t u;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return 1;
	return live_user(res->pw_name, uid_min, uid_max, who, &u);
}

const char *live_kind_name(enum kind kind)
{
	return kind == KIND_ALL ? "all" : kind == KIND_USER ? "user" : "session";
}

void live_human(uint64_t v, char *buf, size_t len)
{
	if (v == MG_CG_UNLIMITED)
		snprintf(buf, len, "max");
	else
		mg_bytes_format(v, buf, len);
}

void live_json_bytes(uint64_t v)
{
	if (v == MG_CG_UNLIMITED)
		printf("\"max\"");
	else
		printf("%llu", (unsigned long long)v);
}
