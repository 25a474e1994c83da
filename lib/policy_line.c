#include "policy_line.h"

#include <stdint.h>
#include <string.h>

/* A table, not a chain of comparisons: a login of a large policy spends
 * most of its parsing time here. */
const bool mg_line_blank[256] = { [' '] = true, ['\t'] = true, ['\r'] = true, ['\v'] = true, ['\f'] = true };

static bool is_blank(char c)
{
	return mg_line_blank[(unsigned char)c];
}

/* Eight bytes at a time on little-endian machines: a byte below '!'
 * (every blank, and the rarer other control bytes) sets the high bit of
 * its lane, and the lowest lane so marked is exact (a borrow only runs
 * towards higher lanes), so it is the first such byte of the word. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
#define WORD_AT_A_TIME 1
#define LANES(b) (0x0101010101010101ull * (unsigned char)(b))

static uint64_t load_word(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

static uint64_t below_bang(uint64_t w)
{
	return (w - LANES('!')) & ~w & LANES(0x80);
}

/* Nonzero when a lane of w is byte b. */
static uint64_t lanes_equal(uint64_t w, char b)
{
	uint64_t x = w ^ LANES(b);

	return (x - LANES(1)) & ~x & LANES(0x80);
}
#endif

/* Where the token starting at i ends: the first blank, or len. */
static size_t token_end(const char *line, size_t i, size_t len)
{
#ifdef WORD_AT_A_TIME
	while (i + 8 <= len) {
		uint64_t m = below_bang(load_word(line + i));

		if (!m) {
			i += 8;
			continue;
		}
		i += (size_t)__builtin_ctzll(m) / 8;
		if (is_blank(line[i]))
			return i;
		i++; /* a control byte that is no blank belongs to the token */
	}
#endif
	while (i < len && !is_blank(line[i]))
		i++;
	return i;
}

size_t mg_line_tokens(const char *line, size_t len, struct mg_token *toks, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		size_t start;

		while (i < len && is_blank(line[i]))
			i++;
		if (i == len || line[i] == '#')
			break;
		start = i;
		i = token_end(line, i, len);
		if (n < max) {
			toks[n].off = start;
			toks[n].len = i - start;
		}
		n++;
	}
	return n;
}

static bool colon_or_eq(char c)
{
	return c == ':' || c == '=';
}

bool mg_line_first_token(const char *line, size_t len, struct mg_token *tok, bool *marked)
{
	size_t i = 0;
	bool mark = false;

	while (i < len && is_blank(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return false;
	tok->off = i;
#ifdef WORD_AT_A_TIME
	/* token_end's loop, also looking for ':' and '=' in the lanes before
	 * the token's end: a false lane only ever sits above a true one. */
	while (i + 8 <= len) {
		uint64_t w = load_word(line + i), m = below_bang(w);
		uint64_t p = lanes_equal(w, ':') | lanes_equal(w, '=');

		if (!m) {
			mark |= p != 0;
			i += 8;
			continue;
		}
		mark |= (p & ((m & -m) - 1)) != 0;
		i += (size_t)__builtin_ctzll(m) / 8;
		if (is_blank(line[i]))
			goto end;
		i++; /* a control byte that is no blank belongs to the token */
	}
#endif
	for (; i < len && !is_blank(line[i]); i++)
		mark |= colon_or_eq(line[i]);
#ifdef WORD_AT_A_TIME
end:
#endif
	tok->len = i - tok->off;
	if (marked)
		*marked = mark;
	return true;
}

bool mg_next_line(const char *buf, size_t buflen, size_t *pos, const char **line, size_t *len)
{
	const char *nl;

	if (*pos >= buflen)
		return false;
	*line = buf + *pos;
	nl = memchr(*line, '\n', buflen - *pos);
	*len = nl ? (size_t)(nl - *line) : buflen - *pos;
	*pos += *len + (nl ? 1 : 0);
	return true;
}
