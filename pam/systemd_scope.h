/* A scope of the module's own for sessions that logind does not track
 * (the systemd backend; see systemd_scope.c for why). */
#ifndef MEMGUARD_PAM_SYSTEMD_SCOPE_H
#define MEMGUARD_PAM_SYSTEMD_SCOPE_H

#include <stddef.h>
#include <sys/types.h>

#include "cgroup.h"
#include "sdbus.h"

/* Moves the caller into a new transient scope in user-UID.slice that
 * carries the session's MemoryMax and MemoryHigh, and waits until the
 * kernel shows it there (within the connection's time bound). unit gets
 * the scope's name. -errno, the manager's words in e. */
int mg_sd_scope_enter(struct mg_sdbus_conn *bus, uid_t uid, const struct mg_caps *session, char *unit, size_t ulen,
		      sd_bus_error *e);

#endif
