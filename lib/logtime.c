#include "logtime.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define USEC 1000000ll

/* Month names as journalctl and syslog daemons print them (%b) in the
 * locales seen in real reports; a trailing '.' is ignored. */
static const char *const month_names[][12] = {
	{ "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec" },
	{ "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
	  "november", "december" },
	{ "jan", "feb", "mär", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "dez" },
	{ "janv", "févr", "mars", "avril", "mai", "juin", "juil", "août", "sept", "oct", "nov", "déc" },
	{ "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic" },
	{ "янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек" },
};

int mg_logtime_month(const char *s, size_t len)
{
	/* English first, without a call per name: every line of a log asks */
	if (len == 3) {
		char l[3] = { (char)(s[0] | 0x20), (char)(s[1] | 0x20), (char)(s[2] | 0x20) };
		for (int m = 0; m < 12; m++)
			if (memcmp(month_names[0][m], l, 3) == 0)
				return m + 1;
	}
	if (len && s[len - 1] == '.')
		len--;
	for (size_t l = 0; l < sizeof(month_names) / sizeof(month_names[0]); l++)
		for (int m = 0; m < 12; m++) {
			const char *name = month_names[l][m];
			if (strlen(name) == len && strncasecmp(name, s, len) == 0)
				return m + 1;
		}
	return 0;
}

/* Digits at s[*i], at most max of them, at least min. */
static bool digits(const char *s, size_t len, size_t *i, int min, int max, int *out)
{
	int n = 0, v = 0;

	while (*i < len && n < max && isdigit((unsigned char)s[*i])) {
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		n++;
	}
	*out = v;
	return n >= min;
}

static bool lit(const char *s, size_t len, size_t *i, char c)
{
	if (*i < len && s[*i] == c) {
		(*i)++;
		return true;
	}
	return false;
}

/* ".123456": microseconds. */
static int64_t fraction(const char *s, size_t len, size_t *i)
{
	int64_t us = 0, scale = 100000;

	/* dmesg --time-format iso writes a comma */
	if (*i + 1 >= len || (s[*i] != '.' && s[*i] != ',') || !isdigit((unsigned char)s[*i + 1]))
		return 0;
	(*i)++;
	while (*i < len && isdigit((unsigned char)s[*i])) {
		us += (s[*i] - '0') * scale;
		scale /= 10;
		(*i)++;
	}
	return us;
}

/* mktime stats the zone file on every call, and a log has a stamp on
 * every line: remember the start of the last hour asked for (zones change
 * their offset on the hour). Not thread-safe: memguardctl has one thread. */
static int64_t local_usec(struct tm *tm)
{
	static struct {
		bool valid;
		int year, mon, mday, hour;
		int64_t usec;
	} last;
	struct tm hour = *tm;
	int secs = tm->tm_min * 60 + tm->tm_sec;

	if (tm->tm_min < 0 || tm->tm_min > 59 || tm->tm_sec < 0 || tm->tm_sec > 60 || tm->tm_mday < 1 || tm->tm_mday > 31 ||
	    tm->tm_mon < 0 || tm->tm_mon > 11 || tm->tm_hour < 0 || tm->tm_hour > 23) {
		tm->tm_isdst = -1;
		return (int64_t)mktime(tm) * USEC;
	}
	if (!last.valid || last.year != tm->tm_year || last.mon != tm->tm_mon || last.mday != tm->tm_mday ||
	    last.hour != tm->tm_hour) {
		hour.tm_min = hour.tm_sec = 0;
		hour.tm_isdst = -1;
		last.usec = (int64_t)mktime(&hour) * USEC;
		last.valid = true;
		last.year = tm->tm_year;
		last.mon = tm->tm_mon;
		last.mday = tm->tm_mday;
		last.hour = tm->tm_hour;
	}
	return last.usec + (int64_t)secs * USEC;
}

/* The local year of now, remembered for the same now. */
static int year_of(int64_t now_usec)
{
	static int64_t last_now = INT64_MIN;
	static int year;
	time_t now = (time_t)(now_usec / USEC);
	struct tm tm;

	if (now_usec != last_now) {
		localtime_r(&now, &tm);
		year = tm.tm_year;
		last_now = now_usec;
	}
	return year;
}

static bool hms(const char *s, size_t len, size_t *i, struct tm *tm)
{
	int h, m, sec;

	if (!digits(s, len, i, 1, 2, &h) || !lit(s, len, i, ':') || !digits(s, len, i, 2, 2, &m) ||
	    !lit(s, len, i, ':') || !digits(s, len, i, 2, 2, &sec))
		return false;
	if (h > 23 || m > 59 || sec > 60)
		return false;
	tm->tm_hour = h;
	tm->tm_min = m;
	tm->tm_sec = sec;
	return true;
}

static size_t word(const char *s, size_t len, size_t i)
{
	size_t j = i;

	while (j < len && s[j] != ' ' && s[j] != '\t')
		j++;
	return j - i;
}

static size_t skip_blanks(const char *s, size_t len, size_t i)
{
	while (i < len && s[i] == ' ')
		i++;
	return i;
}

size_t mg_logtime_syslog(const char *s, size_t len, int64_t now_usec, int64_t *usec)
{
	struct tm tm = { 0 };
	size_t i = 0, w = word(s, len, 0);
	int mon = w && w <= 12 ? mg_logtime_month(s, w) : 0, day;
	int64_t frac;

	if (!mon)
		return 0;
	i = skip_blanks(s, len, w);
	if (i == w || !digits(s, len, &i, 1, 2, &day) || day < 1 || day > 31 || !lit(s, len, &i, ' '))
		return 0;
	if (!hms(s, len, &i, &tm))
		return 0;
	frac = fraction(s, len, &i);
	if (i < len && s[i] != ' ')
		return 0;
	tm.tm_year = year_of(now_usec);
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	struct tm copy = tm;
	*usec = local_usec(&copy) + frac;
	if (*usec > now_usec + 86400 * USEC) {
		tm.tm_year--;
		*usec = local_usec(&tm) + frac;
	}
	return i;
}

/* "Z", "+01:00", "+0100", "-05": seconds east of UTC. */
static bool offset(const char *s, size_t len, size_t *i, long *east)
{
	int h, m = 0, sign;

	if (lit(s, len, i, 'Z')) {
		*east = 0;
		return true;
	}
	if (*i >= len || (s[*i] != '+' && s[*i] != '-'))
		return false;
	sign = s[*i] == '-' ? -1 : 1;
	(*i)++;
	if (!digits(s, len, i, 2, 2, &h))
		return false;
	lit(s, len, i, ':');
	digits(s, len, i, 2, 2, &m);
	*east = sign * (h * 3600l + m * 60l);
	return true;
}

static bool ymd(const char *s, size_t len, size_t *i, struct tm *tm)
{
	int y, mo, d;

	if (!digits(s, len, i, 4, 4, &y) || !lit(s, len, i, '-') || !digits(s, len, i, 2, 2, &mo) ||
	    !lit(s, len, i, '-') || !digits(s, len, i, 2, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return false;
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	return true;
}

size_t mg_logtime_iso(const char *s, size_t len, int64_t *usec)
{
	struct tm tm = { 0 };
	size_t i = 0;
	int64_t frac;
	long east;

	if (!ymd(s, len, &i, &tm) || i >= len || (s[i] != 'T' && s[i] != ' '))
		return 0;
	i++;
	if (!hms(s, len, &i, &tm))
		return 0;
	frac = fraction(s, len, &i);
	if (offset(s, len, &i, &east))
		*usec = ((int64_t)timegm(&tm) - east) * USEC + frac;
	else
		*usec = local_usec(&tm) + frac;
	if (i < len && s[i] != ' ')
		return 0;
	return i;
}

size_t mg_logtime_ctime(const char *s, size_t len, int64_t *usec)
{
	struct tm tm = { 0 };
	size_t i = word(s, len, 0), w;
	int day, year;

	if (!i || i > 12)
		return 0;
	i = skip_blanks(s, len, i);
	w = word(s, len, i);
	if (!w || w > 12 || !(tm.tm_mon = mg_logtime_month(s + i, w)))
		return 0;
	tm.tm_mon--;
	i = skip_blanks(s, len, i + w);
	if (!digits(s, len, &i, 1, 2, &day) || day < 1 || day > 31 || !lit(s, len, &i, ' '))
		return 0;
	tm.tm_mday = day;
	if (!hms(s, len, &i, &tm) || !lit(s, len, &i, ' ') || !digits(s, len, &i, 4, 4, &year))
		return 0;
	tm.tm_year = year - 1900;
	*usec = local_usec(&tm);
	return i;
}

static int64_t midnight(int64_t now_usec, int days_back)
{
	time_t now = (time_t)(now_usec / USEC);
	struct tm tm;

	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday -= days_back;
	return local_usec(&tm);
}

int mg_logtime_parse_user(const char *text, int64_t now_usec, int64_t *usec)
{
	static const struct {
		const char *name;
		int64_t secs;
	} units[] = {
		{ "s", 1 },	 { "sec", 1 },	  { "min", 60 },     { "m", 60 },     { "h", 3600 },
		{ "hour", 3600 }, { "hours", 3600 }, { "d", 86400 },    { "day", 86400 }, { "days", 86400 },
		{ "w", 604800 }, { "week", 604800 }, { "weeks", 604800 },
	};
	size_t len = strlen(text), i = 0;
	struct tm tm = { 0 };

	if (strcmp(text, "now") == 0) {
		*usec = now_usec;
		return 0;
	}
	if (strcmp(text, "today") == 0) {
		*usec = midnight(now_usec, 0);
		return 0;
	}
	if (strcmp(text, "yesterday") == 0) {
		*usec = midnight(now_usec, 1);
		return 0;
	}
	if (text[0] == '-' && isdigit((unsigned char)text[1])) {
		char *end;
		long long n;

		errno = 0;
		n = strtoll(text + 1, &end, 10);
		if (errno || n < 0 || n > 100000000)
			return -EINVAL;
		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (strcmp(end, units[u].name) == 0) {
				*usec = now_usec - (int64_t)n * units[u].secs * USEC;
				return 0;
			}
		return -EINVAL;
	}
	/* HH:MM[:SS] today */
	if (len >= 4 && len <= 8 && text[1 + (text[2] == ':' ? 1 : 0)] == ':') {
		time_t now = (time_t)(now_usec / USEC);
		int h, m, s = 0;

		localtime_r(&now, &tm);
		if (!digits(text, len, &i, 1, 2, &h) || !lit(text, len, &i, ':') || !digits(text, len, &i, 2, 2, &m))
			return -EINVAL;
		if (lit(text, len, &i, ':') && !digits(text, len, &i, 2, 2, &s))
			return -EINVAL;
		if (i != len || h > 23 || m > 59 || s > 60)
			return -EINVAL;
		tm.tm_hour = h;
		tm.tm_min = m;
		tm.tm_sec = s;
		*usec = local_usec(&tm);
		return 0;
	}
	if (!ymd(text, len, &i, &tm))
		return -EINVAL;
	if (i == len) {
		*usec = local_usec(&tm);
		return 0;
	}
	if (text[i] != ' ' && text[i] != 'T')
		return -EINVAL;
	i++;
	{
		int h, m, s = 0;
		int64_t frac;
		long east;

		if (!digits(text, len, &i, 1, 2, &h) || !lit(text, len, &i, ':') || !digits(text, len, &i, 2, 2, &m))
			return -EINVAL;
		if (lit(text, len, &i, ':') && !digits(text, len, &i, 2, 2, &s))
			return -EINVAL;
		if (h > 23 || m > 59 || s > 60)
			return -EINVAL;
		tm.tm_hour = h;
		tm.tm_min = m;
		tm.tm_sec = s;
		frac = fraction(text, len, &i);
		if (offset(text, len, &i, &east)) {
			if (i != len)
				return -EINVAL;
			*usec = ((int64_t)timegm(&tm) - east) * USEC + frac;
			return 0;
		}
		if (i != len)
			return -EINVAL;
		*usec = local_usec(&tm) + frac;
	}
	return 0;
}

void mg_logtime_format(int64_t usec, char *buf, size_t len)
{
	time_t t = (time_t)(usec / USEC);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "@%lld", (long long)(usec / USEC));
}

void mg_logtime_format_iso(int64_t usec, char *buf, size_t len)
{
	time_t t = (time_t)(usec / USEC);
	struct tm tm;
	char z[8];

	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) || !strftime(z, sizeof(z), "%z", &tm)) {
		snprintf(buf, len, "@%lld", (long long)(usec / USEC));
		return;
	}
	/* +0100 -> +01:00, as RFC 3339 wants */
	size_t n = strlen(buf);
	if (strlen(z) == 5)
		snprintf(buf + n, len > n ? len - n : 0, "%.3s:%s", z, z + 3);
}
