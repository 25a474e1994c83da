#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "policy.h"

static void bytes_text(uint64_t v, char *buf, size_t len)
{
	if (v == MG_CG_UNLIMITED)
		snprintf(buf, len, "max");
	else
		mg_bytes_format(v, buf, len);
}

int mg_pam_fail_as(pam_handle_t *pamh, const struct mg_args *a, int deny_code, const char *in_force,
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
	if (a->deny)
		pam_syslog(pamh, LOG_ERR, "%s; refusing the session (on_error=deny)", msg);
	else if (in_force)
		pam_syslog(pamh, LOG_ERR, "%s; %s (on_error=allow)", msg, in_force);
	else
		pam_syslog(pamh, LOG_ERR, "%s; letting the user in without limits (on_error=allow)", msg);
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

void mg_pam_describe_caps(const struct mg_caps *c, const char *prefix, const struct mg_cg_live *live, char *buf,
			  size_t len)
{
	static const char *names[] = { [MG_KEY_MEMORY_MAX] = "max", [MG_KEY_MEMORY_HIGH] = "high",
				       [MG_KEY_MEMORY_SWAP_MAX] = "swap.max", [MG_KEY_MEMORY_LOW] = "low",
				       [MG_KEY_MEMORY_MIN] = "min" };
	size_t n = strlen(buf);

	for (int k = 0; k <= MG_KEY_MEMORY_MIN && n < len; k++) {
		char v[32], w[32];

		if (!c->set[k])
			continue;
		bytes_text(c->bytes[k], w, sizeof(w));
		if (!live) {
			n += (size_t)snprintf(buf + n, len - n, " %s%s=%s", prefix, names[k], w);
		} else if (!live->has[k]) {
			n += (size_t)snprintf(buf + n, len - n, " %s%s=%s (not applied here)", prefix, names[k], w);
		} else if (live->bytes[k] == c->bytes[k]) {
			n += (size_t)snprintf(buf + n, len - n, " %s%s=%s", prefix, names[k], w);
		} else {
			/* What the kernel holds is what protects: the policy's value waits. */
			bytes_text(live->bytes[k], v, sizeof(v));
			n += (size_t)snprintf(buf + n, len - n, " %s%s=%s live, %s pending", prefix, names[k], v, w);
		}
	}
}

/* " key=N" when the kernel reports it. */
static void add_count(char *buf, size_t len, const char *key, bool has, uint64_t v)
{
	size_t n = strlen(buf);

	if (has && n < len)
		snprintf(buf + n, len - n, " %s=%llu", key, (unsigned long long)v);
}

static uint64_t since(uint64_t now, uint64_t then)
{
	return now >= then ? now - then : now;
}

void mg_pam_log_close_figures(pam_handle_t *pamh, const char *user, uid_t uid, const char *session_dir,
			      const struct mg_cg_events *sess, const struct mg_cg_events *now,
			      const struct mg_cg_events *user_at_open, bool shared)
{
	const struct mg_cg_events *u0 = user_at_open;
	char line[768];

	snprintf(line, sizeof(line), "session closed for %s (uid %u): group=%s", user, (unsigned)uid, session_dir);
	/* A shared group's figures are not this session's alone. */
	if (!shared) {
		add_count(line, sizeof(line), "peak", sess->has_peak, sess->peak);
		add_count(line, sizeof(line), "oom_kills", sess->has_oom_kills, sess->oom_kills);
	}
	add_count(line, sizeof(line), "user_oom_kills", now->has_oom_kills, since(now->oom_kills, u0->oom_kills));
	add_count(line, sizeof(line), "user_max_events", now->has_max, since(now->max, u0->max));
	add_count(line, sizeof(line), "user_high_events", now->has_high, since(now->high, u0->high));
	add_count(line, sizeof(line), "user_peak", now->has_peak, now->peak);
	pam_syslog(pamh, LOG_INFO, "%s", line);
}

void mg_pam_log_close_record(pam_handle_t *pamh, const char *user, uid_t uid, int version, const char *session_dir,
			     const char *user_dir, const struct mg_cg_events *user_at_open, bool shared)
{
	struct mg_cg_events sess, now;
	size_t ul = strlen(user_dir);
	int ufd;

	/* The session group sits right below the user's: both read in one pass. */
	if (strncmp(session_dir, user_dir, ul) == 0 && session_dir[ul] == '/' && !strchr(session_dir + ul + 1, '/') &&
	    (ufd = open(user_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		mg_cg_read_session_events(version, ufd, session_dir + ul + 1, &sess, &now);
		close(ufd);
	} else {
		mg_cg_read_events(version, session_dir, false, &sess);
		mg_cg_read_events(version, user_dir, true, &now);
	}
	mg_pam_log_close_figures(pamh, user, uid, session_dir, &sess, &now, user_at_open, shared);
}
