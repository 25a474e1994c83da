/* Who a user is, through NSS: uid and every group by name (supplementary
 * included, so LDAP and SSSD groups count), with one getgrouplist per user. */
#ifndef MEMGUARD_IDENTITY_H
#define MEMGUARD_IDENTITY_H

#include <sys/types.h>

#include "policy.h"

struct mg_identity_buf {
	struct mg_identity id;
	char *name;
	char **groups;
	gid_t gid;
	char *home;
};

#define MG_LOGIN_DEFS_PATH "/etc/login.defs"
#define MG_UID_MIN_DEFAULT 1000
#define MG_UID_MAX_DEFAULT 60000

/* -ENOENT when NSS does not know the user. uid_min/uid_max: the range
 * of regular users, which "*" covers. */
int mg_identity_lookup(const char *user, uid_t uid_min, uid_t uid_max, struct mg_identity_buf *out);
void mg_identity_free(struct mg_identity_buf *b);

/* UID_MIN and UID_MAX from login.defs: the regular users. The defaults
 * (1000, 60000) stand for a missing file (then -ENOENT) or key. */
int mg_login_defs_uid_range(const char *path, uid_t *min, uid_t *max);

#endif
