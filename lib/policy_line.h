/* Splitting one policy line into tokens. The parser and the editor share
 * it, so an edit sees exactly the tokens that the module reads. */
#ifndef MEMGUARD_POLICY_LINE_H
#define MEMGUARD_POLICY_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct mg_token {
	size_t off, len; /* within the line */
};

#define MG_LINE_MAX_TOKENS 64

/* A UTF-8 byte order mark: the parser and the editor skip it at the start
 * of a file, and columns on line 1 count from after it. */
#define MG_UTF8_BOM "\xef\xbb\xbf"

/* Tokens are separated by blanks; a token starting with '#' starts a
 * comment that runs to the end of the line. Stores at most max tokens and
 * returns how many there are in all. */
size_t mg_line_tokens(const char *line, size_t len, struct mg_token *toks, size_t max);

/* The first token of a line, without walking the rest of it: false for a
 * blank or comment line. *marked (when not NULL): whether the token holds
 * a ':' or '=', as a uid range or a misplaced setting does. */
bool mg_line_first_token(const char *line, size_t len, struct mg_token *tok, bool *marked);

/* The next line of buf from *pos: its start and length without the '\n'.
 * false at the end. */
bool mg_next_line(const char *buf, size_t buflen, size_t *pos, const char **line, size_t *len);

/* The bytes that separate tokens: ' ', '\t', '\r', '\v', '\f'. */
extern const bool mg_line_blank[256];

/* Where a token that goes on at s[i] stops: the first byte at or after i
 * below '!' (a blank, '\n', another control byte), ':' or '=', or rest. */
static inline size_t mg_line_token_stop(const char *s, size_t i, size_t rest)
{
#ifdef __SSE2__
	const __m128i space = _mm_set1_epi8(' '), colon = _mm_set1_epi8(':'), eq = _mm_set1_epi8('=');

	for (; i + 16 <= rest; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, space), v); /* v <= ' ' */
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(low, _mm_or_si128(_mm_cmpeq_epi8(v, colon), _mm_cmpeq_epi8(v, eq))));

		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
	while (i < rest && (unsigned char)s[i] > ' ' && s[i] != ':' && s[i] != '=')
		i++;
	return i;
}

/* The first '\n' in s[i..rest), or NULL. Policy lines are short: sixteen
 * bytes at a time inline beat a call of memchr. */
static inline const char *mg_line_newline(const char *s, size_t i, size_t rest)
{
#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n');

	for (; i + 16 <= rest; i += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + i)), nl));

		if (m)
			return s + i + __builtin_ctz(m);
	}
#endif
	return memchr(s + i, '\n', rest - i);
}

/* The next line of buf from *pos as mg_next_line gives it, and its first
 * token as mg_line_first_token does (tok->len 0: a blank or comment line),
 * in one pass: a login looks at every line of a large policy only this
 * far, so it is inline, and sixteen bytes at a time where it can be. */
static inline bool mg_next_line_head(const char *buf, size_t buflen, size_t *pos, const char **line,
				     size_t *len, struct mg_token *tok, bool *marked)
{
	const char *s = buf + *pos, *nl;
	size_t i = 0, rest = buflen - *pos;
	bool mark = false;

	if (*pos >= buflen)
		return false;
	*line = s;
	while (i < rest && mg_line_blank[(unsigned char)s[i]])
		i++;
	tok->off = i;
	tok->len = 0;
	if (i < rest && s[i] != '\n' && s[i] != '#') {
		for (;;) {
			unsigned char c;

			i = mg_line_token_stop(s, i, rest);
			if (i == rest)
				break;
			c = (unsigned char)s[i];
			if (c == ':' || c == '=')
				mark = true;
			else if (mg_line_blank[c] || c == '\n')
				break;
			i++; /* ':', '=' or a control byte that is no blank: the token goes on */
		}
		tok->len = i - tok->off;
	}
	nl = i < rest && s[i] == '\n' ? s + i : mg_line_newline(s, i, rest);
	*len = nl ? (size_t)(nl - s) : rest;
	*pos += *len + (nl ? 1 : 0);
	*marked = mark;
	return true;
}

#endif
