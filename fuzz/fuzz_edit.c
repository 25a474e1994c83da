/* libFuzzer target: mg_edit_set and mg_edit_unset, checked against what
 * policy_edit.h promises.
 *
 * Input: "WHO\nASSIGN ASSIGN...\nTEXT"; the second line is split at blanks
 * into KEY=VALUE assignments (their key parts are the keys for unset).
 * Every input runs mg_edit_set(WHO, ASSIGNs), mg_edit_unset(WHO, keys) and
 * mg_edit_unset(WHO) (remove every rule). With a WHO memguardctl accepts
 * (one token, no '#', no '=', no blank or control byte):
 *   set:   only the last line for WHO changes, every other byte stays; that
 *          line keeps its tokens and comment, a setting of the same key is
 *          replaced in place, new ones follow the last setting; with no line
 *          for WHO one rule is appended; *line is the line changed. When the
 *          text and "WHO ASSIGNs" both parse without errors, the result has
 *          no error but on that line and, if that line has none, a rule for
 *          WHO there whose keys hold the new values.
 *   unset: lines not for WHO are byte-identical and in order; a rule for WHO
 *          loses exactly the listed settings (each with the blanks before
 *          it); a rule left with none goes, its trailing comment kept on its
 *          own line; *changed counts them. Afterwards no line for WHO carries
 *          a listed key (no line for WHO with settings at all, for unset WHO).
 * A UTF-8 byte order mark at the start of the text stays and is no part of
 * line 1; lines set appends end as the text's first line does (CRLF or LF).
 * The reference below splits lines itself; a line of more tokens than a
 * rule may have (MG_LINE_MAX_TOKENS) is no rule, as for the parser. A
 * broken invariant prints what was expected and abort()s. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "policy.h"
#include "policy_edit.h"
#include "policy_line.h"

#define MEMTOTAL (16ull << 30)
#define MAX_ASSIGN 64 /* mg_edit_set refuses more (-E2BIG) */

static const char *cur_case; /* for the report */

static void dump(const char *what, const char *s, size_t len)
{
	fprintf(stderr, "---- %s (%zu bytes)\n", what, len);
	fwrite(s, 1, len, stderr);
	fprintf(stderr, "\n---- end %s\n", what);
}

#define FAIL(...)                                                                   \
	do {                                                                        \
		fprintf(stderr, "fuzz_edit: %s: invariant broken: ", cur_case);     \
		fprintf(stderr, __VA_ARGS__);                                       \
		fputc('\n', stderr);                                                \
		abort();                                                            \
	} while (0)

/* ---- growable string ---- */
struct str {
	char *p;
	size_t len, cap;
};

static void sput(struct str *s, const char *b, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		while (cap < s->len + n + 1)
			cap *= 2;
		s->p = realloc(s->p, cap);
		if (!s->p)
			abort();
		s->cap = cap;
	}
	memcpy(s->p + s->len, b, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void sputs(struct str *s, const char *b)
{
	sput(s, b, strlen(b));
}

/* ---- independent line and token splitting (memguard.conf(5) grammar) ---- */
struct line {
	const char *p;
	size_t len;
	bool nl; /* followed by '\n' */
};

struct tok {
	size_t off, len;
};

static size_t split_lines(const char *t, size_t len, struct line **out)
{
	size_t n = 0, pos = 0;
	struct line *v = NULL;

	while (pos < len) {
		const char *nl = memchr(t + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (t + pos)) : len - pos;
		v = realloc(v, (n + 1) * sizeof(*v));
		if (!v)
			abort();
		v[n++] = (struct line){ t + pos, l, nl != NULL };
		pos += l + (nl ? 1 : 0);
	}
	*out = v;
	return n;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Every token (a token starting with '#' starts a comment); no limit. */
static size_t tokens(const char *l, size_t len, struct tok **out)
{
	size_t n = 0, i = 0;
	struct tok *v = NULL;

	for (;;) {
		while (i < len && is_blank(l[i]))
			i++;
		if (i == len || l[i] == '#')
			break;
		v = realloc(v, (n + 1) * sizeof(*v));
		if (!v)
			abort();
		v[n].off = i;
		while (i < len && !is_blank(l[i]))
			i++;
		v[n].len = i - v[n].off;
		n++;
	}
	*out = v;
	return n;
}

static bool line_is_for(const struct line *l, const char *who)
{
	struct tok *t;
	size_t n = tokens(l->p, l->len, &t);
	/* More tokens than a rule may have: the parser refuses it, no rule. */
	bool r = n > 0 && n <= MG_LINE_MAX_TOKENS && t[0].len == strlen(who) &&
		 memcmp(l->p + t[0].off, who, t[0].len) == 0;

	free(t);
	return r;
}

static size_t key_len(const char *tok, size_t len)
{
	const char *eq = memchr(tok, '=', len);

	return eq ? (size_t)(eq - tok) : len;
}

/* What memguardctl accepts verbatim into the file (cli/cmd_set.c). */
static bool is_token(const char *s)
{
	if (!*s || *s == '#')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '#')
			return false;
	return true;
}

static size_t bom_len(const char *t, size_t len)
{
	return len >= 3 && memcmp(t, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

/* The line end of the text's first line: what set gives the lines it adds. */
static const char *first_eol(const char *t, size_t len)
{
	const char *nl = memchr(t, '\n', len);

	return nl && nl > t && nl[-1] == '\r' ? "\r\n" : "\n";
}

/* ---- parsing helpers ---- */
static size_t parse(const char *text, size_t len, struct mg_policy *p, struct mg_diags *d)
{
	int r;

	mg_policy_init(p, MEMTOTAL);
	memset(d, 0, sizeof(*d));
	r = mg_policy_parse_buffer(p, "edit.conf", text, len, d);
	if (r < 0)
		abort();
	return d->errors;
}

static size_t errors_on_line(const struct mg_diags *d, unsigned line)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].severity == MG_ERROR && d->v[i].line == line;
	return n;
}

static bool same_value(enum mg_key k, const struct mg_value *a, const struct mg_value *b)
{
	if (a->set != b->set)
		return false;
	if (!a->set)
		return true;
	switch (mg_key_info(k)->type) {
	case MG_TYPE_SIZE:
		return a->u.size.kind == b->u.size.kind && a->u.size.value == b->u.size.value;
	case MG_TYPE_INT:
		return a->u.num == b->u.num;
	case MG_TYPE_BOOL:
		return a->u.flag == b->u.flag;
	}
	return false;
}

/* ---- mg_edit_set ---- */
static void expect_edited_line(struct str *e, const struct line *l, const char *const *assign, size_t na)
{
	struct tok *t;
	size_t n = tokens(l->p, l->len, &t), pos = 0;
	bool used[MAX_ASSIGN] = { false };

	for (size_t i = 0; i < n; i++) {
		const char *tok = l->p + t[i].off;
		size_t klen = key_len(tok, t[i].len);
		const char *rep = NULL;

		sput(e, l->p + pos, t[i].off - pos);
		pos = t[i].off + t[i].len;
		for (size_t a = 0; i > 0 && a < na && !rep; a++)
			if (!used[a] && strcspn(assign[a], "=") == klen && memcmp(assign[a], tok, klen) == 0) {
				rep = assign[a];
				used[a] = true;
			}
		if (rep)
			sputs(e, rep);
		else
			sput(e, tok, t[i].len);
		if (i == n - 1)
			for (size_t a = 0; a < na; a++)
				if (!used[a]) {
					sputs(e, "   ");
					sputs(e, assign[a]);
				}
	}
	sput(e, l->p + pos, l->len - pos);
	free(t);
}

static void check_set(const char *full, size_t fulllen, const char *who, const char *const *assign, size_t na,
		      bool assigns_ok)
{
	size_t bom = bom_len(full, fulllen);
	const char *text = full + bom;
	size_t len = fulllen - bom;
	struct line *in;
	size_t nin = split_lines(text, len, &in), target = SIZE_MAX, start = 0, end = 0;
	struct str e = { 0 };
	char *fullout = NULL, *out;
	size_t outlen = 0;
	unsigned line = 0;
	bool exact = assigns_ok;
	int r;

	cur_case = "mg_edit_set";
	r = mg_edit_set(full, fulllen, who, assign, na, &fullout, &outlen, &line);
	if (na > MAX_ASSIGN) {
		if (r != -E2BIG)
			FAIL("%zu assignments: expected -E2BIG, got %d", na, r);
		free(in);
		return;
	}
	if (r != 0)
		FAIL("returned %d", r);
	if (fullout[outlen] != '\0')
		FAIL("result not NUL-terminated");
	if (outlen < bom || memcmp(fullout, full, bom) != 0)
		FAIL("the byte order mark did not stay");
	out = fullout + bom;
	outlen -= bom;

	for (size_t i = 0; i < nin; i++)
		if (line_is_for(&in[i], who))
			target = i;
	if (target == SIZE_MAX) {
		/* No rule for who: the text, a line end if it lacked one, a new rule. */
		size_t w = strlen(who);
		const char *eol = first_eol(text, len);
		sput(&e, text, len);
		if (len && text[len - 1] != '\n')
			sputs(&e, eol);
		sputs(&e, who);
		do
			sputs(&e, " ");
		while (++w < 15);
		for (size_t a = 0; a < na; a++) {
			if (a)
				sputs(&e, "   ");
			sputs(&e, assign[a]);
		}
		sputs(&e, eol);
		if (line != nin + 1)
			FAIL("appended rule reported at line %u, expected %zu", line, nin + 1);
	} else {
		start = (size_t)(in[target].p - text);
		end = start + in[target].len;
		if (line != target + 1)
			FAIL("rule for '%s' is on line %zu but *line is %u", who, target + 1, line);
		/* Every byte before and after the target line stays. */
		if (outlen < start + (len - end) || memcmp(out, text, start) != 0 ||
		    memcmp(out + outlen - (len - end), text + end, len - end) != 0) {
			dump("text", text, len);
			dump("result", out, outlen);
			FAIL("bytes outside line %zu (the last rule for '%s') changed", target + 1, who);
		}
		sput(&e, text, start);
		expect_edited_line(&e, &in[target], assign, na);
		{
			/* A line of more than MG_LINE_MAX_TOKENS tokens is an error the
			 * parser reports, before and after: where the editor puts the
			 * new setting on it is not checked. */
			struct tok *t;
			if (tokens(in[target].p, in[target].len, &t) > 64)
				exact = false;
			free(t);
		}
		sput(&e, text + end, len - end);
	}
	if (exact && (e.len != outlen || memcmp(e.p, out, outlen) != 0)) {
		dump("text", text, len);
		for (size_t a = 0; a < na; a++)
			fprintf(stderr, "assign[%zu] = '%s'\n", a, assign[a]);
		dump("expected", e.p, e.len);
		dump("result", out, outlen);
		FAIL("set '%s' did not give the expected text", who);
	}

	/* The result as the parser sees it. */
	if (assigns_ok) {
		struct mg_policy p0, p1, ps;
		struct mg_diags d0, d1, ds;
		struct str single = { 0 };

		mg_policy_init(&ps, MEMTOTAL);
		memset(&ds, 0, sizeof(ds));

		sputs(&single, who);
		for (size_t a = 0; a < na; a++) {
			sputs(&single, " ");
			sputs(&single, assign[a]);
		}
		if (parse(full, fulllen, &p0, &d0) == 0 && parse(single.p, single.len, &ps, &ds) == 0 && ps.nrules == 1) {
			size_t e1;

			parse(fullout, outlen + bom, &p1, &d1);
			e1 = errors_on_line(&d1, line);
			if (d1.errors != e1) {
				dump("result", out, outlen);
				FAIL("the edit added %zu errors off line %u", d1.errors - e1, line);
			}
			if (e1 == 0) {
				const struct mg_rule *rule = NULL;
				for (size_t i = 0; i < p1.nrules; i++)
					if (p1.rules[i].line == line)
						rule = &p1.rules[i];
				if (!rule || strcmp(rule->who, who) != 0) {
					dump("result", out, outlen);
					FAIL("no rule for '%s' at line %u after set", who, line);
				}
				if (p1.nrules != p0.nrules + (target == SIZE_MAX))
					FAIL("%zu rules before, %zu after", p0.nrules, p1.nrules);
				for (int k = 0; k < MG_KEY_COUNT; k++)
					if (ps.rules[0].v[k].set && !same_value((enum mg_key)k, &rule->v[k], &ps.rules[0].v[k])) {
						dump("result", out, outlen);
						FAIL("%s of '%s' at line %u is not the value set", mg_key_info((enum mg_key)k)->name,
						     who, line);
					}
			}
			mg_policy_free(&p1);
			mg_diags_free(&d1);
		}
		mg_policy_free(&p0);
		mg_diags_free(&d0);
		mg_policy_free(&ps);
		mg_diags_free(&ds);
		free(single.p);
	}
	free(e.p);
	free(fullout);
	free(in);
}

/* ---- mg_edit_unset ---- */
static bool listed(const char *tok, size_t klen, const char *const *keys, size_t nkeys)
{
	for (size_t i = 0; i < nkeys; i++)
		if (strlen(keys[i]) == klen && memcmp(keys[i], tok, klen) == 0)
			return true;
	return false;
}

static void check_unset(const char *full, size_t fulllen, const char *who, const char *const *keys, size_t nkeys)
{
	size_t bom = bom_len(full, fulllen);
	const char *text = full + bom;
	size_t len = fulllen - bom;
	struct line *in, *outl;
	size_t nin = split_lines(text, len, &in), nout;
	struct str e = { 0 };
	char *fullout = NULL, *out;
	size_t outlen = 0;
	unsigned changed = 0, want_changed = 0;
	int r;

	cur_case = nkeys ? "mg_edit_unset WHO KEY..." : "mg_edit_unset WHO";
	r = mg_edit_unset(full, fulllen, who, keys, nkeys, &fullout, &outlen, &changed);
	if (r != 0)
		FAIL("returned %d", r);
	if (fullout[outlen] != '\0')
		FAIL("result not NUL-terminated");
	if (outlen < bom || memcmp(fullout, full, bom) != 0)
		FAIL("the byte order mark did not stay");
	out = fullout + bom;
	outlen -= bom;

	for (size_t i = 0; i < nin; i++) {
		const struct line *l = &in[i];
		const char *nl = l->nl ? "\n" : "";
		struct tok *t;
		size_t n, kept = 0, removed = 0, last;

		if (!line_is_for(l, who)) {
			sput(&e, l->p, l->len);
			sputs(&e, nl);
			continue;
		}
		n = tokens(l->p, l->len, &t);
		for (size_t j = 1; j < n; j++) {
			if (nkeys && !listed(l->p + t[j].off, key_len(l->p + t[j].off, t[j].len), keys, nkeys))
				kept++;
			else
				removed++;
		}
		last = t[n - 1].off + t[n - 1].len;
		if (removed == 0) {
			sput(&e, l->p, l->len);
			sputs(&e, nl);
		} else if (kept == 0) {
			size_t c = last;
			/* A CR alone left of a CRLF line is no comment to keep. */
			while (c < l->len && (l->p[c] == ' ' || l->p[c] == '\t' || l->p[c] == '\r'))
				c++;
			if (c < l->len) {
				sput(&e, l->p + c, l->len - c);
				sputs(&e, nl);
			}
			want_changed += nkeys ? removed : 1;
		} else {
			size_t p = t[0].off + t[0].len;
			sput(&e, l->p, p);
			for (size_t j = 1; j < n; j++) {
				const char *tok = l->p + t[j].off;
				if (!listed(tok, key_len(tok, t[j].len), keys, nkeys))
					sput(&e, l->p + p, t[j].off + t[j].len - p);
				p = t[j].off + t[j].len;
			}
			sput(&e, l->p + p, l->len - p);
			sputs(&e, nl);
			want_changed += removed;
		}
		free(t);
	}
	if (e.len != outlen || memcmp(e.p ? e.p : "", out, outlen) != 0) {
		dump("text", text, len);
		for (size_t k = 0; k < nkeys; k++)
			fprintf(stderr, "key[%zu] = '%s'\n", k, keys[k]);
		dump("expected", e.p ? e.p : "", e.len);
		dump("result", out, outlen);
		FAIL("unset '%s' did not give the expected text", who);
	}
	if (changed != want_changed)
		FAIL("*changed is %u, expected %u", changed, want_changed);

	/* Nothing listed is left on a line for who. */
	nout = split_lines(out, outlen, &outl);
	for (size_t i = 0; i < nout; i++) {
		struct tok *t;
		size_t n;

		if (!line_is_for(&outl[i], who))
			continue;
		n = tokens(outl[i].p, outl[i].len, &t);
		for (size_t j = 1; j < n; j++)
			if (!nkeys || listed(outl[i].p + t[j].off, key_len(outl[i].p + t[j].off, t[j].len), keys, nkeys))
				FAIL("line %zu still sets '%.*s' for '%s'", i + 1, (int)t[j].len, outl[i].p + t[j].off, who);
		free(t);
	}
	free(outl);
	free(e.p);
	free(fullout);
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl1, *nl2, *text;
	size_t wlen, alen, tlen, na = 0;
	char *who, *assign[MAX_ASSIGN + 2], *keys[MAX_ASSIGN + 2];
	bool who_ok, assigns_ok = true;

	nl1 = memchr(s, '\n', size);
	if (!nl1)
		return 0;
	wlen = (size_t)(nl1 - s);
	nl2 = memchr(nl1 + 1, '\n', size - wlen - 1);
	if (!nl2)
		return 0;
	alen = (size_t)(nl2 - nl1 - 1);
	text = nl2 + 1;
	tlen = size - (size_t)(text - s);

	who = strndup(s, wlen);
	who_ok = strlen(who) == wlen && is_token(who) && !strchr(who, '=');
	for (size_t i = 0; i < alen && na < MAX_ASSIGN + 1;) {
		const char *a = nl1 + 1;
		size_t st;
		while (i < alen && is_blank(a[i]))
			i++;
		if (i == alen)
			break;
		st = i;
		while (i < alen && !is_blank(a[i]))
			i++;
		assign[na] = strndup(a + st, i - st);
		keys[na] = strndup(a + st, key_len(a + st, i - st));
		/* As memguardctl set checks them: a token, KEY=VALUE or exempt, each key once. */
		if (strlen(assign[na]) != i - st || !is_token(assign[na]) || keys[na][0] == '\0' ||
		    (!strchr(assign[na], '=') && strcmp(assign[na], "exempt") != 0))
			assigns_ok = false;
		for (size_t j = 0; j < na; j++)
			if (strcmp(keys[j], keys[na]) == 0)
				assigns_ok = false;
		na++;
	}
	if (na == 0 || na > MAX_ASSIGN)
		assigns_ok = false;

	if (who_ok) {
		if (na > 0)
			check_set(text, tlen, who, (const char *const *)assign, na, assigns_ok);
		if (na <= MAX_ASSIGN)
			check_unset(text, tlen, who, (const char *const *)keys, na);
		check_unset(text, tlen, who, NULL, 0);
	} else {
		/* No promises for a who memguardctl refuses: memory safety only. */
		char *out = NULL;
		size_t outlen;
		unsigned u;
		if (na > 0 && mg_edit_set(text, tlen, who, (const char *const *)assign, na, &out, &outlen, &u) == 0)
			free(out);
		out = NULL;
		if (mg_edit_unset(text, tlen, who, NULL, 0, &out, &outlen, &u) == 0)
			free(out);
	}

	for (size_t i = 0; i < na; i++) {
		free(assign[i]);
		free(keys[i]);
	}
	free(who);
	return 0;
}
