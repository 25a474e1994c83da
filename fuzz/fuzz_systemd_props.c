/* libFuzzer target: what the systemd backend reads and writes without
 * D-Bus (lib/systemd_props.c): where a /proc/PID/cgroup text puts a
 * process, the session id it names, the bytes handed to pam_systemd, and
 * the raise-only plan. Input: byte 0 picks the id buffer's size (0..64),
 * bytes 1..8 a 64-bit value, the rest the cgroup text (cut at the first
 * NUL, as a file read into a string would be).
 * Besides "no crash, no UB", it checks what systemd_props.h promises:
 *   - the id buffer is always NUL-terminated within its size, and in a
 *     session scope the id names a "session-ID" component of the text;
 *   - a cgroup path says "session" exactly when the text's unified line
 *     (or, without one, name=systemd line) does;
 *   - bytes format as "infinity" for no limit, else as decimal that reads
 *     back as the same value, and never past the buffer;
 *   - the plan keeps equal values, and leaves pending only a lowering of a
 *     limit of a unit in use.
 *   - a memory.* file's text holds a value only when it is "max\n" for no
 *     limit or the value's decimal (rounded down to whole pages) and a
 *     newline, which the value formatted back gives again.
 * A broken promise abort()s, so libFuzzer keeps the input. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "systemd_props.h"

#define CHECK(cond, ...)                                                                      \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "fuzz_systemd_props: invariant broken: %s\n  ", #cond); \
			fprintf(stderr, __VA_ARGS__);                                         \
			fputc('\n', stderr);                                                  \
			abort();                                                              \
		}                                                                             \
	} while (0)

static void check_place(const char *text, size_t idlen)
{
	char id[80], probe[96];
	enum mg_sd_place place;

	memset(id, 'x', sizeof(id));
	place = mg_sd_place_of(text, idlen ? id : NULL, idlen);
	CHECK(place == MG_SD_OUTSIDE || place == MG_SD_IN_SESSION || place == MG_SD_IN_USER_SLICE, "place %d",
	      (int)place);
	if (idlen == 0)
		return;
	CHECK(memchr(id, '\0', idlen) != NULL, "id not terminated within %zu bytes", idlen);
	CHECK(place == MG_SD_IN_SESSION || id[0] == '\0', "an id '%s' outside a session scope", id);
	if (place == MG_SD_IN_SESSION && idlen > 1) {
		CHECK(id[0] != '\0', "an empty session id");
		snprintf(probe, sizeof(probe), "session-%s", id);
		CHECK(strstr(text, probe) != NULL, "id '%s' is not in the text", id);
		CHECK(strchr(id, '/') == NULL && strchr(id, '\n') == NULL, "id '%s' spans components", id);
	}
}

/* The path of the line mg_sd_place_of reads, copied into path: "0::"
 * first, else the last name=systemd line; NULL when there is none. */
static const char *chosen_path(const char *text, char *path, size_t len)
{
	const char *found = NULL;
	size_t flen = 0;

	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);

		if (n >= 3 && strncmp(line, "0::", 3) == 0) {
			found = line + 3;
			flen = n - 3;
			break;
		}
		const char *c1 = memchr(line, ':', n);
		if (c1 && (size_t)(line + n - c1) > 13 && strncmp(c1 + 1, "name=systemd:", 13) == 0) {
			found = c1 + 14;
			flen = (size_t)(line + n - found);
		}
		line = eol ? eol + 1 : NULL;
	}
	if (!found || flen >= len)
		return NULL;
	memcpy(path, found, flen);
	path[flen] = '\0';
	return path;
}

static void check_bytes(uint64_t v)
{
	char buf[32], small[8], *end;
	size_t n;

	CHECK(mg_sd_format_bytes(v, buf, sizeof(buf)) == 0, "%llu does not fit 32 bytes", (unsigned long long)v);
	if (v == UINT64_MAX) {
		CHECK(strcmp(buf, "infinity") == 0, "no limit formats as '%s'", buf);
	} else {
		errno = 0;
		CHECK(strtoull(buf, &end, 10) == v && *end == '\0' && errno == 0, "%llu formats as '%s'",
		      (unsigned long long)v, buf);
	}
	n = strlen(buf);
	memset(small, 'x', sizeof(small));
	for (size_t len = 1; len < sizeof(small); len++) {
		int r = mg_sd_format_bytes(v, small, len);
		CHECK(r == (n < len ? 0 : -ENOBUFS), "'%s' into %zu bytes: %d", buf, len, r);
		CHECK(memchr(small, '\0', len) != NULL, "'%s' into %zu bytes: not terminated", buf, len);
	}
}

static void check_plan(uint64_t cur, uint64_t want)
{
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		for (int in_use = 0; in_use < 2; in_use++) {
			enum mg_sd_plan p = mg_sd_plan((enum mg_key)k, cur, want, in_use);
			bool limit = k == MG_KEY_MEMORY_MAX || k == MG_KEY_MEMORY_HIGH || k == MG_KEY_MEMORY_SWAP_MAX;

			CHECK((p == MG_SD_KEEP) == (cur == want), "key %d %llu -> %llu: plan %d", k,
			      (unsigned long long)cur, (unsigned long long)want, (int)p);
			CHECK((p == MG_SD_PENDING) == (limit && in_use && want < cur), "key %d %llu -> %llu in use %d: plan %d",
			      k, (unsigned long long)cur, (unsigned long long)want, in_use, (int)p);
		}
	}
}

static void check_file_holds(const char *text, uint64_t want, uint64_t page)
{
	char expect[32];
	uint64_t stored = want;

	if (!mg_sd_file_holds(text, want, page))
		return;
	if (want == MG_CG_UNLIMITED) {
		CHECK(strcmp(text, "max\n") == 0, "'%s' holds no limit", text);
		return;
	}
	if (page)
		stored -= want % page;
	snprintf(expect, sizeof(expect), "%llu\n", (unsigned long long)stored);
	CHECK(strcmp(text, expect) == 0, "'%s' holds %llu (page %llu)", text, (unsigned long long)want,
	      (unsigned long long)page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[4096], id[80];
	uint64_t v = 0;
	char *text;

	if (size < 9)
		return 0;
	memcpy(&v, data + 1, sizeof(v));
	text = malloc(size - 9 + 1);
	if (!text)
		return 0;
	memcpy(text, data + 9, size - 9);
	text[size - 9] = '\0';

	check_place(text, data[0] % 65);
	if (chosen_path(text, path, sizeof(path))) {
		bool in_session = mg_sd_session_of_path(path, id, sizeof(id));
		CHECK(in_session == (mg_sd_place_of(text, NULL, 0) == MG_SD_IN_SESSION), "path '%s' session %d", path,
		      in_session);
	}
	check_bytes(v);
	check_file_holds(text, v, data[0] & 1 ? 4096 : 0);
	check_file_holds(text, MG_CG_UNLIMITED, 4096);
	{
		/* The text's own number, when it is one, as the wanted value. */
		uint64_t n = strtoull(text, NULL, 10);
		check_file_holds(text, n, 4096);
		check_file_holds(text, n, 0);
	}
	check_plan(v, v >> (data[0] & 63));
	check_plan(v >> (data[0] & 63), v);
	free(text);
	return 0;
}
