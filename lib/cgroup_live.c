/* Reading what a group holds now: its limits, usage and OOM kills, and
 * whether processes run in it. */
#include "cgroup_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mg_cg_read_limit(const char *dir, const char *file, uint64_t *v)
{
	int dfd = open(dir, MG_CG_DIR_FLAGS), r;

	if (dfd < 0)
		return -errno;
	r = mg_cg_read_limit_at(dfd, file, v);
	close(dfd);
	return r;
}

int mg_cg_oom_kills(const struct mg_cg *cg, const char *dir, uint64_t *kills)
{
	char buf[4096], *p;
	int dfd = open(dir, MG_CG_DIR_FLAGS), r;

	if (dfd < 0)
		return -errno;
	r = mg_cg_read_text_at(dfd, cg->version == 2 ? "memory.events" : "memory.oom_control", buf, sizeof(buf));
	close(dfd);
	if (r < 0)
		return r;
	p = strstr(buf, "oom_kill ");
	if (!p)
		return -ENOENT;
	*kills = strtoull(p + 9, NULL, 10);
	return 0;
}

static void live_limit(int dfd, const char *file, enum mg_key k, struct mg_cg_live *out)
{
	if (mg_cg_read_limit_at(dfd, file, &out->bytes[k]) == 0)
		out->has[k] = true;
}

int mg_cg_read_live(int version, const char *dir, struct mg_cg_live *out)
{
	char buf[4096], *p;
	int dfd = open(dir, MG_CG_DIR_FLAGS);

	memset(out, 0, sizeof(*out));
	if (dfd < 0)
		return -errno;
	if (version == 2) {
		for (int k = 0; k < MG_KEY_COUNT; k++)
			if (mg_cg_v2_file((enum mg_key)k))
				live_limit(dfd, mg_cg_v2_file((enum mg_key)k), (enum mg_key)k, out);
		out->has_current = mg_cg_read_limit_at(dfd, "memory.current", &out->current) == 0;
	} else {
		uint64_t memsw;

		live_limit(dfd, "memory.limit_in_bytes", MG_KEY_MEMORY_MAX, out);
		live_limit(dfd, "memory.soft_limit_in_bytes", MG_KEY_MEMORY_HIGH, out);
		if (out->has[MG_KEY_MEMORY_MAX] && mg_cg_read_limit_at(dfd, "memory.memsw.limit_in_bytes", &memsw) == 0) {
			uint64_t max = out->bytes[MG_KEY_MEMORY_MAX];

			out->has[MG_KEY_MEMORY_SWAP_MAX] = true;
			out->bytes[MG_KEY_MEMORY_SWAP_MAX] =
				memsw == MG_CG_UNLIMITED || max == MG_CG_UNLIMITED || memsw < max ? MG_CG_UNLIMITED
												: memsw - max;
		}
		out->has_current = mg_cg_read_limit_at(dfd, "memory.usage_in_bytes", &out->current) == 0;
	}
	if (mg_cg_read_text_at(dfd, version == 2 ? "memory.events" : "memory.oom_control", buf, sizeof(buf)) == 0 &&
	    (p = strstr(buf, "oom_kill ")) && (p == buf || p[-1] == '\n')) {
		out->oom_kills = strtoull(p + 9, NULL, 10);
		out->has_oom_kills = true;
	}
	close(dfd);
	return 0;
}

static int populated_at(int dfd, int depth)
{
	char buf[16];
	struct dirent *de;
	DIR *d;
	int sub, r;

	r = mg_cg_read_text_at(dfd, "cgroup.procs", buf, sizeof(buf));
	if (r < 0)
		return r;
	if (buf[0])
		return 1;
	if (depth > 32)
		return -ELOOP;
	sub = openat(dfd, ".", MG_CG_DIR_FLAGS);
	d = sub >= 0 ? fdopendir(sub) : NULL;
	if (!d) {
		r = -errno;
		if (sub >= 0)
			close(sub);
		return r;
	}
	r = 0;
	while (r == 0 && (de = readdir(d))) {
		int cfd;

		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cfd = openat(dirfd(d), de->d_name, MG_CG_DIR_FLAGS);
		if (cfd < 0) {
			/* A group removed right now holds nothing. */
			if (errno != ENOENT)
				r = -errno;
			continue;
		}
		r = populated_at(cfd, depth + 1);
		close(cfd);
		if (r == -ENOENT)
			r = 0;
	}
	closedir(d);
	return r;
}

int mg_cg_populated_fd(int version, int dfd)
{
	char buf[256], *p;

	if (version == 2 && mg_cg_read_text_at(dfd, "cgroup.events", buf, sizeof(buf)) == 0 &&
	    (p = strstr(buf, "populated ")) && (p == buf || p[-1] == '\n'))
		return p[10] == '1';
	return populated_at(dfd, 0);
}

int mg_cg_populated(int version, const char *dir)
{
	int dfd = open(dir, MG_CG_DIR_FLAGS), r;

	if (dfd < 0)
		return -errno;
	r = mg_cg_populated_fd(version, dfd);
	close(dfd);
	return r;
}

