#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "readfile.h"

const char *ctl_prog = "memguardctl";

static void vmsg(const char *level, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", ctl_prog, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ctl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void ctl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

int ctl_usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", ctl_prog);
	return EXIT_USAGE;
}

uint64_t ctl_memtotal(const struct ctl *c)
{
	uint64_t memtotal = 0;

	static bool warned;

	/* Without MemTotal percentages stay unresolved; checks skip them. */
	if (mg_meminfo_get(c->meminfo, "MemTotal", &memtotal) < 0) {
		memtotal = 0;
		if (!warned)
			ctl_warn("cannot read MemTotal from %s: percentages are not checked", c->meminfo);
		warned = true;
	}
	return memtotal;
}

int ctl_load(struct ctl *c, struct mg_policy *p, const struct mg_load_override *ov, struct mg_diags *d)
{
	mg_policy_init(p, ctl_memtotal(c));
	return mg_policy_load_with(p, c->policy, c->policy_explicit ? 0 : MG_LOAD_MISSING_OK, ov, d);
}

/* The same pair of rules can clash for many users; say it once. */
static bool seen_before(const struct mg_diags *d, size_t i)
{
	const struct mg_diag *a = &d->v[i];
	const char *cut = strstr(a->msg, " (for ");
	size_t n = cut ? (size_t)(cut - a->msg) : strlen(a->msg);

	for (size_t j = 0; j < i; j++) {
		const struct mg_diag *b = &d->v[j];
		if (b->line == a->line && b->col == a->col && b->severity == a->severity &&
		    (a->file == b->file || (a->file && b->file && strcmp(a->file, b->file) == 0)) &&
		    strncmp(a->msg, b->msg, n) == 0)
			return true;
	}
	return false;
}

void ctl_print_diags(const struct mg_diags *d)
{
	char line[1024];

	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].line && seen_before(d, i))
			continue;
		mg_diag_format(&d->v[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (d->oom)
		fprintf(stderr, "%s: out of memory: some problems were not recorded\n", ctl_prog);
}

void json_strn(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

void json_str(FILE *f, const char *s)
{
	if (!s)
		fputs("null", f);
	else
		json_strn(f, s, strlen(s));
}
