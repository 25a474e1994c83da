#include "policy_line.h"

#include <string.h>

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
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
