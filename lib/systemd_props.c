#include "systemd_props.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"

const char *mg_sd_property(enum mg_key key)
{
	switch (key) {
	case MG_KEY_MEMORY_MAX:
		return "MemoryMax";
	case MG_KEY_MEMORY_HIGH:
		return "MemoryHigh";
	case MG_KEY_MEMORY_SWAP_MAX:
		return "MemorySwapMax";
	case MG_KEY_MEMORY_LOW:
		return "MemoryLow";
	case MG_KEY_MEMORY_MIN:
		return "MemoryMin";
	default:
		return NULL;
	}
}

uint64_t mg_sd_default(enum mg_key key)
{
	return key == MG_KEY_MEMORY_LOW || key == MG_KEY_MEMORY_MIN ? 0 : MG_CG_UNLIMITED;
}

int mg_sd_format_bytes(uint64_t bytes, char *buf, size_t len)
{
	int n;

	if (bytes == MG_CG_UNLIMITED)
		n = snprintf(buf, len, "infinity");
	else
		n = snprintf(buf, len, "%llu", (unsigned long long)bytes);
	return n < 0 || (size_t)n >= len ? -ENOBUFS : 0;
}

int mg_sd_user_slice(uid_t uid, char *buf, size_t len)
{
	int n = snprintf(buf, len, "user-%u.slice", (unsigned)uid);

	return n < 0 || (size_t)n >= len ? -ENOBUFS : 0;
}

int mg_sd_control_dropin(const char *unit, const char *property, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/run/systemd/system.control/%s.d/50-%s.conf", unit, property);

	return n < 0 || (size_t)n >= len ? -ENOBUFS : 0;
}

/* The last path component that starts with prefix and ends with suffix. */
static const char *component(const char *path, size_t plen, const char *prefix, const char *suffix, size_t *len)
{
	const char *found = NULL;
	size_t pre = strlen(prefix), suf = strlen(suffix);

	for (const char *p = path; p < path + plen;) {
		const char *end = memchr(p, '/', (size_t)(path + plen - p));
		size_t n = end ? (size_t)(end - p) : (size_t)(path + plen - p);

		if (n > pre + suf && strncmp(p, prefix, pre) == 0 && strncmp(p + n - suf, suffix, suf) == 0) {
			found = p;
			*len = n;
		}
		p += n + 1;
	}
	return found;
}

static enum mg_sd_place place_of_path(const char *path, size_t plen, char *id, size_t idlen)
{
	const char *c;
	size_t n;

	if ((c = component(path, plen, "session-", ".scope", &n))) {
		size_t idn = n - strlen("session-") - strlen(".scope");
		if (id && idlen) {
			if (idn >= idlen)
				idn = idlen - 1;
			memcpy(id, c + strlen("session-"), idn);
			id[idn] = '\0';
		}
		return MG_SD_IN_SESSION;
	}
	if (component(path, plen, "user-", ".slice", &n) && n > strlen("user-.slice"))
		return MG_SD_IN_USER_SLICE;
	return MG_SD_OUTSIDE;
}

enum mg_sd_place mg_sd_place_of(const char *proc_cgroup, char *id, size_t idlen)
{
	const char *fallback = NULL;
	size_t fallback_len = 0;

	if (id && idlen)
		id[0] = '\0';
	for (const char *line = proc_cgroup; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);
		const char *c1 = memchr(line, ':', n), *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;

		if (c2) {
			const char *path = c2 + 1;
			size_t plen = n - (size_t)(path - line);
			/* "0::" is the unified hierarchy; on a hybrid host systemd
			 * keeps its tree in the name=systemd hierarchy too. */
			if (c1 == line + 1 && line[0] == '0' && c2 == c1 + 1)
				return place_of_path(path, plen, id, idlen);
			if ((size_t)(c2 - c1 - 1) == strlen("name=systemd") && strncmp(c1 + 1, "name=systemd", 12) == 0) {
				fallback = path;
				fallback_len = plen;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return fallback ? place_of_path(fallback, fallback_len, id, idlen) : MG_SD_OUTSIDE;
}

bool mg_sd_session_of_path(const char *path, char *id, size_t idlen)
{
	return place_of_path(path, strlen(path), id, idlen) == MG_SD_IN_SESSION;
}

enum mg_sd_plan mg_sd_plan(enum mg_key key, uint64_t current, uint64_t want, bool unit_in_use)
{
	bool limit = key == MG_KEY_MEMORY_MAX || key == MG_KEY_MEMORY_HIGH || key == MG_KEY_MEMORY_SWAP_MAX;

	if (current == want)
		return MG_SD_KEEP;
	if (limit && unit_in_use && want < current)
		return MG_SD_PENDING;
	return MG_SD_SET;
}

bool mg_sd_file_holds(const char *text, uint64_t want, uint64_t page)
{
	uint64_t v = 0;
	const char *p = text;

	if (strcmp(text, "max\n") == 0)
		return want == MG_CG_UNLIMITED;
	/* The kernel writes no leading zero. */
	if (want == MG_CG_UNLIMITED || *p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\n'))
		return false;
	/* By hand rather than strtoull: no sign, no space, no overflow. */
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (strcmp(p, "\n") != 0)
		return false;
	if (page)
		want -= want % page;
	return v == want;
}

bool mg_sd_has_control_dropin(const char *unit, const char *property)
{
	char path[512];

	return mg_sd_control_dropin(unit, property, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

int mg_sd_transient_dropin(const char *unit, const char *property, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/run/systemd/transient/%s.d/50-%s.conf", unit, property);

	return n < 0 || (size_t)n >= len ? -ENOBUFS : 0;
}

bool mg_sd_has_runtime_dropin(const char *unit, const char *property)
{
	char path[512];

	return mg_sd_has_control_dropin(unit, property) ||
	       (mg_sd_transient_dropin(unit, property, path, sizeof(path)) == 0 && access(path, F_OK) == 0);
}

enum mg_sd_want mg_sd_want(const struct mg_caps *caps, enum mg_key key, bool has_runtime, uint64_t *want)
{
	if (caps->set[key]) {
		*want = caps->bytes[key];
		return MG_SD_WANT_SET;
	}
	if (has_runtime) {
		*want = mg_sd_default(key);
		return MG_SD_WANT_RESET;
	}
	return MG_SD_WANT_NONE;
}
