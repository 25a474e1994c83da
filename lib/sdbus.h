/* Talking to systemd over the system bus, for the PAM module's systemd
 * backend and memguardctl status/apply alike.
 *
 * sd-bus is loaded from libsystemd.so.0 on first use rather than linked:
 * mapping libsystemd and what it pulls in (gcrypt, lzma, zstd, lz4, ...)
 * costs about 0.4 ms at every pam_start, which hosts on the cgroupfs
 * backend would pay for nothing. Only calls libsystemd has had since 237
 * (sd_bus_is_ready), so that hosts older than pam_systemd's session limits
 * (239) still load; every call passes its timeout, so no library default
 * (25 s) ever applies. */
#ifndef MEMGUARD_SDBUS_H
#define MEMGUARD_SDBUS_H

#include <stdbool.h>

#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

struct mg_sdbus {
	int (*open_system)(sd_bus **bus);
	int (*is_ready)(sd_bus *bus);
	int (*process)(sd_bus *bus, sd_bus_message **r);
	int (*wait)(sd_bus *bus, uint64_t timeout_usec);
	void (*close)(sd_bus *bus);
	sd_bus *(*unref)(sd_bus *bus);
	int (*path_encode)(const char *prefix, const char *external_id, char **ret_path);
	int (*call)(sd_bus *bus, sd_bus_message *m, uint64_t usec, sd_bus_error *ret_error, sd_bus_message **reply);
	int (*message_new_method_call)(sd_bus *bus, sd_bus_message **m, const char *destination, const char *path,
				       const char *interface, const char *member);
	int (*message_append)(sd_bus_message *m, const char *types, ...);
	int (*message_open_container)(sd_bus_message *m, char type, const char *contents);
	int (*message_close_container)(sd_bus_message *m);
	int (*message_enter_container)(sd_bus_message *m, char type, const char *contents);
	int (*message_read)(sd_bus_message *m, const char *types, ...);
	sd_bus_message *(*message_unref)(sd_bus_message *m);
	void (*error_free)(sd_bus_error *e);
	int (*error_is_set)(const sd_bus_error *e);
	int (*error_has_name)(const sd_bus_error *e, const char *name);
};

/* The calls, loaded once per process (the library stays mapped, so a
 * module that PAM loads again at every login finds it at once). -ELIBACC
 * when libsystemd.so.0 or one of its functions is missing; why then says
 * what the loader said. */
int mg_sdbus_get(const struct mg_sdbus **api, char *why, size_t len);

#define MG_SD_DEST "org.freedesktop.systemd1"
#define MG_SD_PATH "/org/freedesktop/systemd1"
#define MG_SD_MANAGER "org.freedesktop.systemd1.Manager"

/* A connection to the system bus and its time bound: with shared, the
 * connecting and every call share one deadline (a login: a stuck manager
 * costs it timeout once); otherwise each call gets the whole timeout. */
struct mg_sdbus_conn {
	const struct mg_sdbus *api;
	sd_bus *bus;
	uint64_t timeout;  /* usec */
	uint64_t deadline; /* mg_now_usec() (clock.h) */
	bool shared;
};

/* Loads sd-bus and connects, waiting for the authentication and Hello
 * (which no call's timeout covers) at most timeout. -errno, with why. */
int mg_sdbus_open(struct mg_sdbus_conn *c, uint64_t timeout_usec, bool shared, char *why, size_t len);
void mg_sdbus_close(struct mg_sdbus_conn *c);
/* A new time bound from now for a connection opened earlier (a second
 * PAM line reusing the first one's). */
void mg_sdbus_rearm(struct mg_sdbus_conn *c, uint64_t timeout_usec);

/* Sends m, waits for the reply within the bound; -ETIMEDOUT when the
 * shared deadline has passed. */
int mg_sdbus_call(struct mg_sdbus_conn *c, sd_bus_message *m, sd_bus_error *e, sd_bus_message **reply);

/* The manager's object path of a unit (loaded on access, by the manager). */
int mg_sdbus_unit_path(struct mg_sdbus_conn *c, const char *unit, char **path);

/* A property of the manager's object path (Properties.Get): u64 or string
 * (*out to free). */
int mg_sdbus_get_u64(struct mg_sdbus_conn *c, const char *path, const char *iface, const char *prop, uint64_t *v,
		     sd_bus_error *e);
int mg_sdbus_get_string(struct mg_sdbus_conn *c, const char *path, const char *iface, const char *prop, char **out,
			sd_bus_error *e);

/* SetUnitProperties(unit, runtime=true, [(prop, v)]), type 't' (value a
 * uint64_t *) or 's' (a string): one property per call, since the manager
 * checks every property before applying any, and one it does not know
 * would sink the rest. Runtime: the values live under /run, and the policy
 * file stays the source of truth after a reboot. */
int mg_sdbus_set_property(struct mg_sdbus_conn *c, const char *unit, const char *prop, char type, const void *value,
			  sd_bus_error *e);

/* What user.slice's MemoryMin or MemoryLow (key) must carry for the user
 * slices' protections to hold (a protection holds only as far as every
 * ancestor carries it): the sum over the user-*.slice directories of the
 * cgroup the manager names for user.slice. The value of the slice fresh
 * (NULL: of every slice) comes from the manager, since the kernel file may
 * lag a property just set; fresh counts even before its cgroup exists.
 * 1 when user.slice should be set to *sum (*cur: its value now), 0 when it
 * stays (equal, or higher and not a runtime value: the administrator's),
 * -errno (why in e, or errno's) when it cannot be told. */
int mg_sdbus_protection_sum(struct mg_sdbus_conn *c, const char *fresh, int key, uint64_t *cur, uint64_t *sum,
			    sd_bus_error *e);

/* The same sum over the user slices that hold a session scope, without the
 * slice gone (every value from the manager): for the end of a user's last
 * session, while that slice and those of users who just left still exist. */
int mg_sdbus_protection_sum_without(struct mg_sdbus_conn *c, const char *gone, int key, uint64_t *cur, uint64_t *sum,
				    sd_bus_error *e);

/* The error's message, else strerror(-r). */
const char *mg_sdbus_error_text(const sd_bus_error *e, int r);

#endif
