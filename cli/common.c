#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "ctl.h"
#include "readfile.h"
#include "safe_text.h"

const char *ctl_prog = "memguardctl";

/* Messages quote names and file names: none reaches the terminal raw. */
static void vmsg(const char *level, const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	fprintf(stderr, "%s: %s%s\n", ctl_prog, level, msg ? ctl_safe(msg) : fmt);
	free(msg);
}

/* A ring of buffers, so that one printf may take several. */
#define SAFE_RING 8

const char *ctl_safe(const char *s)
{
	static char *ring[SAFE_RING];
	static size_t next;
	size_t len = strlen(s), need = MG_SAFE_TEXT_SIZE(len);
	char **slot = &ring[next++ % SAFE_RING];
	char *b = realloc(*slot, need);

	if (!b)
		return "(out of memory)";
	*slot = b;
	mg_safe_text(b, need, s, len);
	return b;
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

int ctl_cgroup_version(const struct ctl *c)
{
	struct mg_cg cg;
	int version;

	if (mg_cg_detect(c->cgroup_root, &cg) < 0)
		return 0;
	version = cg.version;
	mg_cg_free(&cg);
	return version;
}

int ctl_load(struct ctl *c, struct mg_policy *p, const struct mg_load_override *ov, struct mg_diags *d)
{
	mg_policy_init(p, ctl_memtotal(c));
	return mg_policy_load_with(p, c->policy, c->policy_explicit ? 0 : MG_LOAD_MISSING_OK, ov, d);
}

static size_t dedupe_len(const struct mg_diag *g)
{
	const char *cut = strstr(g->msg, " (for ");

	return cut ? (size_t)(cut - g->msg) : strlen(g->msg);
}

static const struct mg_diags *sort_diags;

static int cmp_diag(const void *a, const void *b)
{
	const struct mg_diag *x = &sort_diags->v[*(const size_t *)a], *y = &sort_diags->v[*(const size_t *)b];
	int c = strcmp(x->file ? x->file : "", y->file ? y->file : "");
	size_t lx, ly;

	if (!c)
		c = x->line != y->line ? (x->line < y->line ? -1 : 1) : 0;
	if (!c)
		c = x->col != y->col ? (x->col < y->col ? -1 : 1) : 0;
	if (!c)
		c = (int)x->severity - (int)y->severity;
	if (!c) { /* only now: most problems differ in their place */
		lx = dedupe_len(x);
		ly = dedupe_len(y);
		c = lx != ly ? (lx < ly ? -1 : 1) : memcmp(x->msg, y->msg, lx);
	}
	if (!c) /* the first found stays */
		c = *(const size_t *)a < *(const size_t *)b ? -1 : 1;
	return c;
}

static void print_diag_lines(const struct mg_diags *d, const bool *dup, FILE *out)
{
	char line[1024];

	for (size_t i = 0; i < d->n; i++) {
		if (dup && dup[i])
			continue;
		/* Not about one file: a message of this program. */
		if (!d->v[i].file)
			snprintf(line, sizeof(line), "%s: %s: %s", ctl_prog, mg_severity_name(d->v[i].severity),
				 d->v[i].msg);
		else
			mg_diag_format(&d->v[i], line, sizeof(line));
		fprintf(out, "%s\n", ctl_safe(line));
	}
	if (d->oom)
		fprintf(out, "%s: out of memory: some problems were not recorded\n", ctl_prog);
}

/* The same pair of rules can clash for many users: say it once, in the
 * order found. Sorting keeps this O(n log n) for huge policies. */
void ctl_print_diags(const struct mg_diags *d)
{
	size_t *order = malloc((d->n + 1) * sizeof(*order));
	bool *dup = calloc(d->n + 1, sizeof(*dup));
	char *buf = NULL;
	size_t buflen = 0;
	FILE *text;

	if (order && dup) {
		for (size_t i = 0; i < d->n; i++)
			order[i] = i;
		sort_diags = d;
		qsort(order, d->n, sizeof(*order), cmp_diag);
		for (size_t i = 1; i < d->n; i++) {
			const struct mg_diag *a = &d->v[order[i - 1]], *b = &d->v[order[i]];
			if (b->line && a->line == b->line && a->col == b->col && a->severity == b->severity &&
			    strcmp(a->file ? a->file : "", b->file ? b->file : "") == 0 &&
			    dedupe_len(a) == dedupe_len(b) && memcmp(a->msg, b->msg, dedupe_len(a)) == 0)
				dup[order[i]] = true;
		}
	}
	/* stderr is unbuffered: thousands of problems were as many writes.
	 * They go out in one, or line by line when memory is short. */
	text = open_memstream(&buf, &buflen);
	if (text) {
		print_diag_lines(d, dup, text);
		if (fflush(text) == 0)
			fwrite(buf, 1, buflen, stderr);
		else
			print_diag_lines(d, dup, stderr);
		fclose(text);
	} else {
		print_diag_lines(d, dup, stderr);
	}
	free(buf);
	free(order);
	free(dup);
}

void json_strn(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x80) {
			size_t n = mg_utf8_len((const unsigned char *)s + i, len - i);
			if (n == 2 && ch == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {
				fprintf(f, "\\u%04x", (unsigned char)s[i + 1]); /* C1 controls */
				i++;
			} else if (n) {
				fwrite(s + i, 1, n, f);
				i += n - 1;
			} else {
				fputs("\\ufffd", f); /* a byte that is not UTF-8: U+FFFD */
			}
		} else if (ch == '"' || ch == '\\')
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
