#include "settings.h"

#include <errno.h>
#include <string.h>

#include "size.h"

const struct mg_pl_var mg_pl_vars[] = {
	{ "MEMGUARD_THRESHOLD", "a size such as 64M, or max" },
	{ "MEMGUARD_LOG", "stderr, syslog or an absolute file name" },
	{ "MEMGUARD_FORMAT", "text or json" },
	{ "MEMGUARD_BACKTRACE", "a number of frames from 0 to 32" },
	{ "MEMGUARD_ABORT_ON_FAIL", "0 or 1" },
	{ "MEMGUARD_FAIL_ABOVE", "a size such as 1G" },
	{ "MEMGUARD_FAIL_AFTER", "a count of allocations" },
	{ "MEMGUARD_RATELIMIT", "REPORTS or REPORTS/SECONDS, 0 for no limit" },
};
const size_t mg_pl_nvars = sizeof(mg_pl_vars) / sizeof(mg_pl_vars[0]);

void mg_pl_settings_default(struct mg_pl_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->threshold = MG_PL_DEFAULT_THRESHOLD;
	s->fail_above = MG_PL_OFF;
	s->fail_after = MG_PL_OFF;
	s->backtrace = MG_PL_DEFAULT_BACKTRACE;
	s->burst = MG_PL_DEFAULT_BURST;
	s->window = MG_PL_DEFAULT_WINDOW;
	s->format = MG_PL_TEXT;
	s->sink = MG_PL_STDERR;
}

int mg_pl_parse_bytes(const char *value, uint64_t *out)
{
	struct mg_size sz;
	int r = mg_size_parse(value, strlen(value), &sz);

	if (r < 0)
		return r;
	/* A share of RAM would need /proc/meminfo at every start; not worth it. */
	if (sz.kind == MG_SIZE_PERCENT)
		return -EINVAL;
	*out = sz.kind == MG_SIZE_MAX ? MG_PL_OFF : sz.value;
	return 0;
}

/* Decimal digits only, up to max; the end of the digits goes to *end. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out, const char **end)
{
	uint64_t n = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n > (max - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	*out = n;
	*end = p;
	return 0;
}

static int parse_whole(const char *s, uint64_t max, uint64_t *out)
{
	const char *end;
	int r = parse_uint(s, max, out, &end);

	if (r < 0)
		return r;
	return *end ? -EINVAL : 0;
}

static int apply_log(struct mg_pl_settings *s, const char *v)
{
	size_t len = strlen(v);

	if (strcmp(v, "stderr") == 0) {
		s->sink = MG_PL_STDERR;
		return 0;
	}
	if (strcmp(v, "syslog") == 0) {
		s->sink = MG_PL_SYSLOG;
		return 0;
	}
	/* Relative names would follow every chdir of the host program. */
	if (v[0] != '/')
		return -EINVAL;
	if (len >= sizeof(s->log_path))
		return -ERANGE;
	/* Refuse a bad %-sequence or a name too long for the longest pid
	 * (PID_MAX_LIMIT) now rather than at the first report. */
	char probe[MG_PL_PATH_EXPANDED];
	int r = mg_pl_expand_path(v, 4194304, probe, sizeof(probe));
	if (r < 0)
		return r == -ENAMETOOLONG ? -ERANGE : r;
	memcpy(s->log_path, v, len + 1);
	s->sink = MG_PL_FILE;
	return 0;
}

static int apply_ratelimit(struct mg_pl_settings *s, const char *v)
{
	uint64_t burst, window = s->window;
	const char *end;
	int r = parse_uint(v, 1000000, &burst, &end);

	if (r < 0)
		return r;
	if (*end == '/') {
		r = parse_whole(end + 1, 86400, &window);
		if (r < 0)
			return r;
		if (window == 0)
			return -ERANGE;
	} else if (*end) {
		return -EINVAL;
	}
	s->burst = (unsigned)burst;
	s->window = (unsigned)window;
	return 0;
}

int mg_pl_setting_apply(struct mg_pl_settings *s, size_t idx, const char *v)
{
	uint64_t n;
	int r;

	switch (idx) {
	case 0:
		r = mg_pl_parse_bytes(v, &n);
		if (r == 0)
			s->threshold = n;
		return r;
	case 1:
		return apply_log(s, v);
	case 2:
		if (strcmp(v, "text") == 0)
			s->format = MG_PL_TEXT;
		else if (strcmp(v, "json") == 0)
			s->format = MG_PL_JSON;
		else
			return -EINVAL;
		return 0;
	case 3:
		r = parse_whole(v, MG_PL_BT_MAX, &n);
		if (r == 0)
			s->backtrace = (unsigned)n;
		return r;
	case 4:
		if (strcmp(v, "0") == 0)
			s->abort_on_fail = false;
		else if (strcmp(v, "1") == 0)
			s->abort_on_fail = true;
		else
			return -EINVAL;
		return 0;
	case 5:
		r = mg_pl_parse_bytes(v, &n);
		if (r == 0)
			s->fail_above = n;
		return r;
	case 6:
		r = parse_whole(v, MG_PL_OFF - 1, &n);
		if (r == 0)
			s->fail_after = n;
		return r;
	case 7:
		return apply_ratelimit(s, v);
	default:
		return -EINVAL;
	}
}

static int put_pid(char *out, size_t outlen, size_t *pos, pid_t pid)
{
	char tmp[24];
	size_t n = 0;
	unsigned long v = (unsigned long)pid;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (*pos + n >= outlen)
		return -ENAMETOOLONG;
	while (n)
		out[(*pos)++] = tmp[--n];
	return 0;
}

int mg_pl_expand_path(const char *tmpl, pid_t pid, char *out, size_t outlen)
{
	size_t pos = 0;

	if (outlen == 0)
		return -ENAMETOOLONG;
	for (const char *p = tmpl; *p; p++) {
		if (*p == '%') {
			p++;
			if (*p == 'p') {
				int r = put_pid(out, outlen, &pos, pid);
				if (r < 0)
					return r;
				continue;
			}
			if (*p != '%')
				return -EINVAL;
		}
		if (pos + 1 >= outlen)
			return -ENAMETOOLONG;
		out[pos++] = *p;
	}
	out[pos] = '\0';
	return 0;
}
