/* memguardctl status: was a session started with trace=? The answer is in
 * the environment its processes were started with: the shim in LD_PRELOAD
 * and MEMGUARD_THRESHOLD, as pam_memguard put them there. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "live.h"
#include "readfile.h"
#include "shim_path.h"

static bool preload_has_shim(const char *v)
{
	size_t n = strlen(MG_PRELOAD_PATH);

	for (const char *hit = strstr(v, MG_PRELOAD_PATH); hit; hit = strstr(hit + 1, MG_PRELOAD_PATH))
		if ((hit == v || hit[-1] == ' ' || hit[-1] == ':') && (hit[n] == '\0' || hit[n] == ' ' || hit[n] == ':'))
			return true;
	return false;
}

/* 1 when pid's environment has the shim (threshold copied), 0 when not,
 * -errno when it cannot be read (the process is gone, say). */
static int pid_traced(long pid, char *threshold, size_t len)
{
	char path[64], *env = NULL;
	size_t n = 0;
	bool shim = false;
	int r;

	snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
	r = mg_read_file(path, 1 << 20, &env, &n);
	if (r < 0)
		return r;
	threshold[0] = '\0';
	for (size_t i = 0; i < n; i += strlen(env + i) + 1) {
		const char *kv = env + i;
		if (strncmp(kv, "LD_PRELOAD=", 11) == 0)
			shim = preload_has_shim(kv + 11);
		else if (strncmp(kv, "MEMGUARD_THRESHOLD=", 19) == 0)
			snprintf(threshold, len, "%s", kv + 19);
	}
	free(env);
	return shim;
}

int live_session_trace(const char *dir, char *threshold, size_t len)
{
	char path[4096], *procs = NULL;
	size_t n = 0;
	int r, found = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	r = mg_read_file(path, 1 << 20, &procs, &n);
	if (r < 0)
		return r;
	for (char *p = procs, *end; p < procs + n && !found; p = end + 1) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		found = pid_traced(pid, threshold, len) == 1;
	}
	free(procs);
	return found;
}
