#include "shimlog.h"

#include <errno.h>
#include <string.h>

bool mg_span_eq(struct mg_span a, const char *s)
{
	size_t n = strlen(s);

	return a.len == n && memcmp(a.p, s, n) == 0;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int hex_val(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* "0x1f" at p (no more than len bytes); returns the bytes used or 0. */
static size_t parse_hex(const char *p, size_t len, uint64_t *out)
{
	size_t i = 2;
	uint64_t v = 0;

	if (len < 3 || p[0] != '0' || p[1] != 'x' || !is_hex(p[2]))
		return 0;
	for (; i < len && is_hex(p[i]); i++) {
		if (v >> 60)
			return 0;
		v = v << 4 | (uint64_t)hex_val(p[i]);
	}
	*out = v;
	return i;
}

/* ---- Where a report starts: one row per way the shim's lines reach a log. */

/* Returns the offset of the time stamp after the matched prefix, or -1. */
typedef long (*start_fn)(const char *line, size_t len, size_t at);

/* "memguard: TIME" (stderr, a MEMGUARD_LOG file, journalctl -o cat of a
 * line that fell back to stderr). */
static long start_plain(const char *line, size_t len, size_t at)
{
	static const char tag[] = "memguard: ";

	if (len - at < sizeof(tag) - 1 || memcmp(line + at, tag, sizeof(tag) - 1) != 0)
		return -1;
	return (long)(at + sizeof(tag) - 1);
}

/* "memguard[PID]: TIME" (syslog: "<PRI>memguard[..]: " or a syslog file's
 * "Dec  1 12:00:00 host memguard[..]: "). */
static long start_syslog(const char *line, size_t len, size_t at)
{
	static const char tag[] = "memguard[";
	size_t i = at + sizeof(tag) - 1;

	if (len - at < sizeof(tag) - 1 || memcmp(line + at, tag, sizeof(tag) - 1) != 0)
		return -1;
	while (i < len && line[i] >= '0' && line[i] <= '9')
		i++;
	if (i == at + sizeof(tag) - 1 || len - i < 3 || memcmp(line + i, "]: ", 3) != 0)
		return -1;
	return (long)(i + 3);
}

static const start_fn line_starts[] = { start_plain, start_syslog };

/* 2026-11-29T01:18:54.575Z */
static bool is_time(const char *p, size_t n)
{
	return n >= 20 && p[0] >= '0' && p[0] <= '9' && memchr(p, 'T', n) && p[n - 1] == 'Z';
}

/* ---- Fields: one row per key that needs more than key=value. */

static int take_modules(struct mg_shim_line *l, struct mg_span v);
static int take_backtrace(struct mg_shim_line *l, struct mg_span v);

static const struct {
	const char *key;
	int (*take)(struct mg_shim_line *l, struct mg_span v);
} special_fields[] = {
	{ "modules", take_modules },
	{ "backtrace", take_backtrace },
};

/* PATH@HEX,PATH@HEX: split at the last '@' of each item. */
static int take_modules(struct mg_shim_line *l, struct mg_span v)
{
	const char *p = v.p, *end = v.p + v.len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *item_end = comma ? comma : end, *at = NULL;
		struct mg_shim_module *m;
		size_t hex;

		for (const char *q = p; q < item_end; q++)
			if (*q == '@')
				at = q;
		if (!at || at == p || l->nmodules == MG_SHIM_FRAMES_MAX)
			return -EINVAL;
		hex = (size_t)(item_end - at - 1);
		if (hex == 0 || hex % 2 || hex / 2 > MG_SHIM_BUILD_ID_MAX)
			return -EINVAL;
		m = &l->modules[l->nmodules];
		for (size_t i = 0; i < hex; i += 2) {
			if (!is_hex(at[1 + i]) || !is_hex(at[2 + i]))
				return -EINVAL;
			m->build_id[i / 2] = (unsigned char)(hex_val(at[1 + i]) << 4 | hex_val(at[2 + i]));
		}
		m->build_id_len = hex / 2;
		m->path.p = p;
		m->path.len = (size_t)(at - p);
		l->nmodules++;
		p = comma ? comma + 1 : end;
	}
	return 0;
}

/* [0xADDR:]MODULE+0xOFF[:SYM+0xOFF] or [0xADDR:]? */
static int take_frame(struct mg_shim_frame *f, const char *p, size_t n)
{
	size_t used;

	memset(f, 0, sizeof(*f));
	used = parse_hex(p, n, &f->addr);
	if (used && used < n && p[used] == ':') {
		f->has_addr = true;
		p += used + 1;
		n -= used + 1;
	} else if (used == n && used) {
		return -EINVAL; /* an address and nothing else */
	}
	if (n == 1 && p[0] == '?') {
		f->module.p = p;
		f->module.len = 1;
		return 0;
	}
	/* The module ends at the first "+0xHEX" followed by ':' or the end:
	 * a path may hold '+', a symbol never holds ':'. */
	for (size_t i = 1; i + 3 <= n; i++) {
		if (p[i] != '+')
			continue;
		used = parse_hex(p + i + 1, n - i - 1, &f->offset);
		if (!used)
			continue;
		size_t after = i + 1 + used;
		if (after != n && p[after] != ':')
			continue;
		f->module.p = p;
		f->module.len = i;
		f->located = true;
		if (after == n)
			return 0;
		const char *s = p + after + 1;
		size_t sn = n - after - 1;
		for (size_t j = sn; j-- > 1;) {
			if (s[j] != '+')
				continue;
			if (parse_hex(s + j + 1, sn - j - 1, &f->sym_off) != sn - j - 1)
				return -EINVAL;
			f->has_sym = true;
			f->sym.p = s;
			f->sym.len = j;
			return 0;
		}
		return -EINVAL;
	}
	return -EINVAL;
}

static int take_backtrace(struct mg_shim_line *l, struct mg_span v)
{
	const char *p = v.p, *end = v.p + v.len;

	l->has_backtrace = true;
	if (v.len == 1 && v.p[0] == '-')
		return 0;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *item_end = comma ? comma : end;

		if (l->nframes == MG_SHIM_FRAMES_MAX)
			return -EINVAL;
		/* A cut line ends in a partial frame: keep those before it. */
		if (take_frame(&l->frames[l->nframes], p, (size_t)(item_end - p)) < 0)
			return l->cut && !comma ? 0 : -EINVAL;
		l->nframes++;
		p = comma ? comma + 1 : end;
	}
	/* Its last frame may have lost digits. */
	if (l->cut && l->nframes)
		l->nframes--;
	return 0;
}

static int add_field(struct mg_shim_line *l, const char *k, size_t kn, const char *v, size_t vn)
{
	struct mg_shim_field *f;

	for (size_t i = 0; i < sizeof(special_fields) / sizeof(special_fields[0]); i++)
		if (strlen(special_fields[i].key) == kn && memcmp(special_fields[i].key, k, kn) == 0)
			return special_fields[i].take(l, (struct mg_span){ v, vn });
	if (l->nfields == MG_SHIM_FIELDS_MAX)
		return -EINVAL;
	f = &l->fields[l->nfields++];
	f->key = (struct mg_span){ k, kn };
	f->value = (struct mg_span){ v, vn };
	if (kn == 5 && memcmp(k, "event", 5) == 0)
		l->event = f->value;
	return 0;
}

int mg_shimlog_parse(const char *line, size_t len, struct mg_shim_line *l)
{
	long start = -1;
	size_t at = 0, p;

	memset(l, 0, sizeof(*l));
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	/* The first place where a row of line_starts matches. */
	for (; at < len && start < 0; at++)
		for (size_t k = 0; k < sizeof(line_starts) / sizeof(line_starts[0]) && start < 0; k++)
			if (line[at] == 'm')
				start = line_starts[k](line, len, at);
	if (start < 0)
		return -ENOMSG;
	l->before = (struct mg_span){ line, at - 1 };
	p = (size_t)start;
	{
		const char *sp = memchr(line + p, ' ', len - p);
		size_t tn = sp ? (size_t)(sp - (line + p)) : len - p;
		if (!is_time(line + p, tn))
			return -ENOMSG;
		l->time = (struct mg_span){ line + p, tn };
		p += tn;
	}
	if (len - p >= 3 && memcmp(line + len - 3, "...", 3) == 0) {
		l->cut = true;
		len -= 3;
	}
	while (p < len) {
		const char *tok, *eq, *sp;
		size_t tn;

		while (p < len && line[p] == ' ')
			p++;
		if (p == len)
			break;
		tok = line + p;
		sp = memchr(tok, ' ', len - p);
		tn = sp ? (size_t)(sp - tok) : len - p;
		/* A warning's text is for people: the rest of the line. */
		if (mg_span_eq(l->event, "warning"))
			return add_field(l, "message", 7, tok, len - p) < 0 ? -EINVAL : 0;
		eq = memchr(tok, '=', tn);
		if (!eq || eq == tok)
			return -EINVAL;
		if (add_field(l, tok, (size_t)(eq - tok), eq + 1, tn - (size_t)(eq - tok) - 1) < 0)
			return -EINVAL;
		p += tn;
	}
	if (!l->event.len)
		return -EINVAL;
	return 0;
}

const struct mg_shim_module *mg_shimlog_module(const struct mg_shim_line *l, struct mg_span module)
{
	for (size_t i = 0; i < l->nmodules; i++)
		if (l->modules[i].path.len == module.len && memcmp(l->modules[i].path.p, module.p, module.len) == 0)
			return &l->modules[i];
	return NULL;
}
