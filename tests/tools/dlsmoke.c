/* dlsmoke MODULE.so: dlopen the PAM module with RTLD_NOW (every symbol
 * resolved up front) and look up the two session entry points.
 * Prints one line per symbol; exit 0 when both are found, 1 otherwise. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	static const char *const names[] = { "pam_sm_open_session", "pam_sm_close_session" };
	void *h;
	int bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: dlsmoke MODULE.so\n");
		return 2;
	}
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("dlopen: %s\n", dlerror());
		return 1;
	}
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		void *sym = dlsym(h, names[i]);
		printf("%s=%s\n", names[i], sym ? "found" : "missing");
		if (!sym)
			bad = 1;
	}
	dlclose(h);
	return bad;
}
