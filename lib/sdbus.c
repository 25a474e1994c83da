#include "sdbus.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "clock.h"
#include "systemd_props.h"

#define SDBUS_LIBRARY "libsystemd.so.0"

static struct mg_sdbus loaded;
static bool ready;

/* Takes the address of each function as a plain pointer: POSIX guarantees
 * that dlsym's result converts to a function pointer. */
static int bind_one(void *lib, const char *name, void *slot, char *why, size_t len)
{
	void *f = dlsym(lib, name);

	if (!f) {
		snprintf(why, len, "%s has no %s", SDBUS_LIBRARY, name);
		return -ELIBACC;
	}
	memcpy(slot, &f, sizeof(f));
	return 0;
}

int mg_sdbus_get(const struct mg_sdbus **api, char *why, size_t len)
{
	static const struct {
		const char *name;
		size_t offset;
	} fns[] = {
#define FN(field, symbol) { #symbol, offsetof(struct mg_sdbus, field) }
		FN(open_system, sd_bus_open_system),
		FN(is_ready, sd_bus_is_ready),
		FN(process, sd_bus_process),
		FN(wait, sd_bus_wait),
		FN(close, sd_bus_close),
		FN(unref, sd_bus_unref),
		FN(path_encode, sd_bus_path_encode),
		FN(call, sd_bus_call),
		FN(message_new_method_call, sd_bus_message_new_method_call),
		FN(message_append, sd_bus_message_append),
		FN(message_open_container, sd_bus_message_open_container),
		FN(message_close_container, sd_bus_message_close_container),
		FN(message_enter_container, sd_bus_message_enter_container),
		FN(message_read, sd_bus_message_read),
		FN(message_unref, sd_bus_message_unref),
		FN(error_free, sd_bus_error_free),
		FN(error_is_set, sd_bus_error_is_set),
		FN(error_has_name, sd_bus_error_has_name),
#undef FN
	};
	struct mg_sdbus api_new;
	void *lib;

	if (ready) {
		*api = &loaded;
		return 0;
	}
	/* RTLD_NODELETE: PAM unloads this module at pam_end; the library
	 * stays for the next login of the same process (sshd's listener
	 * forks one per connection, each with its own pam_start). */
	lib = dlopen(SDBUS_LIBRARY, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!lib) {
		const char *e = dlerror();
		snprintf(why, len, "cannot load %s: %s", SDBUS_LIBRARY, e ? e : "unknown error");
		return -ELIBACC;
	}
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		int r = bind_one(lib, fns[i].name, (char *)&api_new + fns[i].offset, why, len);
		if (r < 0) {
			dlclose(lib);
			return r;
		}
	}
	loaded = api_new;
	ready = true;
	*api = &loaded;
	return 0;
}

static uint64_t time_left(const struct mg_sdbus_conn *c)
{
	uint64_t now = mg_now_usec();

	return now >= c->deadline ? 0 : c->deadline - now;
}

int mg_sdbus_open(struct mg_sdbus_conn *c, uint64_t timeout_usec, bool shared, char *why, size_t len)
{
	uint64_t left;
	int r;

	memset(c, 0, sizeof(*c));
	r = mg_sdbus_get(&c->api, why, len);
	if (r < 0)
		return r;
	c->timeout = timeout_usec;
	c->shared = shared;
	c->deadline = mg_now_usec() + timeout_usec;
	r = c->api->open_system(&c->bus);
	while (r >= 0 && (r = c->api->is_ready(c->bus)) == 0) {
		r = c->api->process(c->bus, NULL);
		if (r != 0)
			continue;
		left = time_left(c);
		r = left ? c->api->wait(c->bus, left) : -ETIMEDOUT;
	}
	if (r < 0) {
		snprintf(why, len, "%s", strerror(-r));
		mg_sdbus_close(c);
	}
	return r < 0 ? r : 0;
}

void mg_sdbus_rearm(struct mg_sdbus_conn *c, uint64_t timeout_usec)
{
	c->timeout = timeout_usec;
	c->deadline = mg_now_usec() + timeout_usec;
}

void mg_sdbus_close(struct mg_sdbus_conn *c)
{
	if (c->bus) {
		c->api->close(c->bus);
		c->api->unref(c->bus);
		c->bus = NULL;
	}
}

int mg_sdbus_call(struct mg_sdbus_conn *c, sd_bus_message *m, sd_bus_error *e, sd_bus_message **reply)
{
	uint64_t left = c->shared ? time_left(c) : c->timeout;

	return left ? c->api->call(c->bus, m, left, e, reply) : -ETIMEDOUT;
}

int mg_sdbus_unit_path(struct mg_sdbus_conn *c, const char *unit, char **path)
{
	return c->api->path_encode(MG_SD_PATH "/unit", unit, path);
}

/* Properties.Get: *reply is left inside the variant of the given type. */
static int get_property(struct mg_sdbus_conn *c, const char *path, const char *iface, const char *prop,
			const char *type, sd_bus_error *e, sd_bus_message **reply)
{
	sd_bus_message *m = NULL;
	int r = c->api->message_new_method_call(c->bus, &m, MG_SD_DEST, path, "org.freedesktop.DBus.Properties", "Get");

	*reply = NULL;
	if (r >= 0)
		r = c->api->message_append(m, "ss", iface, prop);
	if (r >= 0)
		r = mg_sdbus_call(c, m, e, reply);
	if (r >= 0 && (r = c->api->message_enter_container(*reply, 'v', type)) == 0)
		r = -EBADMSG;
	if (r < 0 && *reply)
		*reply = c->api->message_unref(*reply);
	c->api->message_unref(m);
	return r < 0 ? r : 0;
}

int mg_sdbus_get_u64(struct mg_sdbus_conn *c, const char *path, const char *iface, const char *prop, uint64_t *v,
		     sd_bus_error *e)
{
	sd_bus_message *reply = NULL;
	int r = get_property(c, path, iface, prop, "t", e, &reply);

	if (r < 0)
		return r;
	if ((r = c->api->message_read(reply, "t", v)) == 0)
		r = -EBADMSG;
	c->api->message_unref(reply);
	return r < 0 ? r : 0;
}

int mg_sdbus_get_string(struct mg_sdbus_conn *c, const char *path, const char *iface, const char *prop, char **out,
			sd_bus_error *e)
{
	sd_bus_message *reply = NULL;
	const char *v = NULL;
	int r = get_property(c, path, iface, prop, "s", e, &reply);

	if (r < 0)
		return r;
	if ((r = c->api->message_read(reply, "s", &v)) == 0)
		r = -EBADMSG;
	if (r > 0 && !(*out = strdup(v)))
		r = -ENOMEM;
	c->api->message_unref(reply);
	return r < 0 ? r : 0;
}

int mg_sdbus_set_property(struct mg_sdbus_conn *c, const char *unit, const char *prop, char type, const void *value,
			  sd_bus_error *e)
{
	const struct mg_sdbus *sd = c->api;
	sd_bus_message *m = NULL;
	int r = sd->message_new_method_call(c->bus, &m, MG_SD_DEST, MG_SD_PATH, MG_SD_MANAGER, "SetUnitProperties");

	if (r >= 0)
		r = sd->message_append(m, "sb", unit, 1);
	if (r >= 0)
		r = sd->message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd->message_open_container(m, 'r', "sv");
	if (r >= 0)
		r = sd->message_append(m, "s", prop);
	if (r >= 0)
		r = type == 't' ? sd->message_append(m, "v", "t", *(const uint64_t *)value)
				: sd->message_append(m, "v", "s", (const char *)value);
	if (r >= 0)
		r = sd->message_close_container(m);
	if (r >= 0)
		r = sd->message_close_container(m);
	if (r >= 0)
		r = mg_sdbus_call(c, m, e, NULL);
	sd->message_unref(m);
	return r;
}

static int slice_get_u64(struct mg_sdbus_conn *c, const char *unit, const char *prop, uint64_t *v, sd_bus_error *e)
{
	char *path = NULL;
	int r = mg_sdbus_unit_path(c, unit, &path);

	if (r >= 0)
		r = mg_sdbus_get_u64(c, path, "org.freedesktop.systemd1.Slice", prop, v, e);
	free(path);
	return r;
}

static bool is_user_slice(const char *name)
{
	size_t n = strlen(name);

	return strncmp(name, "user-", 5) == 0 && n > 11 && strcmp(name + n - 6, ".slice") == 0;
}

/* Whether a user slice's cgroup holds a session scope: one without any is
 * on its way out (the user's manager lingers a few seconds). */
static bool holds_session(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		found = strncmp(de->d_name, "session-", 8) == 0 && n > 14 && strcmp(de->d_name + n - 6, ".scope") == 0;
	}
	closedir(d);
	return found;
}

static int protection_sum(struct mg_sdbus_conn *c, const char *fresh, const char *gone, int key, uint64_t *cur,
			  uint64_t *sum, sd_bus_error *e)
{
	const char *prop = mg_sd_property((enum mg_key)key);
	const char *file = key == MG_KEY_MEMORY_MIN ? "memory.min" : "memory.low";
	char *path = NULL, *cg = NULL, dir[PATH_MAX - 64], sub[PATH_MAX];
	struct dirent *de;
	uint64_t one;
	DIR *d;
	int r = mg_sdbus_unit_path(c, "user.slice", &path);

	*sum = 0;
	if (r >= 0)
		r = mg_sdbus_get_string(c, path, "org.freedesktop.systemd1.Slice", "ControlGroup", &cg, e);
	free(path);
	if (r < 0)
		return r;
	r = snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", cg) < (int)sizeof(dir) ? 0 : -ENAMETOOLONG;
	free(cg);
	if (r < 0 || !(d = opendir(dir)))
		return r < 0 ? r : -errno;
	if (fresh && slice_get_u64(c, fresh, prop, &one, e) == 0 && one != MG_CG_UNLIMITED)
		*sum = one;
	c->api->error_free(e);
	while ((de = readdir(d))) {
		if (!is_user_slice(de->d_name) || (fresh && strcmp(de->d_name, fresh) == 0) ||
		    (gone && strcmp(de->d_name, gone) == 0))
			continue;
		if (gone && (snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub) || !holds_session(sub)))
			continue;
		if (!fresh)
			r = slice_get_u64(c, de->d_name, prop, &one, e);
		else
			r = snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) < (int)sizeof(sub)
				    ? mg_cg_read_limit(sub, file, &one)
				    : -ENAMETOOLONG;
		c->api->error_free(e);
		if (r == 0 && one != MG_CG_UNLIMITED && *sum + one >= *sum)
			*sum += one;
	}
	closedir(d);
	r = slice_get_u64(c, "user.slice", prop, cur, e);
	if (r < 0)
		return r;
	return !(*cur == *sum || (*cur > *sum && !mg_sd_has_control_dropin("user.slice", prop)));
}

int mg_sdbus_protection_sum(struct mg_sdbus_conn *c, const char *fresh, int key, uint64_t *cur, uint64_t *sum,
			    sd_bus_error *e)
{
	return protection_sum(c, fresh, NULL, key, cur, sum, e);
}

int mg_sdbus_protection_sum_without(struct mg_sdbus_conn *c, const char *gone, int key, uint64_t *cur, uint64_t *sum,
				    sd_bus_error *e)
{
	return protection_sum(c, NULL, gone, key, cur, sum, e);
}

const char *mg_sdbus_error_text(const sd_bus_error *e, int r)
{
	/* sd_bus_error_is_set is no more than a name being there. */
	return e && e->name && e->message ? e->message : strerror(r < 0 ? -r : r);
}
