#include "policy_edit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hugepages.h"
#include "policy_line.h"

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* An edit's result is about the size of the text it starts from: one
 * buffer of that size instead of doubling up to it. */
static void reserve(struct buf *b, size_t n)
{
	b->p = malloc(n);
	if (!b->p) {
		b->oom = true;
		return;
	}
	mg_prefer_huge_pages(b->p, n);
	b->cap = n;
	b->p[0] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static int finish(struct buf *b, char **out, size_t *outlen)
{
	if (!b->oom)
		put(b, "", 0);
	if (b->oom) {
		free(b->p);
		return -ENOMEM;
	}
	*out = b->p;
	*outlen = b->len;
	return 0;
}

size_t mg_assign_key_len(const char *assign)
{
	const char *eq = strchr(assign, '=');

	return eq ? (size_t)(eq - assign) : strlen(assign);
}

static size_t token_key_len(const char *tok, size_t len)
{
	const char *eq = memchr(tok, '=', len);

	return eq ? (size_t)(eq - tok) : len;
}

static bool rule_is_for(const char *line, size_t len, const char *who, struct mg_token *toks, size_t *ntok)
{
	size_t n, wlen = strlen(who);

	/* Most lines of a large policy are another target's: their first
	 * token says so, the rest of them need no splitting. */
	if (!mg_line_first_token(line, len, &toks[0], NULL) || toks[0].len != wlen ||
	    memcmp(line + toks[0].off, who, wlen) != 0) {
		*ntok = 0;
		return false;
	}
	n = mg_line_tokens(line, len, toks, MG_LINE_MAX_TOKENS);

	*ntok = n > MG_LINE_MAX_TOKENS ? MG_LINE_MAX_TOKENS : n;
	/* The parser refuses such a line, so it is no rule to edit. */
	return n > 0 && n <= MG_LINE_MAX_TOKENS;
}

/* A file's own line end: CRLF when its first line ends so, for the
 * lines an edit adds. */
static const char *line_end(const char *text, size_t len)
{
	const char *nl = memchr(text, '\n', len);

	return nl && nl > text && nl[-1] == '\r' ? "\r\n" : "\n";
}

/* A byte order mark passes through untouched and is no part of line 1's
 * first token, as for the parser. */
static size_t skip_bom(struct buf *b, const char **text, size_t *len)
{
	if (*len < 3 || memcmp(*text, MG_UTF8_BOM, 3) != 0)
		return 0;
	put(b, *text, 3);
	*text += 3;
	*len -= 3;
	return 3;
}

/* A new rule, aligned like the shipped example: who in 15 columns. */
static void put_new_rule(struct buf *b, const char *who, const char *const *assign, size_t n, const char *eol)
{
	size_t wlen = strlen(who);

	puts_(b, who);
	do
		put(b, " ", 1);
	while (++wlen < 15);
	for (size_t i = 0; i < n; i++) {
		if (i)
			puts_(b, "   ");
		puts_(b, assign[i]);
	}
	puts_(b, eol);
}

static void put_edited_rule(struct buf *b, const char *line, size_t len, const struct mg_token *toks, size_t ntok,
			    const char *const *assign, size_t nassign)
{
	bool used[MG_LINE_MAX_TOKENS * 2] = { false };
	size_t pos = 0;

	for (size_t t = 0; t < ntok; t++) {
		const char *tok = line + toks[t].off;
		size_t klen = token_key_len(tok, toks[t].len);
		const char *replacement = NULL;

		put(b, line + pos, toks[t].off - pos);
		pos = toks[t].off + toks[t].len;
		for (size_t a = 0; t > 0 && a < nassign; a++) {
			if (!used[a] && mg_assign_key_len(assign[a]) == klen && memcmp(assign[a], tok, klen) == 0) {
				replacement = assign[a];
				used[a] = true;
				break;
			}
		}
		if (replacement)
			puts_(b, replacement);
		else
			put(b, tok, toks[t].len);
		if (t == ntok - 1)
			for (size_t a = 0; a < nassign; a++)
				if (!used[a]) {
					put(b, "   ", 3);
					puts_(b, assign[a]);
				}
	}
	put(b, line + pos, len - pos);
}

int mg_edit_set(const char *text, size_t len, const char *who, const char *const *assign, size_t nassign,
		char **out, size_t *outlen, unsigned *line)
{
	struct mg_token toks[MG_LINE_MAX_TOKENS];
	struct buf b = { 0 };
	size_t pos = 0, llen, ntok, last_pos = 0;
	const char *l;
	unsigned lineno = 0, target = 0;

	if (nassign > MG_LINE_MAX_TOKENS)
		return -E2BIG;
	reserve(&b, len + 4096);
	skip_bom(&b, &text, &len);
	while (mg_next_line(text, len, &pos, &l, &llen)) {
		lineno++;
		if (rule_is_for(l, llen, who, toks, &ntok)) {
			target = lineno;
			last_pos = (size_t)(l - text);
		}
	}
	if (target) {
		pos = last_pos;
		mg_next_line(text, len, &pos, &l, &llen);
		rule_is_for(l, llen, who, toks, &ntok);
		put(&b, text, last_pos);
		put_edited_rule(&b, l, llen, toks, ntok, assign, nassign);
		put(&b, text + last_pos + llen, len - last_pos - llen);
		*line = target;
	} else {
		const char *eol = line_end(text, len);

		put(&b, text, len);
		if (len && text[len - 1] != '\n')
			puts_(&b, eol);
		put_new_rule(&b, who, assign, nassign, eol);
		*line = lineno + 1;
	}
	return finish(&b, out, outlen);
}

static bool key_listed(const char *tok, size_t klen, const char *const *keys, size_t nkeys)
{
	for (size_t i = 0; i < nkeys; i++)
		if (strlen(keys[i]) == klen && memcmp(keys[i], tok, klen) == 0)
			return true;
	return false;
}

int mg_edit_unset(const char *text, size_t len, const char *who, const char *const *keys, size_t nkeys,
		  char **out, size_t *outlen, unsigned *changed)
{
	struct mg_token toks[MG_LINE_MAX_TOKENS];
	struct buf b = { 0 };
	size_t pos = 0, llen, ntok;
	const char *l;

	*changed = 0;
	reserve(&b, len + 1);
	skip_bom(&b, &text, &len);
	while (mg_next_line(text, len, &pos, &l, &llen)) {
		const char *nl = (size_t)(l - text) + llen < len ? "\n" : "";
		size_t kept = 0, removed = 0, p = 0, end;
		struct buf line = { 0 };

		if (!rule_is_for(l, llen, who, toks, &ntok)) {
			put(&b, l, llen);
			puts_(&b, nl);
			continue;
		}
		for (size_t t = 1; t < ntok; t++) {
			const char *tok = l + toks[t].off;
			if (nkeys && !key_listed(tok, token_key_len(tok, toks[t].len), keys, nkeys)) {
				kept++;
				continue;
			}
			removed++;
		}
		if (removed == 0) {
			put(&b, l, llen);
			puts_(&b, nl);
			continue;
		}
		end = toks[ntok - 1].off + toks[ntok - 1].len;
		if (kept == 0) {
			/* The rule goes; what it said in a comment stays. */
			size_t c = end;
			/* '\r': a CRLF line with nothing after the rule leaves no blank line. */
			while (c < llen && (l[c] == ' ' || l[c] == '\t' || l[c] == '\r'))
				c++;
			if (c < llen) {
				put(&b, l + c, llen - c);
				puts_(&b, nl);
			}
			*changed += nkeys ? removed : 1;
			continue;
		}
		/* Each removed setting takes the blanks before it along. */
		put(&line, l, toks[0].off + toks[0].len);
		p = toks[0].off + toks[0].len;
		for (size_t t = 1; t < ntok; t++) {
			const char *tok = l + toks[t].off;
			if (!key_listed(tok, token_key_len(tok, toks[t].len), keys, nkeys))
				put(&line, l + p, toks[t].off + toks[t].len - p);
			p = toks[t].off + toks[t].len;
		}
		put(&line, l + p, llen - p);
		if (line.oom) {
			free(line.p);
			free(b.p);
			return -ENOMEM;
		}
		put(&b, line.p, line.len);
		puts_(&b, nl);
		free(line.p);
		*changed += removed;
	}
	return finish(&b, out, outlen);
}
