#include "symbolized.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "safe_text.h"
#include "shimlog.h"
#include "symbolizer.h"

/* The failure context: nested under "context" in JSON, as the shim's own
 * JSON format has it. */
static const char *const context_keys[] = {
	"overcommit", "commit_limit_kb", "committed_as_kb", "vm_size_kb", "vm_rss_kb", "rlimit_as",
	"cgroup_version", "cgroup", "cgroup_limit", "cgroup_limit_group", "cgroup_usage",
};

int symbolized_init(struct symbolized *s, FILE *out, bool json)
{
	memset(s, 0, sizeof(*s));
	s->sym = mg_symbolizer_new();
	s->out = out;
	s->json = json;
	return s->sym ? 0 : -ENOMEM;
}

void symbolized_free(struct symbolized *s)
{
	for (size_t i = 0; i < s->nwarned; i++)
		free(s->warned[i]);
	free(s->warned);
	mg_symbolizer_free(s->sym);
}

static void hex_id(char *buf, const unsigned char *id, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sprintf(buf + 2 * i, "%02x", id[i]);
	buf[2 * len] = '\0';
}

/* Once per module: why its frames stay module+offset. */
static void warn_module(struct symbolized *s, struct mg_span module, const struct mg_shim_module *logged,
			const struct mg_sym_result *r)
{
	char was[2 * MG_SHIM_BUILD_ID_MAX + 1], now[2 * MG_SHIM_BUILD_ID_MAX + 1];
	char **nw;

	for (size_t i = 0; i < s->nwarned; i++)
		if (strlen(s->warned[i]) == module.len && memcmp(s->warned[i], module.p, module.len) == 0)
			return;
	nw = realloc(s->warned, (s->nwarned + 1) * sizeof(*nw));
	if (!nw)
		return;
	s->warned = nw;
	s->warned[s->nwarned] = strndup(module.p, module.len);
	if (!s->warned[s->nwarned])
		return;
	s->nwarned++;
	char *safe = malloc(MG_SAFE_TEXT_SIZE(module.len));
	if (!safe)
		return;
	mg_safe_text(safe, MG_SAFE_TEXT_SIZE(module.len), module.p, module.len);
	switch (r->status) {
	case MG_SYM_REBUILT:
		hex_id(was, logged->build_id, logged->build_id_len);
		/* A file's note may be any size: show what fits. */
		hex_id(now, r->disk_build_id,
		       r->disk_build_id_len > MG_SHIM_BUILD_ID_MAX ? MG_SHIM_BUILD_ID_MAX : r->disk_build_id_len);
		ctl_warn("%s was rebuilt after the log was written (build-id %s in the log, %s now): "
			 "its frames are left as module+offset",
			 safe, was, now[0] ? now : "none");
		break;
	case MG_SYM_MISSING:
		ctl_warn("%s: not found: its frames are left as module+offset", safe);
		break;
	case MG_SYM_UNREADABLE:
		ctl_warn("%s: not a readable ELF file: its frames are left as module+offset", safe);
		break;
	default:
		break;
	}
	free(safe);
}

static const struct mg_sym_result *look_up(struct symbolized *s, const struct mg_shim_line *l,
					   const struct mg_shim_frame *f, int *err)
{
	const struct mg_shim_module *m;
	const struct mg_sym_result *r = NULL;

	*err = 0;
	if (!f->located || mg_span_eq(f->module, "?"))
		return NULL;
	m = mg_shimlog_module(l, f->module);
	*err = mg_symbolize(s->sym, f->module.p, f->module.len, m ? m->build_id : NULL, m ? m->build_id_len : 0,
			    f->offset, &r);
	if (*err < 0)
		return NULL;
	/* The vDSO has no file: say nothing about it. */
	if (r->status == MG_SYM_REBUILT || r->status == MG_SYM_UNREADABLE ||
	    (r->status == MG_SYM_MISSING && memchr(f->module.p, '/', f->module.len)))
		warn_module(s, f->module, m, r);
	return r;
}

static const char *problem_name(enum mg_sym_status st)
{
	switch (st) {
	case MG_SYM_REBUILT:
		return "rebuilt";
	case MG_SYM_MISSING:
		return "missing";
	case MG_SYM_UNREADABLE:
		return "unreadable";
	default:
		return NULL;
	}
}

/* ---- text ---- */

/* A log is written by the programs it traces, DWARF by whoever built the
 * binary: neither may move the cursor or forge a line on the terminal. */
static void put_safe(FILE *o, const char *s, size_t len)
{
	char buf[MG_SAFE_TEXT_SIZE(256)];

	while (len) {
		size_t used = mg_safe_text(buf, sizeof(buf), s, len > 256 ? 256 : len);
		if (used == 0)
			break;
		fputs(buf, o);
		s += used;
		len -= used;
	}
}

static void put_safe_str(FILE *o, const char *s)
{
	put_safe(o, s, strlen(s));
}

static void put_span(FILE *o, struct mg_span sp)
{
	put_safe(o, sp.p, sp.len);
}

static void text_where(FILE *o, const struct mg_sym_loc *l)
{
	put_safe_str(o, l->function ? l->function : "??");
	if (l->file) {
		fputs(" at ", o);
		put_safe_str(o, l->file);
		if (l->line)
			fprintf(o, ":%d", l->line);
	}
}

static void text_module(FILE *o, const struct mg_shim_frame *f)
{
	put_span(o, f->module);
	fprintf(o, "+0x%llx", (unsigned long long)f->offset);
}

static int text_frame(struct symbolized *s, const struct mg_shim_line *l, size_t i)
{
	const struct mg_shim_frame *f = &l->frames[i];
	const struct mg_sym_result *r;
	FILE *o = s->out;
	int err;

	r = look_up(s, l, f, &err);
	if (err < 0)
		return err;
	if (!f->located) {
		if (f->has_addr)
			fprintf(o, "  #%zu 0x%llx\n", i, (unsigned long long)f->addr);
		else
			fprintf(o, "  #%zu ?\n", i);
		return 0;
	}
	if (r && r->status == MG_SYM_FOUND) {
		for (size_t k = 0; k + 1 < r->nlocs; k++) {
			fprintf(o, "  #%zu ", i);
			text_where(o, &r->locs[k]);
			fputs(" (inlined)\n", o);
		}
		fprintf(o, "  #%zu ", i);
		text_where(o, &r->locs[r->nlocs - 1]);
		fputs(" (", o);
		text_module(o, f);
		fputs(")\n", o);
		return 0;
	}
	fprintf(o, "  #%zu ", i);
	/* What the shim's dladdr found is still true of a rebuilt binary:
	 * it was read from the running process. */
	if (f->has_sym) {
		put_span(o, f->sym);
		fprintf(o, "+0x%llx (", (unsigned long long)f->sym_off);
	}
	text_module(o, f);
	if (f->has_sym)
		fputc(')', o);
	if (r && problem_name(r->status))
		fprintf(o, " [%s]", r->status == MG_SYM_REBUILT ? "rebuilt since the log was written"
				    : r->status == MG_SYM_MISSING ? "not found"
								   : "unreadable");
	fputc('\n', o);
	return 0;
}

static int render_text(struct symbolized *s, const char *line, const struct mg_shim_line *l)
{
	FILE *o = s->out;

	/* Everything up to the time stamp as it was (a syslog header too). */
	put_safe(o, line, (size_t)(l->time.p + l->time.len - line));
	for (size_t i = 0; i < l->nfields; i++) {
		const struct mg_shim_field *f = &l->fields[i];
		fputc(' ', o);
		if (!mg_span_eq(f->key, "message")) {
			put_span(o, f->key);
			fputc('=', o);
		}
		put_span(o, f->value);
	}
	fputc('\n', o);
	for (size_t i = 0; i < l->nframes; i++) {
		int r = text_frame(s, l, i);
		if (r < 0)
			return r;
	}
	if (l->cut)
		fputs("  (the shim cut this line: frames may be missing)\n", o);
	return 0;
}

/* ---- JSON ---- */

static bool is_context_key(struct mg_span k)
{
	for (size_t i = 0; i < sizeof(context_keys) / sizeof(context_keys[0]); i++)
		if (mg_span_eq(k, context_keys[i]))
			return true;
	return false;
}

/* Numbers as numbers, the shim's "unknown" and NULL as null, the rest as
 * strings (sizes "max", "unlimited", names). */
static void json_value(FILE *o, const struct mg_shim_field *f)
{
	struct mg_span v = f->value;
	size_t i = v.len && v.p[0] == '-' ? 1 : 0;
	bool digits = i < v.len && v.len - i <= 19;

	for (size_t k = i; digits && k < v.len; k++)
		digits = v.p[k] >= '0' && v.p[k] <= '9';
	if (mg_span_eq(f->key, "injected") && mg_span_eq(v, "1"))
		fputs("true", o);
	else if (digits)
		fwrite(v.p, 1, v.len, o);
	else if (mg_span_eq(v, "-") || mg_span_eq(v, "NULL"))
		fputs("null", o);
	else
		json_strn(o, v.p, v.len);
}

static void json_field(FILE *o, const struct mg_shim_field *f)
{
	fputc(',', o);
	json_strn(o, f->key.p, f->key.len);
	fputc(':', o);
	json_value(o, f);
}

static void json_loc(FILE *o, const struct mg_shim_frame *f, const struct mg_shim_module *m,
		     const struct mg_sym_loc *l, const char *problem)
{
	char id[2 * MG_SHIM_BUILD_ID_MAX + 1];

	fputs("{\"module\":", o);
	json_strn(o, f->module.p, f->module.len);
	if (f->located)
		fprintf(o, ",\"offset\":\"0x%llx\"", (unsigned long long)f->offset);
	if (f->has_addr)
		fprintf(o, ",\"addr\":\"0x%llx\"", (unsigned long long)f->addr);
	if (m) {
		hex_id(id, m->build_id, m->build_id_len);
		fprintf(o, ",\"build_id\":\"%s\"", id);
	}
	if (l) {
		fputs(",\"function\":", o);
		json_str(o, l->function);
		if (l->file) {
			fputs(",\"file\":", o);
			json_str(o, l->file);
		}
		if (l->line)
			fprintf(o, ",\"line\":%d", l->line);
		if (l->column)
			fprintf(o, ",\"column\":%d", l->column);
		fprintf(o, ",\"inlined\":%s", l->inlined ? "true" : "false");
	} else if (f->has_sym) {
		fputs(",\"symbol\":", o);
		json_strn(o, f->sym.p, f->sym.len);
		fprintf(o, ",\"symbol_offset\":\"0x%llx\"", (unsigned long long)f->sym_off);
	}
	if (problem)
		fprintf(o, ",\"problem\":\"%s\"", problem);
	fputc('}', o);
}

static int render_json(struct symbolized *s, const struct mg_shim_line *l)
{
	FILE *o = s->out;
	bool ctx = false, first = true;

	fputs("{\"time\":", o);
	json_strn(o, l->time.p, l->time.len);
	for (size_t i = 0; i < l->nfields; i++)
		if (!is_context_key(l->fields[i].key))
			json_field(o, &l->fields[i]);
	for (size_t i = 0; i < l->nfields; i++) {
		if (!is_context_key(l->fields[i].key))
			continue;
		fputs(ctx ? "," : ",\"context\":{", o);
		json_strn(o, l->fields[i].key.p, l->fields[i].key.len);
		fputc(':', o);
		json_value(o, &l->fields[i]);
		ctx = true;
	}
	if (ctx)
		fputc('}', o);
	if (l->has_backtrace) {
		fputs(",\"backtrace\":[", o);
		for (size_t i = 0; i < l->nframes; i++) {
			const struct mg_shim_frame *f = &l->frames[i];
			const struct mg_shim_module *m = f->located ? mg_shimlog_module(l, f->module) : NULL;
			const struct mg_sym_result *r;
			int err;

			r = look_up(s, l, f, &err);
			if (err < 0)
				return err;
			if (r && r->status == MG_SYM_FOUND) {
				for (size_t k = 0; k < r->nlocs; k++) {
					fputs(first ? "" : ",", o);
					json_loc(o, f, m, &r->locs[k], NULL);
					first = false;
				}
			} else {
				fputs(first ? "" : ",", o);
				json_loc(o, f, m, NULL, r ? problem_name(r->status) : NULL);
				first = false;
			}
		}
		fputc(']', o);
	}
	if (l->cut)
		fputs(",\"cut\":true", o);
	fputs("}\n", o);
	return 0;
}

int symbolized_stream(struct symbolized *s, FILE *in, const char *name)
{
	struct mg_shim_line *l = malloc(sizeof(*l));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int r = 0;

	if (!l)
		return -ENOMEM;
	while ((n = getline(&line, &cap, in)) > 0) {
		int p = mg_shimlog_parse(line, (size_t)n, l);

		s->lines++;
		if (p == 0) {
			s->reports++;
			r = s->json ? render_json(s, l) : render_text(s, line, l);
			if (r < 0)
				break;
			continue;
		}
		if (p == -EINVAL)
			ctl_warn("%s:%lu: a memguard line whose backtrace cannot be read, passed on as it is", name,
				 s->lines);
		if (!s->json) {
			size_t len = (size_t)n - (line[n - 1] == '\n');
			put_safe(s->out, line, len);
			fputc('\n', s->out);
		}
	}
	if (r == 0 && ferror(in)) {
		ctl_err("%s: read error: %s", name, strerror(errno));
		r = -EIO;
	}
	free(line);
	free(l);
	return r;
}
