#include "logline.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "logtime.h"

static size_t word_end(const char *s, size_t len, size_t i)
{
	while (i < len && s[i] != ' ' && s[i] != '\t')
		i++;
	return i;
}

static size_t blanks(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/* "[   12.345678]" at s[i] (the '[' optional: an index may cut it off):
 * returns the index after it and its blanks, or i. */
static size_t mono(const char *s, size_t len, size_t i, bool bracket, int64_t *usec)
{
	size_t j = i;
	int64_t secs = 0, frac = 0, scale = 100000;
	int nd = 0;

	if (bracket) {
		if (j >= len || s[j] != '[')
			return i;
		j = blanks(s, len, j + 1);
	}
	while (j < len && isdigit((unsigned char)s[j]) && nd < 12) {
		secs = secs * 10 + (s[j++] - '0');
		nd++;
	}
	if (!nd || j >= len || s[j] != '.')
		return i;
	j++;
	nd = 0;
	while (j < len && isdigit((unsigned char)s[j])) {
		if (scale) {
			frac += (s[j] - '0') * scale;
			scale /= 10;
		}
		j++;
		nd++;
	}
	if (!nd || j >= len || s[j] != ']')
		return i;
	*usec = secs * 1000000 + frac;
	return blanks(s, len, j + 1);
}

/* "ident:", "ident[pid]:", "ident(a:b):" as the whole word s[i..e):
 * sets the ident; strict: only "kernel:" and "ident[pid]:" (a bare
 * "word:" may be the start of a kernel message, such as "oom_reaper:"). */
static bool tag(const char *s, size_t i, size_t e, bool strict, struct mg_logline *out)
{
	size_t n = i;

	if (e - i < 2 || s[e - 1] != ':')
		return false;
	while (n < e - 1 && s[n] != '[' && s[n] != '(')
		n++;
	if (n == i)
		return false;
	if (strict) {
		bool pid = n < e - 1 && s[n] == '[' && s[e - 2] == ']';
		for (size_t k = n + 1; pid && k < e - 2; k++)
			if (!isdigit((unsigned char)s[k]))
				pid = false;
		if (!pid && !(n - i == 6 && memcmp(s + i, "kernel", 6) == 0 && n == e - 1))
			return false;
	}
	for (size_t k = i; k < n; k++)
		if ((unsigned char)s[k] < 0x21 || s[k] == ':')
			return false;
	out->ident = s + i;
	out->ident_len = n - i;
	return true;
}

/* "authpriv.info", "kern.warn": the word busybox syslogd adds */
static bool prio_word(const char *s, size_t i, size_t e)
{
	const char *dot = memchr(s + i, '.', e - i);

	if (!dot || dot == s + i || dot + 1 == s + e)
		return false;
	for (size_t k = i; k < e; k++)
		if (s + k != dot && !(s[k] >= 'a' && s[k] <= 'z'))
			return false;
	return true;
}

void mg_logline_split(const char *s, size_t len, int64_t now_usec, struct mg_logline *out)
{
	size_t i = 0, n, e;
	bool syslog_like = false;
	int64_t t;

	memset(out, 0, sizeof(*out));
	/* "<6>": the priority of a syslog datagram as a listener on /dev/log
	 * receives it, and of dmesg -r */
	if (len > 2 && s[0] == '<') {
		size_t k = 1;
		while (k < len && k < 5 && isdigit((unsigned char)s[k]))
			k++;
		if (k > 1 && k < len && s[k] == '>') {
			s += k + 1;
			len -= k + 1;
		}
	}
	if (len && s[0] == '[') {
		n = mono(s, len, 0, true, &out->mono_usec);
		if (n) {
			out->has_mono = true;
			i = n;
		} else if ((n = mg_logtime_ctime(s + 1, len - 1, &t)) && 1 + n < len && s[1 + n] == ']') {
			out->has_time = true;
			out->usec = t;
			i = blanks(s, len, n + 2);
		}
	} else if (len && isdigit((unsigned char)s[0])) {
		if ((n = mg_logtime_iso(s, len, &t))) {
			out->has_time = true;
			out->usec = t;
			i = blanks(s, len, n);
			/* dmesg --time-format iso ("...T10:00:00,123456+01:00 msg")
			 * writes neither host nor program: "memory:" and
			 * "oom_reaper:" start kernel messages there */
			syslog_like = !memchr(s, ',', n);
		} else if ((n = mono(s, len, 0, false, &out->mono_usec))) {
			out->has_mono = true;
			i = n;
		}
	} else if ((n = mg_logtime_syslog(s, len, now_usec, &t))) {
		out->has_time = true;
		out->usec = t;
		i = blanks(s, len, n);
		syslog_like = true;
	}

	e = word_end(s, len, i);
	if (syslog_like) {
		/* [host] ident: */
		if (!tag(s, i, e, false, out)) {
			size_t h = i, he = e, j = blanks(s, len, e);
			e = word_end(s, len, j);
			/* busybox syslogd writes "facility.priority" before the tag */
			if (he > h && !tag(s, j, e, false, out) && prio_word(s, j, e)) {
				j = blanks(s, len, e);
				e = word_end(s, len, j);
			}
			if (he > h && (out->ident || tag(s, j, e, false, out))) {
				out->host = s + h;
				out->host_len = he - h;
			} else
				e = i;
		}
	} else if (!tag(s, i, e, true, out))
		e = i;
	i = blanks(s, len, e);
	/* syslog's copy of a kernel line keeps the kernel's own stamp */
	if (out->ident && out->ident_len == 6 && memcmp(out->ident, "kernel", 6) == 0 && i < len && s[i] == '[') {
		int64_t m;
		n = mono(s, len, i, true, &m);
		if (n != i) {
			out->has_mono = true;
			out->mono_usec = m;
			i = n;
		}
	}
	while (len > i && (s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	out->msg = s + i;
	out->msg_len = len - i;
}

int mg_kmsg_record(const char *rec, size_t len, int64_t *mono_usec, const char **msg, size_t *msg_len)
{
	const char *semi = memchr(rec, ';', len), *p = rec, *nl;
	int field = 0;
	int64_t us = 0;
	bool any = false;

	if (!semi)
		return -EINVAL;
	/* PRIO,SEQ,USEC,FLAGS: the third is the time */
	for (; p < semi; p++) {
		if (*p == ',') {
			field++;
			continue;
		}
		if (field == 2) {
			if (!isdigit((unsigned char)*p) || us > INT64_MAX / 10 - 10)
				return -EINVAL;
			us = us * 10 + (*p - '0');
			any = true;
		} else if (field < 2 && !isdigit((unsigned char)*p))
			return -EINVAL;
	}
	if (field < 2 || !any)
		return -EINVAL;
	p = semi + 1;
	nl = memchr(p, '\n', len - (size_t)(p - rec));
	*mono_usec = us;
	*msg = p;
	*msg_len = nl ? (size_t)(nl - p) : len - (size_t)(p - rec);
	return 0;
}
