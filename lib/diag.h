/* Problems found in a policy, each tied to file:line:column, collected so
 * that one run reports all of them. Library code never prints: callers do. */
#ifndef MEMGUARD_DIAG_H
#define MEMGUARD_DIAG_H

#include <stdbool.h>
#include <stddef.h>

enum mg_severity {
	MG_WARNING,
	MG_ERROR,
	MG_NOTE, /* worth knowing, no problem: counted neither as error nor warning */
};

enum mg_diag_kind {
	MG_DIAG_CONTENT, /* what the policy says */
	MG_DIAG_ACCESS,  /* whether it can be read at all */
	MG_DIAG_TRUST,   /* ownership and mode the module insists on */
};

struct mg_diag {
	char *file; /* NULL: not about one file */
	unsigned line, col; /* 0: not known */
	enum mg_severity severity;
	enum mg_diag_kind kind;
	char *msg;
};

struct mg_diags {
	struct mg_diag *v;
	size_t n, cap;
	size_t errors, warnings, notes;
	bool oom; /* a diagnostic was lost for want of memory */
};

__attribute__((format(printf, 7, 8)))
void mg_diag_add(struct mg_diags *d, enum mg_severity sev, enum mg_diag_kind kind,
		 const char *file, unsigned line, unsigned col, const char *fmt, ...);

/* Errors of the given kinds only (bit (1 << kind)). */
size_t mg_diags_count_errors(const struct mg_diags *d, unsigned kinds);

/* "error", "warning" or "note". */
const char *mg_severity_name(enum mg_severity sev);

/* "file:line:col: error: msg" into buf; the same wording everywhere. */
void mg_diag_format(const struct mg_diag *diag, char *buf, size_t buflen);

/* Drops the diagnostics after the first n: what a retried step said. */
void mg_diags_truncate(struct mg_diags *d, size_t n);

void mg_diags_free(struct mg_diags *d);

#endif
