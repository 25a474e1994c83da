/* libFuzzer target: the allocation shim's MEMGUARD_* parser
 * (preload/settings.c, with lib/size.c for sizes) and the %p expansion of
 * the log file name. The first input byte picks the variable, the rest is
 * its value (cut at the first NUL, as the environment would).
 * Besides "no crash, no UB", it checks what settings.h promises:
 *   - the result is 0, -EINVAL or -ERANGE, and an error changes nothing;
 *   - an accepted size equals an independent reading of the digits and
 *     suffix; an accepted count is within its range;
 *   - an accepted log file is absolute, kept verbatim, and expands for any
 *     pid Linux hands out (PID_MAX_LIMIT, 4194304, is the longest) into the
 *     sink's buffer, with one % left per %% pair;
 *   - expansion never writes past the buffer it is given, whatever its size.
 * A broken promise abort()s, so libFuzzer keeps the input. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../preload/settings.h"

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_preload_env: invariant broken: %s\n  ", #cond); \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Digits with an optional K/M/G/T, or "max", read with 128-bit arithmetic;
 * -1 when it is not such a spelling or does not fit 64 bits. */
static int reference_bytes(const char *v, uint64_t *out)
{
	unsigned __int128 n = 0;
	size_t i = 0;

	if (strcmp(v, "max") == 0) {
		*out = UINT64_MAX;
		return 0;
	}
	if (v[0] < '0' || v[0] > '9')
		return -1;
	for (; v[i] >= '0' && v[i] <= '9'; i++) {
		n = n * 10 + (unsigned)(v[i] - '0');
		if (n > UINT64_MAX)
			return -1;
	}
	if (v[i]) {
		const char *u = strchr("KMGT", v[i] & ~0x20);
		if (!u || v[i + 1] || !(v[i] >= 'A'))
			return -1;
		n <<= 10 * (u - "KMGT" + 1);
		if (n > UINT64_MAX)
			return -1;
	}
	*out = (uint64_t)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mg_pl_settings s, before;
	char value[2048], out[MG_PL_PATH_EXPANDED];
	size_t idx, len;
	uint64_t want;
	int r;

	if (size < 1)
		return 0;
	idx = data[0] % (mg_pl_nvars + 1); /* one past the end: the path expander */
	len = size - 1 < sizeof(value) - 1 ? size - 1 : sizeof(value) - 1;
	memcpy(value, data + 1, len);
	value[len] = '\0';

	if (idx == mg_pl_nvars) {
		/* Any buffer size, checked by ASan; the result fits or is refused. */
		size_t cap = len ? (size_t)(unsigned char)value[0] % 40 : 0;
		char *buf = malloc(cap ? cap : 1);
		r = mg_pl_expand_path(len ? value + 1 : value, 123456, buf, cap);
		CHECK(r == 0 || r == -EINVAL || r == -ENAMETOOLONG, "r=%d", r);
		if (r == 0)
			CHECK(strlen(buf) < cap, "cap %zu", cap);
		free(buf);
		return 0;
	}

	mg_pl_settings_default(&s);
	before = s;
	r = mg_pl_setting_apply(&s, idx, value);
	CHECK(r == 0 || r == -EINVAL || r == -ERANGE, "%s=%s: r=%d", mg_pl_vars[idx].name, value, r);
	if (r < 0) {
		CHECK(memcmp(&s, &before, sizeof(s)) == 0, "%s=%s changed settings on error",
		      mg_pl_vars[idx].name, value);
		return 0;
	}
	CHECK(s.backtrace <= MG_PL_BT_MAX, "backtrace %u", s.backtrace);
	CHECK(s.window > 0, "window 0");
	switch (idx) {
	case 0:
	case 5:
		CHECK(reference_bytes(value, &want) == 0, "accepted '%s' as a size", value);
		CHECK((idx == 0 ? s.threshold : s.fail_above) == want, "'%s' read as %llu, want %llu", value,
		      (unsigned long long)(idx == 0 ? s.threshold : s.fail_above), (unsigned long long)want);
		break;
	case 1:
		if (s.sink == MG_PL_FILE) {
			CHECK(value[0] == '/' && strcmp(s.log_path, value) == 0, "log '%s' kept as '%s'", value,
			      s.log_path);
			r = mg_pl_expand_path(s.log_path, 4194304, out, sizeof(out));
			CHECK(r == 0, "accepted log '%s' does not expand: %d", value, r);
			size_t pairs = 0, left = 0;
			for (const char *p = value; *p; p++)
				if (p[0] == '%' && p[1] == '%')
					pairs++, p++;
			for (const char *p = out; (p = strchr(p, '%')); p++)
				left++;
			CHECK(left == pairs, "%zu '%%' in the expansion '%s' of '%s', want %zu", left, out, value,
			      pairs);
		} else {
			CHECK(!strcmp(value, s.sink == MG_PL_SYSLOG ? "syslog" : "stderr"), "sink from '%s'", value);
		}
		break;
	case 6:
		CHECK(s.fail_after < MG_PL_OFF, "fail_after off from '%s'", value);
		break;
	default:
		break;
	}
	return 0;
}
