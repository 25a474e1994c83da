#include "safe_text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t mg_utf8_len(const unsigned char *s, size_t len)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1fu;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0fu;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t mg_safe_text(char *dst, size_t dstlen, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n = 0;

	if (dstlen == 0)
		return 0;
	while (i < len) {
		size_t run = 0, room = dstlen - 1 - n;

		/* Printable ASCII, most of any message, is copied a run at a time. */
		while (i + run < len && u[i + run] >= 0x20 && u[i + run] < 0x7f)
			run++;
		if (run) {
			size_t take = run < room ? run : room;

			memcpy(dst + n, u + i, take);
			n += take;
			i += take;
			if (take < run)
				break;
			continue;
		}

		size_t clen = u[i] < 0x80 ? 1 : mg_utf8_len(u + i, len - i);
		char esc[8];
		const char *out = (const char *)u + i;
		size_t olen = clen;

		if (clen == 0 || u[i] < 0x20 || u[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", u[i]);
			out = esc;
			olen = 4;
			clen = 1;
		} else if (clen == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0) {
			snprintf(esc, sizeof(esc), "\\u%04x", u[i + 1]);
			out = esc;
			olen = 6;
		}
		if (n + olen >= dstlen)
			break;
		memcpy(dst + n, out, olen);
		n += olen;
		i += clen;
	}
	dst[n] = '\0';
	return i;
}
