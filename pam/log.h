/* How the module reports: every failure through on_error, one log line per
 * failure, notes from the library at their severity, caps in one summary
 * line. */
#ifndef MEMGUARD_PAM_LOG_H
#define MEMGUARD_PAM_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <security/pam_modules.h>

#include "args.h"
#include "cgroup.h"
#include "diag.h"

/* Logs the failure and what on_error makes of it: PAM_SUCCESS (allow) or
 * deny_code (deny). in_force says exactly what on_error=allow leaves
 * applied ("the rest of the policy applies"); NULL: nothing. */
int mg_pam_fail_as(pam_handle_t *pamh, const struct mg_args *a, int deny_code, const char *in_force,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define mg_pam_fail(pamh, a, code, ...) mg_pam_fail_as(pamh, a, code, NULL, __VA_ARGS__)

void mg_pam_log_note(pam_handle_t *pamh, const struct mg_diag *diag);
void mg_pam_log_notes(pam_handle_t *pamh, const struct mg_diags *d);

/* Logs every note but the last error, whose text the caller puts into its
 * own failure line; NULL when there is no error. */
const struct mg_diag *mg_pam_log_notes_but_cause(pam_handle_t *pamh, const struct mg_diags *d);

/* Appends " PREFIXmax=4G PREFIXhigh=3G ..." for the caps that are set;
 * with live (what the group holds now), a value the group does not hold
 * reads " PREFIXmax=150M live, 100M pending". */
void mg_pam_describe_caps(const struct mg_caps *c, const char *prefix, const struct mg_cg_live *live, char *buf,
			  size_t len);

/* The close-session record: the session group's peak and OOM kills, and
 * what the user group counted since user_at_open (read at open; zeros
 * when it did not exist then). Read before the groups go. shared: the
 * session group is not this session's alone, its own figures are left
 * out. */
/* The same line from figures the caller read (sess: the session
 * group's, now: the user group's). */
void mg_pam_log_close_figures(pam_handle_t *pamh, const char *user, uid_t uid, const char *session_dir,
			      const struct mg_cg_events *sess, const struct mg_cg_events *now,
			      const struct mg_cg_events *user_at_open, bool shared);
void mg_pam_log_close_record(pam_handle_t *pamh, const char *user, uid_t uid, int version, const char *session_dir,
			     const char *user_dir, const struct mg_cg_events *user_at_open, bool shared);

#endif
