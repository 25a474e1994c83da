#include "sdbus.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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
