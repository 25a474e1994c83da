/* How the module reports: every failure through on_error, notes from the
 * library at their severity, caps in one summary line. */
#ifndef MEMGUARD_PAM_LOG_H
#define MEMGUARD_PAM_LOG_H

#include <stddef.h>

#include <security/pam_modules.h>

#include "args.h"
#include "cgroup.h"
#include "diag.h"

/* Logs the failure and what on_error makes of it: PAM_SUCCESS (allow) or
 * deny_code (deny). */
int mg_pam_fail(pam_handle_t *pamh, const struct mg_args *a, int deny_code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

void mg_pam_log_notes(pam_handle_t *pamh, const struct mg_diags *d);

/* Appends " PREFIXmax=4G PREFIXhigh=3G ..." for the caps that are set. */
void mg_pam_describe_caps(const struct mg_caps *c, const char *prefix, char *buf, size_t len);

#endif
