/* libFuzzer target: the policy parser, validation, resolution and the
 * formatting of every diagnostic, on arbitrary file text.
 *
 * The input is handed to mg_policy_parse_buffer exactly as libFuzzer gives
 * it (no NUL after it), so ASan sees any read past the end of a line.
 * Besides "no crash, no leak, no UB" it checks what the headers promise:
 *   - a rule's who is its first token as written (policy.h), behind the UTF-8
 *     byte order mark that may start the file (memguard.conf(5));
 *   - mg_size_format spells a size that mg_size_parse reads back (size.h);
 *   - a rule comes from a line of the input and its columns are on it;
 *   - errors + warnings counted = diagnostics kept (no allocation fails here);
 *   - a login's parse (policy.only = its identity, rules that cannot apply
 *     skipped) resolves that identity exactly as the full parse does.
 * A broken promise abort()s, so libFuzzer keeps the input.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "policy.h"
#include "policy_line.h"
#include "size.h"

#define MEMTOTAL (16ull << 30)

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_policy: invariant broken: %s\n  ", #cond);   \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Line n (1-based) of buf as mg_next_line splits it, found independently. */
static int nth_line(const char *buf, size_t len, unsigned n, const char **line, size_t *llen)
{
	size_t pos = 0;

	for (unsigned i = 1; pos < len; i++) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		if (i == n) {
			*line = buf + pos;
			*llen = l;
			return 0;
		}
		pos += l + (nl ? 1 : 0);
	}
	return -1;
}

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void check_size_roundtrip(const struct mg_size *s)
{
	char buf[64];
	struct mg_size back;
	int r;

	mg_size_format(s, buf, sizeof(buf));
	r = mg_size_parse(buf, strlen(buf), &back);
	CHECK(r == 0, "mg_size_format gave '%s' (kind %d value %llu), mg_size_parse says %d", buf, (int)s->kind,
	      (unsigned long long)s->value, r);
	CHECK(back.kind == s->kind && (s->kind == MG_SIZE_MAX || back.value == s->value),
	      "'%s' reads back as kind %d value %llu, was kind %d value %llu", buf, (int)back.kind,
	      (unsigned long long)back.value, (int)s->kind, (unsigned long long)s->value);
}


static bool same_value(enum mg_key k, const struct mg_value *a, const struct mg_value *b)
{
	if (a->set != b->set || a->col != b->col)
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

static void check_resolved(const struct mg_policy *p, const struct mg_resolved *res)
{
	char buf[64];

	for (int k = 0; k < MG_KEY_COUNT; k++) {
		if (!res->src[k]) {
			CHECK(!res->v[k].set, "key %d set without a source rule", k);
			continue;
		}
		CHECK(res->src[k] >= p->rules && res->src[k] < p->rules + p->nrules, "source of key %d is no rule",
		      k);
		CHECK(res->v[k].set, "key %d has a source but is not set", k);
		mg_value_format((enum mg_key)k, &res->v[k], buf, sizeof(buf));
		if (mg_key_info((enum mg_key)k)->type == MG_TYPE_SIZE)
			check_size_roundtrip(&res->v[k].u.size);
	}
	(void)mg_resolved_exempt(res);
}

/* A login's one-pass look at each line (mg_next_line_head) says what
 * mg_next_line and mg_line_first_token say of it (policy_line.h). */
static void check_line_heads(const char *text, size_t size)
{
	size_t pos = 0, pos2 = 0, len, len2;
	const char *line, *line2;
	struct mg_token tok, tok2;
	bool marked, marked2, has;

	while (mg_next_line_head(text, size, &pos, &line, &len, &tok, &marked)) {
		CHECK(mg_next_line(text, size, &pos2, &line2, &len2), "mg_next_line ended before the head at %zu", pos);
		CHECK(line == line2 && len == len2 && pos == pos2, "line at %zu: head %zu bytes, mg_next_line %zu",
		      (size_t)(line2 - text), len, len2);
		has = mg_line_first_token(line, len, &tok2, &marked2);
		CHECK(has == (tok.len > 0), "line at %zu: head token %zu bytes, first_token %d", (size_t)(line - text),
		      tok.len, (int)has);
		if (has)
			CHECK(tok.off == tok2.off && tok.len == tok2.len && marked == marked2,
			      "line at %zu: head %zu+%zu marked %d, first_token %zu+%zu marked %d",
			      (size_t)(line - text), tok.off, tok.len, (int)marked, tok2.off, tok2.len, (int)marked2);
	}
	CHECK(!mg_next_line(text, size, &pos2, &line2, &len2), "mg_next_line goes on after the head's end");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const groups[] = { "students", "wheel", "users" };
	static const char *const no_groups[] = { NULL };
	const struct mg_identity ids[] = {
		{ .name = "alice", .uid = 1500, .groups = groups, .ngroups = 3, .uid_min = 1000, .uid_max = 60000 },
		{ .name = "root", .uid = 0, .groups = no_groups, .ngroups = 0, .uid_min = 1000, .uid_max = 0 },
		{ .name = "bob", .uid = 2000000000u, .groups = groups + 2, .ngroups = 1, .uid_min = 1000,
		  .uid_max = 60000 },
	};
	const char *text = (const char *)data;
	struct mg_policy p;
	struct mg_diags d = { 0 };
	struct mg_resolved res;
	char line[1024];
	int r;

	check_line_heads(text, size);
	mg_policy_init(&p, MEMTOTAL);
	r = mg_policy_parse_buffer(&p, "fuzz.conf", text, size, &d);
	CHECK(r == 0, "mg_policy_parse_buffer returned %d", r);
	mg_policy_validate(&p, &d);

	for (size_t i = 0; i < p.nrules; i++) {
		const struct mg_rule *rule = &p.rules[i];
		const char *l;
		size_t llen, off = 0, tlen;

		CHECK(rule->who && rule->file && strcmp(rule->file, "fuzz.conf") == 0, "rule %zu: no who or file", i);
		CHECK(nth_line(text, size, rule->line, &l, &llen) == 0, "rule %zu: line %u is not in the input", i,
		      rule->line);
		/* Line 1 and its columns start after a byte order mark. */
		if (rule->line == 1 && size >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
			l += 3;
			llen -= 3;
		}
		while (off < llen && blank(l[off]))
			off++;
		for (tlen = 0; off + tlen < llen && !blank(l[off + tlen]); tlen++)
			;
		CHECK(strlen(rule->who) == tlen && memcmp(rule->who, l + off, tlen) == 0,
		      "rule at line %u: who is '%s' (%zu bytes) but the line's first token has %zu bytes", rule->line,
		      rule->who, strlen(rule->who), tlen);
		for (int k = 0; k < MG_KEY_COUNT; k++) {
			if (!rule->v[k].set)
				continue;
			CHECK(rule->v[k].col >= 1 && rule->v[k].col <= llen, "line %u: key %d at column %u of %zu",
			      rule->line, k, rule->v[k].col, llen);
			if (mg_key_info((enum mg_key)k)->type == MG_TYPE_SIZE)
				check_size_roundtrip(&rule->v[k].u.size);
		}
	}

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct mg_policy lp;
		struct mg_diags ld = { 0 };
		struct mg_resolved lres;

		mg_policy_resolve(&p, &ids[i], &res);
		check_resolved(&p, &res);

		/* The same text read as pam_memguard reads it for this login. */
		mg_policy_init(&lp, MEMTOTAL);
		lp.only = &ids[i];
		r = mg_policy_parse_buffer(&lp, "fuzz.conf", text, size, &ld);
		CHECK(r == 0, "mg_policy_parse_buffer (only %s) returned %d", ids[i].name, r);
		mg_policy_resolve(&lp, &ids[i], &lres);
		for (int k = 0; k < MG_KEY_COUNT; k++) {
			unsigned full = res.src[k] ? res.src[k]->line : 0, login = lres.src[k] ? lres.src[k]->line : 0;
			CHECK(full == login && same_value((enum mg_key)k, &res.v[k], &lres.v[k]),
			      "%s: %s comes from line %u in the full parse but from line %u when the login "
			      "reads only its rules",
			      ids[i].name, mg_key_info((enum mg_key)k)->name, full, login);
		}
		for (size_t j = 0; j < ld.n; j++)
			mg_diag_format(&ld.v[j], line, sizeof(line));
		mg_policy_free(&lp);
		mg_diags_free(&ld);
		mg_resolved_validate(&res, p.memtotal, ids[i].name, true, &d);
	}
	mg_policy_resolve_all_sessions(&p, &res);
	check_resolved(&p, &res);

	CHECK(!d.oom && d.errors + d.warnings == d.n, "%zu errors + %zu warnings but %zu diagnostics", d.errors,
	      d.warnings, d.n);
	CHECK(mg_diags_count_errors(&d, 1u << MG_DIAG_CONTENT) == d.errors, "content errors miscounted");
	for (size_t i = 0; i < d.n; i++) {
		mg_diag_format(&d.v[i], line, sizeof(line));
		CHECK(strlen(line) < sizeof(line), "diagnostic not terminated");
	}

	mg_policy_free(&p);
	mg_diags_free(&d);
	return 0;
}
