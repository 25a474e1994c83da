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
	/* mg_identity_defer: what is looked up when a rule needs it. */
	struct mg_identity_later later;
	const char *login_defs;
	int groups_error; /* -errno of that group lookup; the groups are empty */
};

#define MG_LOGIN_DEFS_PATH "/etc/login.defs"
#define MG_UID_MIN_DEFAULT 1000
#define MG_UID_MAX_DEFAULT 60000

/* -ENOENT when NSS does not know the user, -ENAMETOOLONG (without asking
 * NSS) for a name longer than MG_NAME_MAX. uid_min: where "*" starts;
 * uid_max: login.defs' UID_MAX, kept for messages ("*" goes past it). */
int mg_identity_lookup(const char *user, uid_t uid_min, uid_t uid_max, struct mg_identity_buf *out);
void mg_identity_free(struct mg_identity_buf *b);

/* The passwd half of mg_identity_lookup, for a login: it decides on the
 * uid before any group lookup (root is exempt before NSS group backends,
 * which may hang, are asked). Then mg_identity_defer leaves the groups
 * and the uid range (from login_defs, which must outlive out) to the
 * first rule that needs them, through out->id.later: a policy without an
 * @group rule never asks NSS for groups, one without "*" never reads
 * login.defs. A failed group lookup leaves the groups empty and its
 * error in groups_error, for the caller to check after the policy is
 * read and resolved. */
int mg_identity_lookup_passwd(const char *user, struct mg_identity_buf *out);
void mg_identity_defer(struct mg_identity_buf *out, const char *login_defs);

/* UID_MIN and UID_MAX from login.defs. The defaults (1000, 60000) stand
 * for a missing file (then -ENOENT) or key. */
int mg_login_defs_uid_range(const char *path, uid_t *min, uid_t *max);

#endif
