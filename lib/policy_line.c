#include "policy_line.h"

#include <string.h>

/* A table, not a chain of comparisons: a login of a large policy spends
 * most of its parsing time here. */
static const bool blank[256] = { [' '] = true, ['\t'] = true, ['\r'] = true, ['\v'] = true, ['\f'] = true };

static bool is_blank(char c)
{
	return blank[(unsigned char)c];
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
		while (i < len && !is_blank(line[i]))
			i++;
		if (n < max) {
			toks[n].off = start;
			toks[n].len = i - start;
		}
		n++;
	}
	return n;
}

bool mg_line_first_token(const char *line, size_t len, struct mg_token *tok)
{
	size_t i = 0;

	while (i < len && is_blank(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return false;
	tok->off = i;
	while (i < len && !is_blank(line[i]))
		i++;
	tok->len = i - tok->off;
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
