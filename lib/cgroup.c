/* Finding the memory hierarchy and memguard's base in it, this
 * process's place there, the names of session groups and what the
 * policy's caps are in bytes. The tree itself: cgroup_tree.c. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroup_io.h"
#include "proc_stat.h"
#include "readfile.h"

static long fs_type(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf) < 0)
		return -errno;
	return (long)sf.f_type;
}

/* The topmost directory of the same cgroup filesystem above path. */
static char *mount_of(const char *path, long type)
{
	char *cur = strdup(path);

	while (cur && strcmp(cur, "/") != 0) {
		char *copy = strdup(cur), *parent;
		if (!copy)
			break;
		parent = dirname(copy);
		if (fs_type(parent) != type) {
			free(copy);
			return cur;
		}
		free(cur);
		cur = strdup(parent);
		free(copy);
	}
	return cur;
}

static int v2_has_memory(const char *dir)
{
	char buf[512];
	int dfd = open(dir, MG_CG_DIR_FLAGS), r;

	if (dfd < 0)
		return -errno;
	r = mg_cg_read_text_at(dfd, "cgroup.controllers", buf, sizeof(buf));
	close(dfd);
	if (r < 0)
		return r;
	return mg_cg_has_word(buf, "memory") ? 0 : -ENODEV;
}

static int v1_is_memory(const char *dir)
{
	struct stat st;
	char *p = NULL;
	int r;

	if (asprintf(&p, "%s/memory.usage_in_bytes", dir) < 0)
		return -ENOMEM;
	r = stat(p, &st) < 0 ? -ENODEV : 0;
	free(p);
	return r;
}

static int detect_at(const char *parent, const char *base, struct mg_cg *cg)
{
	long t = fs_type(parent);
	int r;

	if (t < 0)
		return (int)t;
	if (t == CGROUP2_SUPER_MAGIC) {
		cg->version = 2;
	} else if (t == CGROUP_SUPER_MAGIC) {
		cg->version = 1;
		if ((r = v1_is_memory(parent)) < 0)
			return r;
	} else {
		return -ENODEV;
	}
	cg->mount = mount_of(parent, t);
	cg->base = strdup(base);
	if (!cg->mount || !cg->base)
		return -ENOMEM;
	if (cg->version == 2 && (r = v2_has_memory(cg->mount)) < 0)
		return r;
	return 0;
}

int mg_cg_detect(const char *base_override, struct mg_cg *cg)
{
	int r;

	memset(cg, 0, sizeof(*cg));
	if (base_override) {
		char *copy = strdup(base_override);
		if (!copy)
			return -ENOMEM;
		r = detect_at(dirname(copy), base_override, cg);
		free(copy);
	} else {
		r = detect_at("/sys/fs/cgroup", "/sys/fs/cgroup/memguard", cg);
		if (r == 0 || r == -ENOMEM)
			goto out;
		/* A hybrid host: cgroup2 without memory, v1 memory beside it. */
		mg_cg_free(cg);
		r = detect_at("/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory/memguard", cg);
	}
out:
	if (r < 0)
		mg_cg_free(cg);
	return r;
}

void mg_cg_free(struct mg_cg *cg)
{
	free(cg->mount);
	free(cg->base);
	memset(cg, 0, sizeof(*cg));
}

/* ---- what the policy asks for ---- */

void mg_caps_from_resolved(const struct mg_resolved *r, uint64_t memtotal, char scope, struct mg_caps *out)
{
	static const enum mg_key user_keys[] = { MG_KEY_MEMORY_MAX, MG_KEY_MEMORY_HIGH, MG_KEY_MEMORY_SWAP_MAX,
						 MG_KEY_MEMORY_LOW, MG_KEY_MEMORY_MIN };
	/* Session caps land in the session group's memory.max and memory.high. */
	static const enum mg_key session_from[] = { MG_KEY_SESSION_MEMORY_MAX, MG_KEY_SESSION_MEMORY_HIGH };
	static const enum mg_key session_to[] = { MG_KEY_MEMORY_MAX, MG_KEY_MEMORY_HIGH };
	long page = sysconf(_SC_PAGESIZE);

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < 5; i++) {
		enum mg_key from = user_keys[i], to = user_keys[i];
		if (scope == 's') {
			if (i >= 2)
				break;
			from = session_from[i];
			to = session_to[i];
		} else if (scope == 'a' && i >= 3) {
			break;
		}
		if (!r->v[from].set)
			continue;
		out->set[to] = true;
		out->bytes[to] = mg_size_bytes(&r->v[from].u.size, memtotal);
		/* A percentage can fall below the floor on a small machine. */
		if ((to == MG_KEY_MEMORY_MAX || to == MG_KEY_MEMORY_HIGH) && out->bytes[to] < MG_CAP_FLOOR)
			out->bytes[to] = MG_CAP_FLOOR;
		if (out->bytes[to] != MG_CG_UNLIMITED && page > 0)
			out->bytes[to] -= out->bytes[to] % (uint64_t)page;
	}
	if (scope == 's')
		out->oom_group = r->v[MG_KEY_OOM_GROUP].set && r->v[MG_KEY_OOM_GROUP].u.flag;
}

int mg_cg_session_name(pid_t pid, char *buf, size_t len)
{
	unsigned long long start;
	int r = mg_proc_stat_field(pid, MG_PROC_STAT_STARTTIME, &start);

	if (r < 0)
		return r;
	snprintf(buf, len, "session-%d-%llu", (int)pid, start);
	return 0;
}

int mg_cg_self(const struct mg_cg *cg, char **rel)
{
	char *buf, *line, *save = NULL;
	size_t len;
	int r = mg_read_file("/proc/self/cgroup", 1 << 16, &buf, &len);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		/* v2: "0::/path" (line now reads "0:"); v1: "N:memory,...:/path". */
		if ((cg->version == 2 && c1 == line + 1 && line[0] == '0' && c1[1] == '\0') ||
		    (cg->version == 1 && mg_cg_has_word(c1 + 1, "memory"))) {
			*rel = strdup(c2 + 1);
			r = *rel ? 0 : -ENOMEM;
			break;
		}
	}
	free(buf);
	return r;
}

bool mg_cg_key_applies(int version, enum mg_key k)
{
	/* v1 has no memory.low, memory.min or memory.oom.group. */
	return version != 1 || (k != MG_KEY_MEMORY_LOW && k != MG_KEY_MEMORY_MIN && k != MG_KEY_OOM_GROUP);
}
