#include "fmt.h"

#include <string.h>

void mg_buf_init(struct mg_buf *b, char *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	/* Room for the "...\n" that mg_buf_finish may need. */
	b->cap = cap > 8 ? cap - 5 : 0;
	b->cut = false;
}

void mg_buf_mem(struct mg_buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		n = b->cap - b->len;
		b->cut = true;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void mg_buf_str(struct mg_buf *b, const char *s)
{
	mg_buf_mem(b, s, strlen(s));
}

static void put_char(struct mg_buf *b, char c)
{
	mg_buf_mem(b, &c, 1);
}

void mg_buf_u64(struct mg_buf *b, uint64_t v)
{
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mg_buf_mem(b, tmp + n, sizeof(tmp) - n);
}

void mg_buf_i64(struct mg_buf *b, int64_t v)
{
	if (v < 0) {
		put_char(b, '-');
		mg_buf_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		mg_buf_u64(b, (uint64_t)v);
	}
}

void mg_buf_hex(struct mg_buf *b, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[20];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = digits[v & 15];
		v >>= 4;
	} while (v);
	tmp[--n] = 'x';
	tmp[--n] = '0';
	mg_buf_mem(b, tmp + n, sizeof(tmp) - n);
}

void mg_buf_json_str(struct mg_buf *b, const char *s)
{
	static const char digits[] = "0123456789abcdef";

	put_char(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			put_char(b, '\\');
			put_char(b, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			char esc[6] = { '\\', 'u', '0', '0', digits[c >> 4], digits[c & 15] };
			mg_buf_mem(b, esc, sizeof(esc));
		} else {
			put_char(b, (char)c);
		}
	}
	put_char(b, '"');
}

void mg_buf_word(struct mg_buf *b, const char *s)
{
	if (!*s) {
		put_char(b, '-');
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		put_char(b, c <= 0x20 || c == 0x7f ? '_' : (char)c);
	}
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian), so that no
 * time zone file is ever read. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void put_2(struct mg_buf *b, unsigned v)
{
	char t[2] = { (char)('0' + v / 10 % 10), (char)('0' + v % 10) };
	mg_buf_mem(b, t, 2);
}

void mg_buf_time(struct mg_buf *b, const struct timespec *ts)
{
	int64_t secs = ts->tv_sec;
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	unsigned sod = (unsigned)(secs - days * 86400);
	int64_t y;
	unsigned m, d, ms = (unsigned)(ts->tv_nsec / 1000000);

	civil_from_days(days, &y, &m, &d);
	mg_buf_i64(b, y);
	put_char(b, '-');
	put_2(b, m);
	put_char(b, '-');
	put_2(b, d);
	put_char(b, 'T');
	put_2(b, sod / 3600);
	put_char(b, ':');
	put_2(b, sod / 60 % 60);
	put_char(b, ':');
	put_2(b, sod % 60);
	put_char(b, '.');
	put_char(b, (char)('0' + ms / 100));
	put_2(b, ms % 100);
	put_char(b, 'Z');
}

size_t mg_buf_finish(struct mg_buf *b)
{
	if (b->cut) {
		memcpy(b->p + b->len, "...", 3);
		b->len += 3;
	}
	b->p[b->len++] = '\n';
	return b->len;
}
