#include "sdlive.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdbus.h"

/* As the PAM module: systemd answers in time or not at all (here each
 * call may take the whole 2 s: status and apply are no login). */
#define BUS_TIMEOUT_USEC (2ull * 1000 * 1000)
#define LOGIN_DEST "org.freedesktop.login1"
#define LOGIN_PATH "/org/freedesktop/login1"
#define LOGIN_MANAGER "org.freedesktop.login1.Manager"

static char last_error[256];

static int keep_error(struct mg_sdbus_conn *bus, sd_bus_error *e, int r)
{
	if (bus->api->error_is_set(e) && e->message)
		snprintf(last_error, sizeof(last_error), "%s", e->message);
	else
		last_error[0] = '\0';
	if (bus->api->error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit")) {
		r = -ENOENT;
		last_error[0] = '\0'; /* an expected answer: no stale text for a later error */
	}
	bus->api->error_free(e);
	return r;
}

const char *sdlive_error(int r)
{
	return last_error[0] ? last_error : strerror(r < 0 ? -r : r);
}

int sdlive_open(struct mg_sdbus_conn *bus)
{
	int r = mg_sdbus_open(bus, BUS_TIMEOUT_USEC, false, last_error, sizeof(last_error));

	if (r == 0)
		last_error[0] = '\0';
	return r;
}

void sdlive_close(struct mg_sdbus_conn *bus)
{
	mg_sdbus_close(bus);
}

/* A method call with no argument or one string, within the timeout. */
static int call(struct mg_sdbus_conn *bus, const char *dest, const char *path, const char *iface,
		const char *member, const char *arg, sd_bus_error *e, sd_bus_message **reply)
{
	sd_bus_message *m = NULL;
	int r = bus->api->message_new_method_call(bus->bus, &m, dest, path, iface, member);

	if (r >= 0 && arg)
		r = bus->api->message_append(m, "s", arg);
	if (r >= 0)
		r = mg_sdbus_call(bus, m, e, reply);
	bus->api->message_unref(m);
	return r;
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
static int unit_object(struct mg_sdbus_conn *bus, const char *unit, sd_bus_error *e, char **path)
{
	sd_bus_message *reply = NULL;
	const char *p;
	int r = call(bus, MG_SD_DEST, MG_SD_PATH, MG_SD_MANAGER, "GetUnit", unit, e, &reply);

	if (r >= 0 && (r = bus->api->message_read(reply, "o", &p)) > 0 && !(*path = strdup(p)))
		r = -ENOMEM;
	bus->api->message_unref(reply);
	return r < 0 ? r : 0;
}

int sdlive_unit_cgroup(struct mg_sdbus_conn *bus, const char *unit, char **cgroup)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *path = NULL;
	int r;

	last_error[0] = '\0';
	*cgroup = NULL;
	r = unit_object(bus, unit, &e, &path);
	if (r < 0)
		return keep_error(bus, &e, r);
	r = mg_sdbus_get_string(bus, path, unit_iface(unit), "ControlGroup", cgroup, &e);
	free(path);
	if (r < 0)
		return keep_error(bus, &e, r);
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

int sdlive_sessions(struct mg_sdbus_conn *bus, uid_t uid, char ***ids, size_t *n)
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
		return keep_error(bus, &e, r);
	r = bus->api->message_enter_container(reply, 'a', "(susso)");
	while (r >= 0 && (r = bus->api->message_read(reply, "(susso)", &id, &suid, &user, &seat, &path)) > 0) {
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
	bus->api->message_unref(reply);
	if (r < 0) {
		sdlive_strv_free(v, len);
		return r;
	}
	*ids = v;
	*n = len;
	return 0;
}

int sdlive_users(struct mg_sdbus_conn *bus, uid_t **uids, size_t *n)
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
		return keep_error(bus, &e, r);
	r = bus->api->message_enter_container(reply, 'a', "(uso)");
	while (r >= 0 && (r = bus->api->message_read(reply, "(uso)", &uid, &name, &path)) > 0) {
		uid_t *grown = realloc(v, (len + 1) * sizeof(*v));

		if (!grown) {
			r = -ENOMEM;
			break;
		}
		v = grown;
		v[len++] = (uid_t)uid;
	}
	bus->api->message_unref(reply);
	if (r < 0) {
		free(v);
		return r;
	}
	*uids = v;
	*n = len;
	return 0;
}

int sdlive_unit_get_u64(struct mg_sdbus_conn *bus, const char *unit, const char *prop, uint64_t *v)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *path = NULL;
	int r;

	last_error[0] = '\0';
	r = unit_object(bus, unit, &e, &path);
	if (r >= 0)
		r = mg_sdbus_get_u64(bus, path, unit_iface(unit), prop, v, &e);
	free(path);
	return r < 0 ? keep_error(bus, &e, r) : 0;
}

/* As the module's: one property per call, runtime=true. */
int sdlive_unit_set_u64(struct mg_sdbus_conn *bus, const char *unit, const char *prop, uint64_t v)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	last_error[0] = '\0';
	r = mg_sdbus_set_property(bus, unit, prop, 't', &v, &e);
	return r < 0 ? keep_error(bus, &e, r) : 0;
}

/* One property of a logind session object, read as type. */
static int session_property(struct mg_sdbus_conn *bus, const char *path, const char *prop, const char *type,
			    void *out, sd_bus_error *e)
{
	sd_bus_message *m = NULL, *reply = NULL;
	int r = bus->api->message_new_method_call(bus->bus, &m, LOGIN_DEST, path, "org.freedesktop.DBus.Properties",
						   "Get");

	if (r >= 0)
		r = bus->api->message_append(m, "ss", "org.freedesktop.login1.Session", prop);
	if (r >= 0)
		r = mg_sdbus_call(bus, m, e, &reply);
	if (r >= 0 && (r = bus->api->message_enter_container(reply, 'v', type)) == 0)
		r = -EBADMSG;
	if (r >= 0 && (r = bus->api->message_read(reply, type, out)) == 0)
		r = -EBADMSG;
	bus->api->message_unref(reply);
	bus->api->message_unref(m);
	return r < 0 ? r : 0;
}

int sdlive_session_info(struct mg_sdbus_conn *bus, const char *id, uint32_t *leader, uint64_t *since_usec)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *p;
	char *path = NULL;
	int r;

	last_error[0] = '\0';
	r = call(bus, LOGIN_DEST, LOGIN_PATH, LOGIN_MANAGER, "GetSession", id, &e, &reply);
	if (r >= 0 && (r = bus->api->message_read(reply, "o", &p)) > 0 && !(path = strdup(p)))
		r = -ENOMEM;
	bus->api->message_unref(reply);
	if (r >= 0)
		r = session_property(bus, path, "Leader", "u", leader, &e);
	if (r >= 0)
		r = session_property(bus, path, "Timestamp", "t", since_usec, &e);
	free(path);
	return r < 0 ? keep_error(bus, &e, r) : 0;
}
