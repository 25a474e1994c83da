/* memguardctl status: what systemd's manager and logind say is live, read
 * over the system bus. A unit's cgroup is its ControlGroup property as
 * the manager reports it, never a path guessed from the unit's name. */
#ifndef MEMGUARD_CLI_SDLIVE_H
#define MEMGUARD_CLI_SDLIVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mg_sdbus_conn;

/* The system bus, every call bounded by the same 2 s as the PAM module's;
 * the connection itself too. */
int sdlive_open(struct mg_sdbus_conn *bus);
void sdlive_close(struct mg_sdbus_conn *bus);

/* The ControlGroup of a loaded unit ("/user.slice/user-1000.slice");
 * -ENOENT when the unit is not loaded or has no cgroup (not running). */
int sdlive_unit_cgroup(struct mg_sdbus_conn *bus, const char *unit, char **cgroup);

/* A u64 property of a loaded unit (MemoryMax of a slice or scope);
 * -ENOENT when the unit is not loaded. */
int sdlive_unit_get_u64(struct mg_sdbus_conn *bus, const char *unit, const char *prop, uint64_t *v);

/* SetUnitProperties(unit, runtime=true, [(prop, t v)]): one property. */
int sdlive_unit_set_u64(struct mg_sdbus_conn *bus, const char *unit, const char *prop, uint64_t v);

/* logind's sessions of uid (every session for (uid_t)-1): their ids, in
 * logind's order. */
int sdlive_sessions(struct mg_sdbus_conn *bus, uid_t uid, char ***ids, size_t *n);

/* logind's users: the uids it tracks (logged in or lingering). */
int sdlive_users(struct mg_sdbus_conn *bus, uid_t **uids, size_t *n);

/* logind's Leader (the PAM caller's pid) and Timestamp (the login, in
 * microseconds since the epoch) of a session. */
int sdlive_session_info(struct mg_sdbus_conn *bus, const char *id, uint32_t *leader, uint64_t *since_usec);

/* The last D-Bus error's text, or strerror(-r). */
const char *sdlive_error(int r);

void sdlive_strv_free(char **v, size_t n);

#endif
