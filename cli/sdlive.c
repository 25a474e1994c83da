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
	if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))
		r = -ENOENT;
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
 * first one: wait for a ready connection against the same deadline. */
int sdlive_open(sd_bus **bus)
{
	uint64_t deadline = now_usec() + BUS_TIMEOUT_USEC, now;
	int r = sd_bus_open_system(bus);

	last_error[0] = '\0';
	if (r < 0)
		return r;
	r = sd_bus_set_method_call_timeout(*bus, BUS_TIMEOUT_USEC);
	while (r >= 0 && (r = sd_bus_is_ready(*bus)) == 0) {
		r = sd_bus_process(*bus, NULL);
		if (r != 0)
			continue;
		now = now_usec();
		r = now >= deadline ? -ETIMEDOUT : sd_bus_wait(*bus, deadline - now);
	}
	if (r < 0)
		*bus = sd_bus_close_unref(*bus);
	return r < 0 ? r : 0;
}

void sdlive_close(sd_bus *bus)
{
	if (bus)
		sd_bus_close_unref(bus);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int sdlive_unit_cgroup(sd_bus *bus, const char *unit, char **cgroup)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path, *iface;
	int r;

	*cgroup = NULL;
	/* GetUnit, not LoadUnit: a unit that is not loaded has no live state,
	 * and loading it only to ask would change what the manager holds. */
	r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s", unit);
	if (r < 0)
		return keep_error(&e, r);
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0) {
		sd_bus_message_unref(reply);
		return r;
	}
	if (ends_with(unit, ".slice"))
		iface = "org.freedesktop.systemd1.Slice";
	else if (ends_with(unit, ".scope"))
		iface = "org.freedesktop.systemd1.Scope";
	else
		iface = "org.freedesktop.systemd1.Service";
	r = sd_bus_get_property_string(bus, SD_DEST, path, iface, "ControlGroup", &e, cgroup);
	sd_bus_message_unref(reply);
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

	*ids = NULL;
	*n = 0;
	r = sd_bus_call_method(bus, LOGIN_DEST, LOGIN_PATH, LOGIN_MANAGER, "ListSessions", &e, &reply, "");
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

	*uids = NULL;
	*n = 0;
	r = sd_bus_call_method(bus, LOGIN_DEST, LOGIN_PATH, LOGIN_MANAGER, "ListUsers", &e, &reply, "");
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
