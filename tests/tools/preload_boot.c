/* preload_boot: the shim's heap hooks and bootstrap buffer, compiled into
 * this program with the rest of the shim replaced by stubs, so that the
 * state "dlsym is still resolving malloc" can be produced at will (glibc
 * 2.34+ no longer allocates in a successful dlsym, so a real run of the
 * shim never reaches it). Checks that memory handed out then is zeroed and
 * aligned, that free() ignores it, that realloc() moves it to real memory
 * with its contents, and that malloc_usable_size() knows its size.
 * Prints one summary line; exit 0 when every check held, 1 otherwise. */
#include "../../preload/bootstrap.c"
#include "../../preload/hooks_heap.c"

#include <dlfcn.h>
#include <stdio.h>

struct mg_pl_real mg_pl_real;
size_t mg_pl_gate;
bool mg_pl_ready;
__thread int mg_pl_in_hook;
struct mg_pl_settings mg_pl_cfg = { .threshold = UINT64_MAX, .fail_above = UINT64_MAX,
				    .fail_after = UINT64_MAX };
static bool pretend_resolving;

bool mg_pl_ensure_init(void)
{
	if (!mg_pl_real.malloc) {
		/* As in real.c; dlsym of these does not allocate on glibc 2.36. */
		*(void **)&mg_pl_real.free = dlsym(RTLD_NEXT, "free");
		*(void **)&mg_pl_real.malloc = dlsym(RTLD_NEXT, "malloc");
		*(void **)&mg_pl_real.calloc = dlsym(RTLD_NEXT, "calloc");
		*(void **)&mg_pl_real.realloc = dlsym(RTLD_NEXT, "realloc");
		*(void **)&mg_pl_real.posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
		*(void **)&mg_pl_real.aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
		*(void **)&mg_pl_real.memalign = dlsym(RTLD_NEXT, "memalign");
		*(void **)&mg_pl_real.valloc = dlsym(RTLD_NEXT, "valloc");
		*(void **)&mg_pl_real.pvalloc = dlsym(RTLD_NEXT, "pvalloc");
		*(void **)&mg_pl_real.malloc_usable_size = dlsym(RTLD_NEXT, "malloc_usable_size");
	}
	return !pretend_resolving;
}

bool mg_pl_resolving(void)
{
	return pretend_resolving;
}

bool mg_pl_inject(uint64_t size)
{
	(void)size;
	return false;
}

void mg_pl_report(const struct mg_pl_event *ev)
{
	(void)ev;
}

static int failures;
#define EXPECT(c)                                                          \
	do {                                                               \
		if (!(c)) {                                                \
			fprintf(stderr, "preload_boot: line %d: %s\n", __LINE__, #c); \
			failures++;                                        \
		}                                                          \
	} while (0)

/* Freeing after realloc and a product that overflows are exactly what is
 * being tested: bootstrap blocks are never really given back. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuse-after-free"
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="
#endif

int main(void)
{
	char *a, *b, *c, *moved;
	void *d = NULL;

	mg_pl_ensure_init();
	pretend_resolving = true;
	a = calloc(10, 10);
	b = malloc(33);
	c = memalign(256, 64);
	EXPECT(posix_memalign(&d, 64, 10) == 0);
	pretend_resolving = false;

	EXPECT(mg_pl_boot_owns(a) && mg_pl_boot_owns(b) && mg_pl_boot_owns(c) && mg_pl_boot_owns(d));
	EXPECT(((uintptr_t)a & 15) == 0 && ((uintptr_t)c & 255) == 0 && ((uintptr_t)d & 63) == 0);
	for (int i = 0; i < 100; i++)
		EXPECT(a[i] == 0);
	EXPECT(malloc_usable_size(a) == 100 && malloc_usable_size(b) == 33);
	memset(b, 'x', 33);
	moved = realloc(b, 4096);
	EXPECT(moved && !mg_pl_boot_owns(moved));
	EXPECT(moved && moved[0] == 'x' && moved[32] == 'x');
	EXPECT(malloc_usable_size(moved) >= 4096);
	/* Handing bootstrap memory back must be a no-op, not glibc's abort. */
	free(a);
	free(b);
	free(c);
	free(d);
	free(moved);
	EXPECT(realloc(a, 0) == NULL);
	/* Ordinary memory still works after all that. */
	char *e = malloc(100);
	EXPECT(e && !mg_pl_boot_owns(e));
	free(e);
	EXPECT(reallocarray(NULL, SIZE_MAX / 2 + 1, 2) == NULL && errno == ENOMEM);
	if (failures)
		return 1;
	printf("4 bootstrap blocks: zeroed, aligned, sized, moved by realloc, ignored by free\n");
	return 0;
}
