#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "policy.h"

int mg_pam_fail_as(pam_handle_t *pamh, const struct mg_args *a, int deny_code, enum mg_fail_outcome outcome,
		   const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (a->cleanup_only) {
		pam_syslog(pamh, LOG_ERR, "%s; no rule limits this user, letting them in", msg);
		return PAM_SUCCESS;
	}
	pam_syslog(pamh, LOG_ERR, "%s; %s", msg,
		   a->deny			     ? "refusing the session (on_error=deny)"
		   : outcome == MG_FAIL_REST_APPLIED ? "the rest of the policy applies (on_error=allow)"
						     : "letting the user in without limits (on_error=allow)");
	return a->deny ? deny_code : PAM_SUCCESS;
}

void mg_pam_log_note(pam_handle_t *pamh, const struct mg_diag *diag)
{
	char line[1024];

	mg_diag_format(diag, line, sizeof(line));
	pam_syslog(pamh, diag->severity == MG_ERROR ? LOG_ERR : LOG_WARNING, "%s", line);
}

void mg_pam_log_notes(pam_handle_t *pamh, const struct mg_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		mg_pam_log_note(pamh, &d->v[i]);
}

const struct mg_diag *mg_pam_log_notes_but_cause(pam_handle_t *pamh, const struct mg_diags *d)
{
	const struct mg_diag *cause = NULL;

	for (size_t i = d->n; i-- > 0 && !cause;)
		if (d->v[i].severity == MG_ERROR)
			cause = &d->v[i];
	for (size_t i = 0; i < d->n; i++)
		if (&d->v[i] != cause)
			mg_pam_log_note(pamh, &d->v[i]);
	return cause;
}

void mg_pam_describe_caps(const struct mg_caps *c, const char *prefix, char *buf, size_t len)
{
	static const char *names[] = { [MG_KEY_MEMORY_MAX] = "max", [MG_KEY_MEMORY_HIGH] = "high",
				       [MG_KEY_MEMORY_SWAP_MAX] = "swap.max", [MG_KEY_MEMORY_LOW] = "low",
				       [MG_KEY_MEMORY_MIN] = "min" };
	size_t n = strlen(buf);

	for (int k = 0; k <= MG_KEY_MEMORY_MIN && n < len; k++) {
		char v[32];
		if (!c->set[k])
			continue;
		if (c->bytes[k] == MG_CG_UNLIMITED)
			snprintf(v, sizeof(v), "max");
		else
			mg_bytes_format(c->bytes[k], v, sizeof(v));
		n += (size_t)snprintf(buf + n, len - n, " %s%s=%s", prefix, names[k], v);
	}
}
