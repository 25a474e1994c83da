#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mg_diag_add(struct mg_diags *d, enum mg_severity sev, enum mg_diag_kind kind,
		 const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
	struct mg_diag *slot;
	va_list ap;
	char *msg = NULL;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct mg_diag *v = realloc(d->v, cap * sizeof(*v));
		if (!v) {
			d->oom = true;
			goto count;
		}
		d->v = v;
		d->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg) {
		d->oom = true;
		goto count;
	}
	slot = &d->v[d->n++];
	slot->file = file ? strdup(file) : NULL;
	slot->line = line;
	slot->col = col;
	slot->severity = sev;
	slot->kind = kind;
	slot->msg = msg;
count:
	if (sev == MG_ERROR)
		d->errors++;
	else if (sev == MG_NOTE)
		d->notes++;
	else
		d->warnings++;
}

const char *mg_severity_name(enum mg_severity sev)
{
	return sev == MG_ERROR ? "error" : sev == MG_NOTE ? "note" : "warning";
}

size_t mg_diags_count_errors(const struct mg_diags *d, unsigned kinds)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == MG_ERROR && (kinds & (1u << d->v[i].kind)))
			n++;
	return n;
}

void mg_diag_format(const struct mg_diag *diag, char *buf, size_t buflen)
{
	const char *sev = mg_severity_name(diag->severity);
	const char *file = diag->file ? diag->file : "memguard";

	if (diag->line && diag->col)
		snprintf(buf, buflen, "%s:%u:%u: %s: %s", file, diag->line, diag->col, sev, diag->msg);
	else if (diag->line)
		snprintf(buf, buflen, "%s:%u: %s: %s", file, diag->line, sev, diag->msg);
	else
		snprintf(buf, buflen, "%s: %s: %s", file, sev, diag->msg);
}

void mg_diags_truncate(struct mg_diags *d, size_t n)
{
	while (d->n > n) {
		struct mg_diag *g = &d->v[--d->n];

		if (g->severity == MG_ERROR)
			d->errors--;
		else if (g->severity == MG_NOTE)
			d->notes--;
		else
			d->warnings--;
		free(g->file);
		free(g->msg);
	}
}

void mg_diags_free(struct mg_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
