#include "sdlive.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

/* As the PAM module: systemd answers in time or not at all. */
#define BUS_TIMEOUT_USEC (2ull * 1000 * 1000)
#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define LOGIN_DEST "org.freedesktop.login1"
#define LOGIN_PATH "/org/freedesktop/login1"
#define LOGIN_MANAGER "org.freedesktop.login1.Manager"

static char last_error[256];

static int keep_error(sd_bus_error *e, int r)
{
	if (sd_bus_error_is_set(e) && e->message)
		snprintf(last_error, sizeof(last_error), "%s", e->message);
	else
		last_error[0] = '\0';
	if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit")) {
		r = -ENOENT;
		last_error[0] = '\0'; /* an expected answer: no stale text for a later error */
	}
	sd_bus_error_free(e);
	return r;
}

const char *sdlive_error(int r)
{
	return last_error[0] ? last_error : strerror(r < 0 ? -r : r);
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* sd-bus bounds method calls, not the authentication and Hello before the
 * first one: wait for a ready connection against the same deadline. Only
 * calls libsystemd has had since 237, as the PAM module: every call passes
 * its timeout, so no library default applies. */
int sdlive_open(sd_bus **bus)
{
	uint64_t deadline = now_usec() + BUS_TIMEOUT_USEC, now;
	int r = sd_bus_open_system(bus);

	last_error[0] = '\0';
	if (r < 0)
		return r;
	while (r >= 0 && (r = sd_bus_is_ready(*bus)) == 0) {
		r = sd_bus_process(*bus, NULL);
		if (r != 0)
			continue;
		now = now_usec();
		r = now >= deadline ? -ETIMEDOUT : sd_bus_wait(*bus, deadline - now);
	}
	if (r < 0) {
		sdlive_close(*bus);
		*bus = NULL;
	}
	return r < 0 ? r : 0;
}

void sdlive_close(sd_bus *bus)
{
	if (bus) {
		sd_bus_close(bus);
		sd_bus_unref(bus);
	}
}

/* A method call with no argument or one string, within the timeout. */
static int call(sd_bus *bus, const char *dest, const char *path, const char *iface, const char *member,
		const char *arg, sd_bus_error *e, sd_bus_message **reply)
{
	sd_bus_message *m = NULL;
	int r = sd_bus_message_new_method_call(bus, &m, dest, path, iface, member);

	if (r >= 0 && arg)
		r = sd_bus_message_append(m, "s", arg);
	if (r >= 0)
		r = sd_bus_call(bus, m, BUS_TIMEOUT_USEC, e, reply);
	sd_bus_message_unref(m);
	return r;
}

/* A string property (org.freedesktop.DBus.Properties.Get). */
static int get_string(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_error *e,
		      char **out)
{
	sd_bus_message *m = NULL, *reply = NULL;
	const char *v = NULL;
	int r = sd_bus_message_new_method_call(bus, &m, SD_DEST, path, "org.freedesktop.DBus.Properties", "Get");

	if (r >= 0)
		r = sd_bus_message_append(m, "ss", iface, prop);
	if (r >= 0)
		r = sd_bus_call(bus, m, BUS_TIMEOUT_USEC, e, &reply);
	if (r >= 0 && (r = sd_bus_message_read(reply, "v", "s", &v)) == 0)
		r = -EBADMSG;
	if (r > 0 && !(*out = strdup(v)))
		r = -ENOMEM;
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r < 0 ? r : 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *unit_iface(const char *unit)
{
	if (ends_with(unit, ".slice"))
		return "org.freedesktop.systemd1.Slice";
	if (ends_with(unit, ".scope"))
		return "org.freedesktop.systemd1.Scope";
	return "org.freedesktop.systemd1.Service";
}

/* The object path of a loaded unit. GetUnit, not LoadUnit: a unit that is
 * not loaded has no live state, and loading it only to ask would change
 * what the manager holds. */
static int unit_object(sd_bus *bus, const char *unit, sd_bus_error *e, char **path)
{
	sd_bus_message *reply = NULL;
	const char *p;
	int r = call(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", unit, e, &reply);

	if (r >= 0 && (r = sd_bus_message_read(reply, "o", &p)) > 0 && !(*path = strdup(p)))
		r = -ENOMEM;
	sd_bus_message_unref(reply);
	return r < 0 ? r : 0;
}

int sdlive_unit_cgroup(sd_bus *bus, const char *unit, char **cgroup)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *path = NULL;
	int r;

	last_error[0] = '\0';
	*cgroup = NULL;
	r = unit_object(bus, unit, &e, &path);
	if (r < 0)
		return keep_error(&e, r);
	r = get_string(bus, path, unit_iface(unit), "ControlGroup", &e, cgroup);
	free(path);
	if (r < 0)
		return keep_error(&e, r);
	if (!**cgroup) {
		free(*cgroup);
		*cgroup = NULL;
		return -ENOENT;
	}
	return 0;
}

void sdlive_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int sdlive_sessions(sd_bus *bus, uid_t uid, char ***ids, size_t *n)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *id, *user, *seat, *path;
	uint32_t suid;
	char **v = NULL;
	size_t len = 0;
	int r;

	last_error[0] = '\0';
	*ids = NULL;
	*n = 0;
	r = call(bus, LOGIN_DEST, LOGIN_PATH, LOGIN_MANAGER, "ListSessions", NULL, &e, &reply);
	if (r < 0)
		return keep_error(&e, r);
	r = sd_bus_message_enter_container(reply, 'a', "(susso)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(susso)", &id, &suid, &user, &seat, &path)) > 0) {
		char **grown;

		if (uid != (uid_t)-1 && suid != (uint32_t)uid)
			continue;
		grown = realloc(v, (len + 1) * sizeof(*v));
		if (!grown || !(grown[len] = strdup(id))) {
			v = grown ? grown : v;
			r = -ENOMEM;
			break;
		}
		v = grown;
		len++;
	}
	sd_bus_message_unref(reply);
	if (r < 0) {
		sdlive_strv_free(v, len);
		return r;
	}
	*ids = v;
	*n = len;
	return 0;
}

int sdlive_users(sd_bus *bus, uid_t **uids, size_t *n)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *name, *path;
	uint32_t uid;
	uid_t *v = NULL;
	size_t len = 0;
	int r;

	last_error[0] = '\0';
	*uids = NULL;
	*n = 0;
	r = call(bus, LOGIN_DEST, LOGIN_PATH, LOGIN_MANAGER, "ListUsers", NULL, &e, &reply);
	if (r < 0)
		return keep_error(&e, r);
	r = sd_bus_message_enter_container(reply, 'a', "(uso)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(uso)", &uid, &name, &path)) > 0) {
		uid_t *grown = realloc(v, (len + 1) * sizeof(*v));

		if (!grown) {
			r = -ENOMEM;
			break;
		}
		v = grown;
		v[len++] = (uid_t)uid;
	}
	sd_bus_message_unref(reply);
	if (r < 0) {
		free(v);
		return r;
	}
	*uids = v;
	*n = len;
	return 0;
}

int sdlive_unit_get_u64(sd_bus *bus, const char *unit, const char *prop, uint64_t *v)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	char *path = NULL;
	int r;

	last_error[0] = '\0';
	r = unit_object(bus, unit, &e, &path);
	if (r >= 0)
		r = sd_bus_message_new_method_call(bus, &m, SD_DEST, path, "org.freedesktop.DBus.Properties", "Get");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", unit_iface(unit), prop);
	if (r >= 0)
		r = sd_bus_call(bus, m, BUS_TIMEOUT_USEC, &e, &reply);
	if (r >= 0 && (r = sd_bus_message_read(reply, "v", "t", v)) == 0)
		r = -EBADMSG;
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	free(path);
	return r < 0 ? keep_error(&e, r) : 0;
}

/* As the module's: one property per call, runtime=true (the values live
 * under /run, the policy file stays the source of truth). */
int sdlive_unit_set_u64(sd_bus *bus, const char *unit, const char *prop, uint64_t v)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	int r;

	last_error[0] = '\0';
	r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "SetUnitProperties");
	if (r >= 0)
		r = sd_bus_message_append(m, "sb", unit, 1);
	if (r >= 0)
		r = sd_bus_message_append(m, "a(sv)", 1, prop, "t", v);
	if (r >= 0)
		r = sd_bus_call(bus, m, BUS_TIMEOUT_USEC, &e, NULL);
	sd_bus_message_unref(m);
	return r < 0 ? keep_error(&e, r) : 0;
}
