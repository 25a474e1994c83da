/* The sd-bus calls of the systemd backend, loaded from libsystemd.so.0 the
 * first time that backend runs rather than linked into the module: mapping
 * libsystemd and what it pulls in (gcrypt, lzma, zstd, lz4, ...) costs about
 * 0.4 ms at every pam_start, which hosts on the cgroupfs backend would pay
 * for nothing. Only calls libsystemd has had since 237 (sd_bus_is_ready),
 * so that hosts older than pam_systemd's session limits (239) still load. */
#ifndef MEMGUARD_PAM_SDBUS_H
#define MEMGUARD_PAM_SDBUS_H

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
};

/* The calls, loaded once per process (the library stays mapped, so a
 * module that PAM loads again at every login finds it at once). -ELIBACC
 * when libsystemd.so.0 or one of its functions is missing; why then says
 * what the loader said. */
int mg_sdbus_get(const struct mg_sdbus **api, char *why, size_t len);

#endif
