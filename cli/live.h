/* memguardctl status and apply: where the live state is (the backend
 * chosen as pam_memguard chooses it), and who has live state. */
#ifndef MEMGUARD_CLI_LIVE_H
#define MEMGUARD_CLI_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "ctl.h"
#include "identity.h"
#include "sdbus.h"


/* The three places caps live: %all, a user, one session. */
enum kind { KIND_ALL, KIND_USER, KIND_SESSION };

const char *live_kind_name(enum kind kind);

/* A live value as the output shows it: "max", or a size like 64M. */
void live_human(uint64_t v, char *buf, size_t len);

/* The same in JSON: "max", or bytes. */
void live_json_bytes(uint64_t v);

struct live {
	struct ctl *c;
	bool systemd;
	struct mg_cg cg; /* cgroupfs: memguard's tree; systemd: the hierarchy */
	struct mg_sdbus_conn bus; /* systemd: open between live_open and live_close */
};

/* The backend from --backend and --cgroup-root: 0, or EXIT_USAGE after
 * saying why. */
int live_choose(struct live *lv, struct ctl *c);

/* Connects to the bus (systemd) and finds the hierarchy; -errno after
 * saying why. */
int live_open(struct live *lv);
void live_close(struct live *lv);

/* The text of an error of this backend. */
const char *live_error(const struct live *lv, int r);

/* Every user with live state: logind's users, or the user-UID groups,
 * sorted. */
int live_uids(struct live *lv, uid_t **uids, size_t *n);

/* Names of the directories in dir that start with prefix, sorted. */
int live_list_dir(const char *dir, const char *prefix, char ***names, size_t *n);

/* USER as a name or a uid: 0 and *who filled (the caller frees it), 1
 * when arg is a uid NSS does not know (only *uid set), -errno after
 * saying why (-ENOENT: no such user). */
int live_user(const char *arg, uid_t uid_min, uid_t uid_max, struct mg_identity_buf *who, uid_t *uid);

/* The same, saying nothing: why it failed goes to why. */
int live_user_quiet(const char *arg, uid_t uid_min, uid_t uid_max, struct mg_identity_buf *who, uid_t *uid,
		    char *why, size_t whylen);

/* A session group's processes started with the allocation shim
 * (trace=): 1 and the MEMGUARD_THRESHOLD they got, 0 when none was,
 * -errno when the group cannot be read. */
int live_session_trace(const char *dir, char *threshold, size_t len);

/* The same for a uid found live. */
int live_user_of_uid(uid_t uid, uid_t uid_min, uid_t uid_max, struct mg_identity_buf *who);

#endif
