#include "policy.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hugepages.h"
#include "policy_line.h"
#include "readfile.h"
#include "safe_text.h"

/* Every setting of every line is looked up: lengths are compared first. */
#define NAME(n) n, sizeof(n) - 1

static const struct mg_key_info keys[MG_KEY_COUNT] = {
	[MG_KEY_MEMORY_MAX] = { NAME("memory.max"), MG_TYPE_SIZE, true, true },
	[MG_KEY_MEMORY_HIGH] = { NAME("memory.high"), MG_TYPE_SIZE, true, true },
	[MG_KEY_MEMORY_SWAP_MAX] = { NAME("memory.swap.max"), MG_TYPE_SIZE, true, false },
	[MG_KEY_MEMORY_LOW] = { NAME("memory.low"), MG_TYPE_SIZE, false, false },
	[MG_KEY_MEMORY_MIN] = { NAME("memory.min"), MG_TYPE_SIZE, false, false },
	[MG_KEY_SESSION_MEMORY_MAX] = { NAME("session.memory.max"), MG_TYPE_SIZE, false, true },
	[MG_KEY_SESSION_MEMORY_HIGH] = { NAME("session.memory.high"), MG_TYPE_SIZE, false, true },
	[MG_KEY_OOM_SCORE_ADJ] = { NAME("oom_score_adj"), MG_TYPE_INT, false, false },
	[MG_KEY_OOM_GROUP] = { NAME("oom.group"), MG_TYPE_BOOL, false, false },
	[MG_KEY_EXEMPT] = { NAME("exempt"), MG_TYPE_BOOL, false, false },
	[MG_KEY_TRACE] = { NAME("trace"), MG_TYPE_TRACE, false, false },
};

const struct mg_key_info *mg_key_info(enum mg_key key)
{
	return &keys[key];
}

int mg_key_lookup(const char *name, size_t len)
{
	for (int k = 0; k < MG_KEY_COUNT; k++)
		if (keys[k].len == len && memcmp(keys[k].name, name, len) == 0)
			return k;
	return -ENOENT;
}

void mg_policy_init(struct mg_policy *p, uint64_t memtotal)
{
	memset(p, 0, sizeof(*p));
	p->memtotal = memtotal;
}

uint64_t mg_policy_memtotal(struct mg_policy *p)
{
	if (p->meminfo && !p->memtotal_read) {
		p->memtotal_read = true;
		if (mg_meminfo_get(p->meminfo, "MemTotal", &p->memtotal) < 0)
			p->memtotal = 0;
	}
	return p->memtotal;
}

/* One allocation per many names instead of one per rule: a large
 * policy's targets are a hundred thousand short strings. */
struct mg_name_block {
	struct mg_name_block *next;
	size_t used, size;
	char text[];
};

#define NAME_BLOCK_SIZE (64u << 10)

static char *keep_name(struct mg_policy *p, const char *s, size_t len)
{
	struct mg_name_block *b = p->names;
	char *name;

	if (!b || b->size - b->used < len + 1) {
		size_t size = len + 1 > NAME_BLOCK_SIZE ? len + 1 : NAME_BLOCK_SIZE;

		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->next = p->names;
		b->used = 0;
		b->size = size;
		p->names = b;
	}
	name = b->text + b->used;
	memcpy(name, s, len);
	name[len] = '\0';
	b->used += len + 1;
	return name;
}

void mg_policy_free(struct mg_policy *p)
{
	while (p->names) {
		struct mg_name_block *next = p->names->next;

		free(p->names);
		p->names = next;
	}
	for (size_t i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->rules);
	free(p->files);
	memset(p, 0, sizeof(*p));
}

/* A token as it may be quoted in a message: bounded, control bytes escaped. */
static void quote(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t shown = len > 48 ? 48 : len;

	if (mg_safe_text(dst, dstlen - 3, s, shown) < len)
		strcat(dst, "...");
}

static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char *suggest_key(const char *name, size_t len)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (int k = 0; k < MG_KEY_COUNT; k++) {
		size_t d = edit_distance(name, len, keys[k].name, strlen(keys[k].name));
		if (d < best_d) {
			best_d = d;
			best = keys[k].name;
		}
	}
	return best;
}

static int parse_uid(const char *s, size_t len, uid_t *out)
{
	unsigned long long n = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		n = n * 10 + (unsigned)(s[i] - '0');
		if (n >= (uid_t)-1)
			return -ERANGE;
	}
	*out = (uid_t)n;
	return 0;
}

struct line_ctx {
	struct mg_policy *p;
	struct mg_diags *d;
	const char *file;
	unsigned line;
	const char *text;
	bool failed;
	bool buffer_has_nul; /* one scan per file instead of one per line */
	size_t only_name_len;
};

__attribute__((format(printf, 4, 5)))
static void line_diag(struct line_ctx *c, enum mg_severity sev, size_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mg_diag_add(c->d, sev, MG_DIAG_CONTENT, c->file, c->line, (unsigned)off + 1, "%s", msg);
	if (sev == MG_ERROR)
		c->failed = true;
}

static void parse_who(struct line_ctx *c, const struct mg_token *t, struct mg_rule *r)
{
	const char *s = c->text + t->off;
	const char *colon = memchr(s, ':', t->len);
	char q[64];

	if (t->len == 1 && s[0] == '*') {
		r->who_kind = MG_WHO_ALL_USERS;
	} else if (t->len == 4 && memcmp(s, "%all", 4) == 0) {
		r->who_kind = MG_WHO_ALL_SESSIONS;
	} else if (s[0] == '%') {
		quote(q, sizeof(q), s, t->len);
		line_diag(c, MG_ERROR, t->off, "unknown special target '%s' (the only one is %%all)", q);
	} else if (s[0] == '@') {
		r->who_kind = MG_WHO_GROUP;
		if (t->len == 1)
			line_diag(c, MG_ERROR, t->off, "'@' needs a group name");
		else if (t->len - 1 > MG_NAME_MAX)
			line_diag(c, MG_ERROR, t->off, "group name of %zu bytes is too long (at most %d)", t->len - 1,
				  MG_NAME_MAX);
	} else if (colon) {
		size_t left = (size_t)(colon - s), right = t->len - left - 1;
		int e1 = 0, e2 = 0;

		r->who_kind = MG_WHO_UID_RANGE;
		r->uid_min = 0;
		r->uid_max = (uid_t)-2;
		if (left)
			e1 = parse_uid(s, left, &r->uid_min);
		if (right)
			e2 = parse_uid(colon + 1, right, &r->uid_max);
		quote(q, sizeof(q), s, t->len);
		if (e1 || e2 || (!left && !right))
			line_diag(c, MG_ERROR, t->off,
				  "bad uid range '%s' (expected MIN:MAX, MIN: or :MAX with decimal uids)", q);
		else if (r->uid_min > r->uid_max)
			line_diag(c, MG_ERROR, t->off, "uid range '%s' is empty: %u is above %u", q,
				  (unsigned)r->uid_min, (unsigned)r->uid_max);
	} else if (memchr(s, '=', t->len)) {
		quote(q, sizeof(q), s, t->len);
		line_diag(c, MG_ERROR, t->off,
			  "'%s' is a setting, but a rule starts with who it is for (*, USER, @GROUP, MIN:MAX or %%all)",
			  q);
	} else {
		r->who_kind = MG_WHO_USER;
		if (t->len > MG_NAME_MAX)
			line_diag(c, MG_ERROR, t->off, "user name of %zu bytes is too long (at most %d)", t->len,
				  MG_NAME_MAX);
	}
}

static void parse_value(struct line_ctx *c, enum mg_key k, const char *v, size_t vlen, size_t off,
			struct mg_value *out)
{
	const struct mg_key_info *ki = &keys[k];
	char q[64];
	int err;

	/* Messages only: quoting every value costs more than parsing it. */
#define Q() quote(q, sizeof(q), v, vlen)
	switch (ki->type) {
	case MG_TYPE_SIZE:
		err = mg_size_parse(v, vlen, &out->u.size);
		if (err)
			Q();
		if (err == -ERANGE && vlen && v[vlen - 1] == '%')
			line_diag(c, MG_ERROR, off, "%s=%s: a percentage of RAM cannot exceed 100%%", ki->name, q);
		else if (err == -ERANGE)
			line_diag(c, MG_ERROR, off, "%s=%s: too large", ki->name, q);
		else if (err)
			line_diag(c, MG_ERROR, off,
				  "%s=%s: not a size (expected bytes with an optional K, M, G or T suffix, "
				  "a percentage of RAM such as 25%%, or max)",
				  ki->name, q);
		break;
	case MG_TYPE_INT: {
		long n = 0;
		size_t i = (vlen && (v[0] == '-' || v[0] == '+')) ? 1 : 0;
		bool ok = i < vlen;

		for (; ok && i < vlen; i++) {
			if (v[i] < '0' || v[i] > '9' || n > 100000) {
				ok = false;
				break;
			}
			n = n * 10 + (v[i] - '0');
		}
		if (vlen && v[0] == '-')
			n = -n;
		if (!ok || n < -1000 || n > 1000)
			Q();
		if (!ok || n < -1000 || n > 1000)
			line_diag(c, MG_ERROR, off, "%s=%s: expected a whole number from -1000 to 1000", ki->name, q);
		out->u.num = n;
		break;
	}
	case MG_TYPE_BOOL:
		if (vlen == 3 && memcmp(v, "yes", 3) == 0)
			out->u.flag = true;
		else if (vlen == 2 && memcmp(v, "no", 2) == 0)
			out->u.flag = false;
		else {
			Q();
			line_diag(c, MG_ERROR, off, "%s=%s: expected yes or no", ki->name, q);
		}
		break;
	case MG_TYPE_TRACE:
		/* The shim's MEMGUARD_THRESHOLD: bytes or max, never a share of
		 * RAM (the shim reads no meminfo), never 0 (every allocation). */
		out->u.trace.on = !(vlen == 3 && memcmp(v, "off", 3) == 0);
		if (!out->u.trace.on)
			break;
		err = mg_size_parse(v, vlen, &out->u.trace.threshold);
		if (!err && (out->u.trace.threshold.kind == MG_SIZE_PERCENT ||
			     (out->u.trace.threshold.kind == MG_SIZE_BYTES && out->u.trace.threshold.value == 0)))
			err = -EINVAL;
		if (err) {
			Q();
			line_diag(c, MG_ERROR, off,
				  "%s=%s: expected the size from which allocations are reported (such as 64M), "
				  "max (failures only) or off",
				  ki->name, q);
		}
		break;
	}
#undef Q
}

static bool is_floor_checked(enum mg_key k)
{
	return k == MG_KEY_MEMORY_MAX || k == MG_KEY_MEMORY_HIGH || k == MG_KEY_SESSION_MEMORY_MAX ||
	       k == MG_KEY_SESSION_MEMORY_HIGH;
}

static void check_value(struct line_ctx *c, enum mg_key k, const struct mg_value *v, size_t off)
{
	bool protection = k == MG_KEY_MEMORY_MIN || k == MG_KEY_MEMORY_LOW;
	uint64_t bytes, memtotal;
	char q[32];

	if (keys[k].type != MG_TYPE_SIZE || v->u.size.kind == MG_SIZE_MAX)
		return;
	/* Only these need RAM: a login with none reads no meminfo. */
	memtotal = v->u.size.kind == MG_SIZE_PERCENT || protection ? mg_policy_memtotal(c->p) : 0;
	if (v->u.size.kind == MG_SIZE_PERCENT && memtotal == 0)
		return;
	bytes = mg_size_bytes(&v->u.size, memtotal);
	if ((is_floor_checked(k) && bytes < MG_CAP_FLOOR) || (protection && memtotal && bytes > memtotal))
		mg_size_format(&v->u.size, q, sizeof(q));
	if (is_floor_checked(k) && bytes < MG_CAP_FLOOR && v->u.size.kind == MG_SIZE_PERCENT)
		/* Valid or not would depend on the machine: raise it instead. */
		line_diag(c, MG_WARNING, off,
			  "%s=%s is below the 32M floor on this machine; pam_memguard applies 32M", keys[k].name, q);
	else if (is_floor_checked(k) && bytes < MG_CAP_FLOOR)
		line_diag(c, MG_ERROR, off,
			  "%s=%s is below the 32M floor: the session's own sshd, login or su process "
			  "lives inside the cap and would be OOM-killed",
			  keys[k].name, q);
	if (protection && memtotal && bytes > memtotal)
		line_diag(c, MG_WARNING, off, "%s=%s is more than this machine's RAM", keys[k].name, q);
}

/* Room for n more rules at once, for a buffer read in full: one
 * allocation of its final size, in huge pages where the kernel has them. */
static int reserve_rules(struct mg_policy *p, size_t n)
{
	struct mg_rule *v;
	size_t cap;

	if (p->cap - p->nrules >= n)
		return 0;
	cap = p->nrules + n;
	v = realloc(p->rules, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	mg_prefer_huge_pages(v, cap * sizeof(*v));
	p->rules = v;
	p->cap = cap;
	return 0;
}

static size_t count_lines(const char *buf, size_t len)
{
	size_t n = 1;

	for (const char *nl; (nl = memchr(buf, '\n', len)); n++) {
		len -= (size_t)(nl + 1 - buf);
		buf = nl + 1;
	}
	return n;
}

/* Room for one more rule: a line is parsed in its place, not copied there. */
static int reserve_rule(struct mg_policy *p)
{
	if (p->nrules == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct mg_rule *v = realloc(p->rules, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->rules = v;
		p->cap = cap;
	}
	return 0;
}

/* With an identity filter (a login), false for a line that cannot concern
 * that identity. Only the first token is looked at: most lines of a large
 * policy belong to someone else, and their settings are never parsed. */
static bool line_applies(struct line_ctx *c, const struct mg_token *who, struct mg_rule *r)
{
	char stack[256], *name;
	bool applies;

	if (!c->p->only || c->failed || r->who_kind == MG_WHO_ALL_SESSIONS)
		return true;
	if (r->who_kind == MG_WHO_USER)
		return who->len == c->only_name_len && memcmp(c->text + who->off, c->p->only->name, who->len) == 0;
	name = who->len < sizeof(stack) ? stack : malloc(who->len + 1);
	if (!name)
		return true; /* parsed in full: correct, only slower */
	memcpy(name, c->text + who->off, who->len);
	name[who->len] = '\0';
	r->who = name;
	applies = mg_rule_rank(r, c->p->only) > 0;
	r->who = NULL;
	if (name != stack)
		free(name);
	return applies;
}

/* A login's first look at a line: true for a rule that is surely another
 * user's, a plain name that is not this user's and has nothing wrong with
 * it. Most lines of a large policy are that; parse_line sees the rest. */
static bool other_users_rule(const struct line_ctx *c, const char *line, const struct mg_token *t, bool marked)
{
	const char *s;

	if (!t->len)
		return true; /* blank or comment */
	s = line + t->off;
	/* What parse_who takes for a user name, and errs on nothing. */
	if (s[0] == '*' || s[0] == '%' || s[0] == '@' || t->len > MG_NAME_MAX)
		return false;
	if (t->len == c->only_name_len && memcmp(s, c->p->only->name, t->len) == 0)
		return false;
	return !marked;
}

/* "memory.max = 4G", "memory.max =4G", "memory.max= 4G": how many tokens
 * starting at toks[i] are one setting written with blanks around '=',
 * 0 when they are not. */
static size_t spaced_setting(const char *text, const struct mg_token *toks, size_t n, size_t i)
{
	const char *s = text + toks[i].off, *next = i + 1 < n ? text + toks[i + 1].off : NULL;
	const char *eq = memchr(s, '=', toks[i].len);

	if (!next)
		return 0;
	if (!eq && next[0] == '=') {
		if (toks[i + 1].len == 1 && i + 2 < n && !memchr(text + toks[i + 2].off, '=', toks[i + 2].len))
			return 3;
		return 2;
	}
	if (eq && eq == s + toks[i].len - 1 && eq != s && !memchr(next, '=', toks[i + 1].len))
		return 2;
	return 0;
}

static int parse_line(struct line_ctx *c, size_t len)
{
	struct mg_token toks[MG_LINE_MAX_TOKENS];
	size_t n;
	struct mg_rule head, *r;
	struct mg_resolved res;
	bool bad[MG_KEY_COUNT] = { false };
	size_t nsettings = 0;
	const char *nul;

	/* A login looks at the first token alone before the rest of the line. */
	n = c->p->only ? mg_line_first_token(c->text, len, &toks[0], NULL)
		       : mg_line_tokens(c->text, len, toks, MG_LINE_MAX_TOKENS);
	if (n == 0)
		return 0;
	/* Only the target's fields until the line is known to apply. */
	head.who_kind = MG_WHO_ALL_USERS; /* what a zeroed rule says */
	head.who = NULL;
	head.uid_min = head.uid_max = 0;
	parse_who(c, &toks[0], &head);
	if (!line_applies(c, &toks[0], &head))
		return 0;
	if (reserve_rule(c->p) < 0)
		return -ENOMEM;
	/* Parsed in the free slot; counted only once it is known valid. */
	r = &c->p->rules[c->p->nrules];
	memset(r, 0, sizeof(*r));
	r->who_kind = head.who_kind;
	r->uid_min = head.uid_min;
	r->uid_max = head.uid_max;
	if (c->buffer_has_nul && (nul = memchr(c->text, '\0', len))) {
		line_diag(c, MG_ERROR, (size_t)(nul - c->text), "a NUL byte in the line (is this a text file?)");
		return 0;
	}
	if (c->p->only)
		n = mg_line_tokens(c->text, len, toks, MG_LINE_MAX_TOKENS);
	if (n > MG_LINE_MAX_TOKENS) {
		line_diag(c, MG_ERROR, 0, "too many settings on one line (at most %d)", MG_LINE_MAX_TOKENS - 1);
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		const char *s = c->text + toks[i].off;
		const char *eq = memchr(s, '=', toks[i].len);
		size_t klen = eq ? (size_t)(eq - s) : toks[i].len;
		size_t spaced = spaced_setting(c->text, toks, n, i);
		int k = mg_key_lookup(s, klen);
		char q[64];

		if (spaced) {
			size_t end = toks[i + spaced - 1].off + toks[i + spaced - 1].len, w = 0;
			char joined[64];

			/* One error for the one mistake, with the setting as it should be. */
			for (size_t j = toks[i].off; j < end && w + 1 < sizeof(joined); j++)
				if (!(c->text[j] == ' ' || c->text[j] == '\t'))
					joined[w++] = c->text[j];
			joined[w] = '\0';
			quote(q, sizeof(q), joined, w);
			line_diag(c, MG_ERROR, toks[i].off, "no spaces around '=' (write %s)", q);
			if (k < 0) {
				const char *hint = suggest_key(s, klen);

				quote(q, sizeof(q), s, klen);
				line_diag(c, MG_ERROR, toks[i].off, "unknown key '%s'%s%s%s", q, hint ? " (did you mean " : "",
					  hint ? hint : "", hint ? "?)" : "");
			}
			nsettings++;
			i += spaced - 1;
			continue;
		}
		if (k < 0) {
			quote(q, sizeof(q), s, klen);
			const char *hint = suggest_key(s, klen);
			if (hint)
				line_diag(c, MG_ERROR, toks[i].off, "unknown key '%s' (did you mean %s?)", q, hint);
			else
				line_diag(c, MG_ERROR, toks[i].off, "unknown key '%s'", q);
			continue;
		}
		nsettings++;
		if (r->v[k].set) {
			line_diag(c, MG_ERROR, toks[i].off, "%s is set twice on this line (first at column %u)",
				  keys[k].name, r->v[k].col);
			continue;
		}
		if (r->who_kind == MG_WHO_ALL_SESSIONS && !keys[k].on_all_sessions) {
			line_diag(c, MG_ERROR, toks[i].off,
				  "%s cannot be set on %%all (it takes memory.max, memory.high and memory.swap.max)",
				  keys[k].name);
			continue;
		}
		r->v[k].set = true;
		r->v[k].col = (unsigned)toks[i].off + 1;
		if (!eq) {
			if (k == MG_KEY_EXEMPT) {
				r->v[k].u.flag = true;
				continue;
			}
			line_diag(c, MG_ERROR, toks[i].off, "%s needs a value (%s=VALUE)", keys[k].name, keys[k].name);
			continue;
		}
		size_t before = c->d->errors;
		parse_value(c, (enum mg_key)k, eq + 1, toks[i].len - klen - 1, toks[i].off + klen + 1, &r->v[k]);
		if (c->d->errors == before)
			check_value(c, (enum mg_key)k, &r->v[k], toks[i].off + klen + 1);
		else
			bad[k] = true;
	}
	if (nsettings == 0 && !c->failed)
		line_diag(c, MG_ERROR, toks[n - 1].off + toks[n - 1].len,
			  "rule has no settings (expected KEY=VALUE, or exempt)");
	if (r->v[MG_KEY_EXEMPT].set && r->v[MG_KEY_EXEMPT].u.flag && nsettings > 1)
		line_diag(c, MG_WARNING, r->v[MG_KEY_EXEMPT].col - 1,
			  "the other settings of an exempt rule are ignored");
	/* Clashes between settings of this line are reported even when the line
	 * has other errors, so that one run shows everything. */
	r->file = c->file;
	r->line = c->line;
	memset(&res, 0, sizeof(res));
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		if (!r->v[k].set || bad[k])
			continue;
		res.v[k] = r->v[k];
		res.src[k] = r;
	}
	size_t errors_before = c->d->errors;
	/* Every value in res went through check_value: memtotal is read if
	 * one of them needs it. */
	mg_resolved_validate(&res, c->p->memtotal, NULL, false, c->d);
	if (c->failed || c->d->errors != errors_before)
		return 0; /* a rule with an error is never half-applied */
	r->who = keep_name(c->p, c->text + toks[0].off, toks[0].len);
	if (!r->who)
		return -ENOMEM;
	c->p->nrules++;
	return 0;
}

static const char *intern_file(struct mg_policy *p, const char *file)
{
	char **v;

	if (p->nfiles && strcmp(p->files[p->nfiles - 1], file) == 0)
		return p->files[p->nfiles - 1];
	v = realloc(p->files, (p->nfiles + 1) * sizeof(*v));
	if (!v)
		return NULL;
	p->files = v;
	v[p->nfiles] = strdup(file);
	if (!v[p->nfiles])
		return NULL;
	return v[p->nfiles++];
}

int mg_policy_parse_buffer(struct mg_policy *p, const char *file, const char *buf, size_t len,
			   struct mg_diags *d)
{
	struct line_ctx c = { .p = p, .d = d };
	size_t pos = 0, llen;
	const char *line;

	c.file = intern_file(p, file);
	if (!c.file)
		return -ENOMEM;
	/* Some Windows editors start a UTF-8 file with a byte order mark: as
	 * part of the first token it would turn "*" into a user name. */
	if (len >= 3 && memcmp(buf, MG_UTF8_BOM, 3) == 0) {
		mg_diag_add(d, MG_WARNING, MG_DIAG_CONTENT, c.file, 1, 1,
			    "the file starts with a UTF-8 byte order mark, ignoring it");
		buf += 3;
		len -= 3;
	}
	c.buffer_has_nul = memchr(buf, '\0', len) != NULL;
	if (p->only)
		c.only_name_len = strlen(p->only->name);
	/* A login keeps a few rules of many; a whole read keeps nearly
	 * every line, and growing by doubling would touch it all twice.
	 * The shortest rule, "x exempt", takes 8 bytes and its line end, so
	 * a file of blank lines asks for no more than its rules could need.
	 * Only a head start: without it the array grows as it did. */
	else {
		size_t lines = count_lines(buf, len);

		(void)reserve_rules(p, lines < len / 8 + 1 ? lines : len / 8 + 1);
	}
	for (;;) {
		struct mg_token first = { 0 };
		bool marked = false;

		/* A login's look at a line goes only as far as its first token. */
		if (p->only ? !mg_next_line_head(buf, len, &pos, &line, &llen, &first, &marked)
			    : !mg_next_line(buf, len, &pos, &line, &llen))
			break;
		c.line++;
		if (p->only && other_users_rule(&c, line, &first, marked))
			continue;
		c.text = line;
		c.failed = false;
		if (parse_line(&c, llen) < 0)
			return -ENOMEM;
	}
	return 0;
}

void mg_value_format(enum mg_key key, const struct mg_value *v, char *buf, size_t buflen)
{
	switch (keys[key].type) {
	case MG_TYPE_SIZE:
		mg_size_format(&v->u.size, buf, buflen);
		break;
	case MG_TYPE_INT:
		snprintf(buf, buflen, "%ld", v->u.num);
		break;
	case MG_TYPE_BOOL:
		snprintf(buf, buflen, "%s", v->u.flag ? "yes" : "no");
		break;
	case MG_TYPE_TRACE:
		if (v->u.trace.on)
			mg_size_format(&v->u.trace.threshold, buf, buflen);
		else
			snprintf(buf, buflen, "off");
		break;
	}
}

char *mg_policy_dropin_dir(const char *policy_path)
{
	size_t len = strlen(policy_path);
	char *dir;

	if (len > 5 && strcmp(policy_path + len - 5, ".conf") == 0)
		len -= 5;
	dir = malloc(len + 3);
	if (!dir)
		return NULL;
	memcpy(dir, policy_path, len);
	memcpy(dir + len, ".d", 3);
	return dir;
}
