/* What memguard's settings become on a host where systemd owns the cgroup
 * tree: unit property names, values in the syntax pam_systemd and the
 * manager accept, and where the calling process sits in systemd's tree.
 * Pure functions, no D-Bus: the PAM module's backend does the talking. */
#ifndef MEMGUARD_SYSTEMD_PROPS_H
#define MEMGUARD_SYSTEMD_PROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

/* MemoryMax, MemoryHigh, MemorySwapMax, MemoryLow, MemoryMin; NULL for a
 * key with no unit property of its own. */
const char *mg_sd_property(enum mg_key key);

/* What a unit has when nobody set the property: "infinity" for the limits,
 * 0 for the protections (systemd.resource-control(5)). */
uint64_t mg_sd_default(enum mg_key key);

/* Bytes as pam_systemd's systemd.memory_max parses them: "infinity" for
 * no limit (it does not know cgroupfs's "max"), else plain bytes.
 * -ENOBUFS when buf is too small. */
int mg_sd_format_bytes(uint64_t bytes, char *buf, size_t len);

/* "user-UID.slice" */
int mg_sd_user_slice(uid_t uid, char *buf, size_t len);

/* Where SetUnitProperties(runtime=true) keeps a unit's property:
 * /run/systemd/system.control/UNIT.d/50-PROPERTY.conf. Its presence says
 * a runtime value overrides the unit's files (ours, or an admin's
 * systemctl set-property --runtime). */
int mg_sd_control_dropin(const char *unit, const char *property, char *buf, size_t len);

enum mg_sd_place {
	MG_SD_OUTSIDE,       /* not under any user: logind makes a new session */
	MG_SD_IN_SESSION,    /* .../session-ID.scope: logind makes none */
	MG_SD_IN_USER_SLICE, /* user-UID.slice, not a session (user@.service) */
};

/* Where a /proc/PID/cgroup text puts the process on the unified hierarchy
 * (line "0::PATH"; the name=systemd line on a hybrid host). The session id
 * is copied to id when the process is in a session scope. */
enum mg_sd_place mg_sd_place_of(const char *proc_cgroup, char *id, size_t idlen);

/* The session a cgroup path ("/user.slice/user-1000.slice/session-3.scope/x")
 * lies in: true, and the id copied, when it is inside a session scope. */
bool mg_sd_session_of_path(const char *path, char *id, size_t idlen);

enum mg_sd_plan {
	MG_SD_KEEP,    /* already what the policy says */
	MG_SD_SET,     /* write it */
	MG_SD_PENDING, /* a lower limit on a unit in use: left for later */
};

/* The cgroupfs backend's rule at login: a limit on a unit that holds
 * other sessions is only ever raised (a lowering could OOM-kill the user's
 * other sessions); protections and idle units take any value. */
enum mg_sd_plan mg_sd_plan(enum mg_key key, uint64_t current, uint64_t want, bool unit_in_use);

/* Whether text, a memory.* file of the unified hierarchy as read, shows
 * want as the kernel stores it: "max" on a line of its own for no limit,
 * else the byte count rounded down to whole pages of page bytes (0: no
 * rounding) in decimal without a leading zero, on a line of its own.
 * Anything else shows no value. */
bool mg_sd_file_holds(const char *text, uint64_t want, uint64_t page);

/* Whether mg_sd_control_dropin's file exists for the unit's property. */
bool mg_sd_has_control_dropin(const char *unit, const char *property);

/* Where SetUnitProperties(runtime=true) keeps the property of a transient
 * unit (a session scope) once it runs:
 * /run/systemd/transient/UNIT.d/50-PROPERTY.conf. */
int mg_sd_transient_dropin(const char *unit, const char *property, char *buf, size_t len);

/* A runtime value set after the unit was made: either drop-in exists. */
bool mg_sd_has_runtime_dropin(const char *unit, const char *property);

struct mg_caps;

enum mg_sd_want {
	MG_SD_WANT_NONE,  /* no rule sets it and no runtime value is left: not ours */
	MG_SD_WANT_SET,   /* a rule sets it: *want */
	MG_SD_WANT_RESET, /* no rule any more, a runtime value is left: back to the default */
};

/* What the property of key on a unit should hold: the value caps give,
 * else systemd's default when a runtime drop-in (has_runtime) is left
 * from a rule that is gone. The backend's and memguardctl apply's rule. */
enum mg_sd_want mg_sd_want(const struct mg_caps *caps, enum mg_key key, bool has_runtime, uint64_t *want);

#endif
