/* preload_init MODE: the shim's initialisation (real.c) compiled into this
 * program with dlsym wrapped, so that "malloc is called while the real
 * functions are still being looked up" can be produced at will, and with
 * the decision it ends with - free() straight to the real free, or free()
 * still looking for bootstrap blocks - recorded.
 *   alone   nobody asks during resolution: free() must go direct
 *   nested  this thread asks from inside dlsym (as an allocating dlsym
 *           would): told "not yet", and free() must keep checking
 *   thread  another thread asks while this one resolves: the same
 * Prints one line; exit 0 when every check held, 1 otherwise. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void *wrapped_dlsym(void *handle, const char *name);
#define dlsym wrapped_dlsym
#include "../../preload/real.c"
#undef dlsym

struct mg_pl_settings mg_pl_cfg = { .threshold = 1 << 20, .fail_above = MG_PL_OFF, .fail_after = MG_PL_OFF };
static int free_direct_calls, answers_during, not_yet;
static const char *mode;

void mg_pl_config_load(void)
{
}

void mg_pl_free_direct(void)
{
	free_direct_calls++;
}

static void ask(void)
{
	answers_during++;
	if (!mg_pl_ensure_init())
		not_yet++;
}

static void *ask_thread(void *arg)
{
	(void)arg;
	ask();
	return NULL;
}

static void *wrapped_dlsym(void *handle, const char *name)
{
	static int calls;

	if (calls++ == 0) {
		if (!strcmp(mode, "nested")) {
			ask();
		} else if (!strcmp(mode, "thread")) {
			pthread_t t;

			if (pthread_create(&t, NULL, ask_thread, NULL) == 0)
				pthread_join(t, NULL);
		}
	}
	return dlsym(handle, name);
}

int main(int argc, char **argv)
{
	bool boot_expected;

	if (argc != 2 || (strcmp(argv[1], "alone") && strcmp(argv[1], "nested") && strcmp(argv[1], "thread"))) {
		fprintf(stderr, "usage: preload_init alone|nested|thread\n");
		return 2;
	}
	mode = argv[1];
	boot_expected = strcmp(mode, "alone") != 0;
	if (!mg_pl_ensure_init() || !mg_pl_ensure_init() || !mg_pl_real.free || mg_pl_gate != 1 << 20) {
		printf("FAIL %s: initialisation did not complete\n", mode);
		return 1;
	}
	if (answers_during != (boot_expected ? 1 : 0) || not_yet != answers_during) {
		printf("FAIL %s: %d asked during resolution, %d told not yet\n", mode, answers_during, not_yet);
		return 1;
	}
	if (free_direct_calls != (boot_expected ? 0 : 1)) {
		printf("FAIL %s: free() made direct %d times\n", mode, free_direct_calls);
		return 1;
	}
	printf("PASS %s: %s\n", mode,
	       boot_expected ? "asked during resolution, told not yet, free() keeps checking for bootstrap blocks"
			     : "nobody asked during resolution, free() goes straight to the real free");
	return 0;
}
