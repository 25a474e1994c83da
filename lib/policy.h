/* The per-user memory policy: rules as written, and what they resolve to.
 * Shared by the PAM module and memguardctl so that there is one parser. */
#ifndef MEMGUARD_POLICY_H
#define MEMGUARD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "diag.h"
#include "size.h"

enum mg_key {
	MG_KEY_MEMORY_MAX,
	MG_KEY_MEMORY_HIGH,
	MG_KEY_MEMORY_SWAP_MAX,
	MG_KEY_MEMORY_LOW,
	MG_KEY_MEMORY_MIN,
	MG_KEY_SESSION_MEMORY_MAX,
	MG_KEY_SESSION_MEMORY_HIGH,
	MG_KEY_OOM_SCORE_ADJ,
	MG_KEY_OOM_GROUP,
	MG_KEY_EXEMPT,
	MG_KEY_TRACE,
	MG_KEY_COUNT
};

enum mg_value_type {
	MG_TYPE_SIZE,
	MG_TYPE_INT,
	MG_TYPE_BOOL,
	MG_TYPE_TRACE, /* a threshold for the allocation shim, or off */
};

struct mg_key_info {
	const char *name;
	size_t len; /* of name */
	enum mg_value_type type;
	bool on_all_sessions; /* allowed on the %all rule */
	bool is_cap;          /* limits memory (for the oom_score_adj=-1000 check) */
};

const struct mg_key_info *mg_key_info(enum mg_key key);
/* -ENOENT when no key has that name. */
int mg_key_lookup(const char *name, size_t len);

enum mg_who_kind {
	MG_WHO_ALL_USERS,    /* "*": every uid from UID_MIN up (see mg_all_users_covers) */
	MG_WHO_UID_RANGE,    /* "MIN:MAX", "MIN:", ":MAX" */
	MG_WHO_GROUP,        /* "@group", any group the user is in */
	MG_WHO_USER,         /* "name" */
	MG_WHO_ALL_SESSIONS, /* "%all": one cap over every user's sessions together */
};

struct mg_value {
	bool set;
	unsigned col; /* where it was written, 1-based */
	union {
		struct mg_size size;
		long num;
		bool flag;
		struct {
			bool on;
			struct mg_size threshold; /* bytes or max (failures only) */
		} trace;
	} u;
};

struct mg_rule {
	const char *file; /* owned by the policy */
	unsigned line;
	enum mg_who_kind who_kind;
	char *who; /* as written, with the '@' of a group */
	uid_t uid_min, uid_max;
	struct mg_value v[MG_KEY_COUNT];
};

struct mg_identity;
struct mg_name_block;

struct mg_policy {
	struct mg_rule *rules;
	size_t nrules, cap;
	struct mg_name_block *names; /* where every rule's who is kept */
	char **files; /* every file read, in reading order */
	size_t nfiles;
	uint64_t memtotal; /* bytes of RAM that percentages refer to */
	/* When set, memtotal (0 until then) is read from this meminfo file
	 * the first time a value needs it (mg_policy_memtotal): a percentage,
	 * or a protection that is checked against RAM. The parser checks
	 * every value of a line it keeps, so after a load memtotal is known
	 * whenever a rule kept uses one; a login whose rules use none never
	 * reads meminfo. */
	const char *meminfo;
	bool memtotal_read;
	/* When set, rules that cannot apply to this identity are skipped
	 * without being parsed: a login reads only what concerns it, so a
	 * 10k-rule policy costs little and another user's broken line does
	 * not touch this session. memguardctl check reads everything. */
	const struct mg_identity *only;
};

#ifndef MG_SYSCONFDIR
#define MG_SYSCONFDIR "/etc"
#endif
#define MG_POLICY_DEFAULT_PATH MG_SYSCONFDIR "/security/memguard.conf"

/* Below this a cap would starve the session's own supervisor (sshd's
 * privileged process, login, su and the shell take about 10-20 MiB
 * between them, page tables and kernel stacks included). */
#define MG_CAP_FLOOR (32ull << 20)

void mg_policy_init(struct mg_policy *p, uint64_t memtotal);
/* memtotal, read from p->meminfo first when that is set and it was not
 * read yet; 0 when nobody knows (percentages are then not checked). */
uint64_t mg_policy_memtotal(struct mg_policy *p);
void mg_policy_free(struct mg_policy *p);

/* Adds the rules of one file's text; problems go to d. -ENOMEM only. */
int mg_policy_parse_buffer(struct mg_policy *p, const char *file, const char *buf, size_t len,
			   struct mg_diags *d);

/* The drop-in directory that belongs to a policy file:
 * /etc/security/memguard.conf -> /etc/security/memguard.d */
char *mg_policy_dropin_dir(const char *policy_path);

enum {
	MG_LOAD_MISSING_OK = 1 << 0, /* a missing main file is an empty policy */
	MG_LOAD_NO_DROPINS = 1 << 1,
};

/* Reads the main file, then its drop-ins (*.conf, C-locale order, no dot
 * files), checking that each is root-owned and not group/other-writable.
 * Every problem becomes a diagnostic. Returns 0, or -errno when the main
 * file could not be read (also a diagnostic) or memory ran out. */
int mg_policy_load(struct mg_policy *p, const char *path, unsigned flags, struct mg_diags *d);

/* Notes (MG_NOTE) on the files in the policy's drop-in directory that
 * are never read: a package manager's .dpkg-dist or .dpkg-old copy, an
 * editor's backup~, a name in the wrong case such as 50-lab.CONF. Dot
 * files are hidden on purpose and not named. Returns 0, or -errno when
 * the directory exists but cannot be listed. */
int mg_policy_ignored_dropins(const char *policy_path, struct mg_diags *notes);

/* The text of one file as it would be after an edit, read in its place
 * (a drop-in that does not exist yet is read in its name order). */
struct mg_load_override {
	const char *path;
	const char *text;
	size_t len;
};

int mg_policy_load_with(struct mg_policy *p, const char *path, unsigned flags, const struct mg_load_override *ov,
			struct mg_diags *d);

/* The longest user or group name a rule may name, and memguard looks up:
 * more than any NSS source gives out, and some NSS modules abort on
 * longer ones rather than answer. */
#define MG_NAME_MAX 256

/* What a rule may need to know of an identity beyond its name and uid. */
enum {
	MG_NEED_GROUPS = 1 << 0,    /* an @group rule */
	MG_NEED_UID_RANGE = 1 << 1, /* "*" */
};

/* The parts of an identity that are looked up when a rule first needs
 * them: at a login, NSS group backends and login.defs cost more than the
 * rest of the policy work, and most policies have no @group rule. */
struct mg_identity_later {
	unsigned pending; /* MG_NEED_* not looked up yet */
	/* Fills in what need names and clears it from pending; never fails
	 * (an error is the caller's to keep and to act on after the load). */
	void (*look_up)(struct mg_identity_later *later, unsigned need);
};

/* Who a login is, as far as rules can tell. */
struct mg_identity {
	const char *name;
	uid_t uid;
	const char *const *groups; /* names of every group, supplementary included */
	size_t ngroups;
	uid_t uid_min; /* UID_MIN: where "*" starts */
	uid_t uid_max; /* UID_MAX of login.defs: for messages only, "*" goes past it */
	struct mg_identity_later *later; /* NULL: everything above is known */
};

/* Has what need names looked up, when it is still pending: whatever
 * reads groups, uid_min or uid_max of an identity that may have a later
 * calls it first. */
void mg_identity_need(const struct mg_identity *id, unsigned need);

/* The overflow uid: what the kernel shows for an owner it cannot map
 * (nobody), never a login of its own. */
#define MG_OVERFLOW_UID 65534

/* Why "*" covers an identity or not. It covers every uid from UID_MIN up,
 * UID_MAX included and past it: users of SSSD, FreeIPA or Active
 * Directory have uids far above login.defs' UID_MAX, and they are most
 * users of the hosts memguard is for. */
enum mg_all_users_reason {
	MG_ALL_USERS_COVERED,
	MG_ALL_USERS_BELOW_UID_MIN, /* root and system accounts */
	MG_ALL_USERS_OVERFLOW_UID,  /* 65534 */
	MG_ALL_USERS_RESERVED_UID,  /* 4294967294 and 4294967295: (uid_t)-2 and -1 mean "no uid" */
};

enum mg_all_users_reason mg_all_users_covers(const struct mg_identity *id);

/* How specific a rule is for this identity: 4 user, 3 @group, 2 uid
 * range, 1 "*", 0 when it does not apply (and for %all). */
int mg_rule_rank(const struct mg_rule *r, const struct mg_identity *id);

struct mg_resolved {
	struct mg_value v[MG_KEY_COUNT];
	const struct mg_rule *src[MG_KEY_COUNT]; /* NULL: not set by any rule */
};

/* Per key: user > @group > uid range > "*"; within one class the later
 * line wins (drop-ins come after the main file). */
void mg_policy_resolve(const struct mg_policy *p, const struct mg_identity *id,
		       struct mg_resolved *out);
/* The %all rule(s), merged the same way. */
void mg_policy_resolve_all_sessions(const struct mg_policy *p, struct mg_resolved *out);
bool mg_resolved_exempt(const struct mg_resolved *r);

/* Checks that span rules (memory.high above memory.max, ...) on resolved
 * settings; diagnostics name the line of the later of the two rules. */
void mg_resolved_validate(const struct mg_resolved *r, uint64_t memtotal, const char *who, bool cross_only,
			  struct mg_diags *d);

/* Every rule, ordered by target (strcmp of who) and within one target in
 * reading order: one target's lines side by side. Free the array (not
 * the rules); NULL when memory ran out. */
const struct mg_rule **mg_policy_by_who(const struct mg_policy *p);

/* Whole-policy checks for memguardctl check: every rule laid over what "*"
 * gives (so a clash between a rule and the defaults is found in one pass),
 * and the sum of protections. */
void mg_policy_validate(const struct mg_policy *p, struct mg_diags *d);
/* The same on the order mg_policy_by_who gave, for a caller that needs
 * that order again (the sort is most of the cost of these checks). */
void mg_policy_validate_ordered(const struct mg_policy *p, const struct mg_rule *const *by_who,
				struct mg_diags *d);

/* "4G", "25%", "-200", "yes" */
void mg_value_format(enum mg_key key, const struct mg_value *v, char *buf, size_t buflen);

#endif
