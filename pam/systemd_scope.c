/* Sessions that logind never sees. On Debian the non-interactive stack
 * (common-session-noninteractive: cron, runuser, sudo) has no pam_systemd
 * line, so such a session stays in the calling service's cgroup
 * (cron.service), outside the user's slice and every cap on it: a user
 * could run the leak that the cap is there for from a crontab. When the
 * service's session stack loads no pam_systemd, the module puts the
 * caller into a transient scope of its own in user-UID.slice, as
 * `systemd-run --scope --slice=user-UID.slice` would: the user's caps
 * hold, the session's own caps go on the scope, and systemd removes the
 * scope once its last process is gone. */
#include "systemd_scope.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "readfile.h"
#include "systemd_props.h"

/* The process's start time in clock ticks since boot: with the pid, a name
 * no other process of this boot has, so a scope left by an earlier holder
 * of the pid never clashes. */
static int start_time(unsigned long long *ticks)
{
	char *text = NULL, *p;
	size_t len;
	int r = mg_read_file("/proc/self/stat", 4096, &text, &len);

	if (r < 0)
		return r;
	/* comm may hold spaces and parentheses: the fields follow the last ')'. */
	p = strrchr(text, ')');
	r = -EINVAL;
	if (p) {
		/* field 22 is starttime; after ')' come fields 3.. */
		for (int field = 2; p && field < 22; field++)
			p = strchr(p + 1, ' ');
		if (p && sscanf(p + 1, "%llu", ticks) == 1)
			r = 0;
	}
	free(text);
	return r;
}

/* Whether /proc/self/cgroup puts the caller in the unit yet. */
static bool inside(const char *slice, const char *unit)
{
	char *text = NULL, want[192];
	size_t len;
	bool in;

	if (mg_read_file("/proc/self/cgroup", 1 << 16, &text, &len) < 0)
		return false;
	snprintf(want, sizeof(want), "/%s/%s\n", slice, unit);
	in = strstr(text, want) != NULL;
	free(text);
	return in;
}

int mg_sd_scope_enter(struct mg_sdbus_conn *bus, uid_t uid, const struct mg_caps *session, char *unit, size_t ulen,
		      sd_bus_error *e)
{
	const struct mg_sdbus *api = bus->api;
	sd_bus_message *m = NULL, *reply = NULL;
	char slice[64], desc[96];
	unsigned long long ticks;
	uint64_t deadline;
	int r;

	r = start_time(&ticks);
	if (r < 0)
		return r;
	mg_sd_user_slice(uid, slice, sizeof(slice));
	if (snprintf(unit, ulen, "memguard-%d-%llu.scope", (int)getpid(), ticks) >= (int)ulen)
		return -ENAMETOOLONG;
	snprintf(desc, sizeof(desc), "memguard: a session of uid %u that logind does not track", (unsigned)uid);

	r = api->message_new_method_call(bus->bus, &m, MG_SD_DEST, MG_SD_PATH, MG_SD_MANAGER, "StartTransientUnit");
	if (r >= 0)
		r = api->message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = api->message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = api->message_append(m, "(sv)(sv)(sv)(sv)", "Slice", "s", slice, "Description", "s", desc, "PIDs", "au",
					1, (uint32_t)getpid(), "CollectMode", "s", "inactive-or-failed");
	for (int k = MG_KEY_MEMORY_MAX; r >= 0 && k <= MG_KEY_MEMORY_HIGH; k++)
		if (session->set[k] && mg_sd_property((enum mg_key)k))
			r = api->message_append(m, "(sv)", mg_sd_property((enum mg_key)k), "t", session->bytes[k]);
	if (r >= 0)
		r = api->message_close_container(m);
	if (r >= 0)
		r = api->message_append(m, "a(sa(sv))", 0);
	if (r >= 0)
		r = mg_sdbus_call(bus, m, e, &reply);
	api->message_unref(m);
	api->message_unref(reply);
	if (r < 0)
		return r;

	/* The manager moves the pid when it runs the job, which may come
	 * after its reply: wait for the kernel to say so. */
	deadline = bus->shared ? bus->deadline : mg_now_usec() + bus->timeout;
	while (!inside(slice, unit)) {
		struct timespec pause = { 0, 2 * 1000 * 1000 };

		if (mg_now_usec() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
	return 0;
}
