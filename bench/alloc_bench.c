/* alloc_bench WORKLOAD THREADS OPS: the allocation cost the shim adds.
 *   pairs  malloc(n) then free at once, n cycling through 16..512 bytes:
 *          the tightest loop there is, all of it fast path
 *   mixed  a ring of 4096 live blocks per thread; each op frees one and
 *          allocates a new one by malloc, calloc or realloc, sizes 8 B to
 *          64 KiB (mostly small), 1 in 4096 of 1 MiB
 * Each thread does OPS operations; prints the wall-clock nanoseconds per
 * operation per thread (what one thread sees), one number. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long ops;
static int mixed;
static pthread_barrier_t start;

/* Results go through here so the compiler cannot drop an allocation. */
static void *volatile sink;

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *run(void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull + (uintptr_t)arg;
	enum { RING = 4096 };
	void **ring = calloc(RING, sizeof(void *));

	pthread_barrier_wait(&start);
	if (!mixed) {
		for (long i = 0; i < ops; i++) {
			void *p = malloc(16 + (size_t)(i & 31) * 16);
			sink = p;
			free(p);
		}
	} else {
		for (long i = 0; i < ops; i++) {
			uint64_t r = next(&seed);
			size_t slot = r % RING, n;
			unsigned kind = (unsigned)(r >> 32) & 15;

			if ((r >> 40) % 4096 == 0)
				n = 1 << 20;
			else if (kind < 12)
				n = 8 + (size_t)((r >> 20) % 248);
			else
				n = 256 + (size_t)((r >> 20) % 65280);
			if (kind == 15 && ring[slot]) {
				void *p = realloc(ring[slot], n);
				if (p)
					ring[slot] = p;
			} else {
				free(ring[slot]);
				ring[slot] = kind == 14 ? calloc(1, n) : malloc(n);
			}
			sink = ring[slot];
		}
		for (int i = 0; i < RING; i++)
			free(ring[i]);
	}
	free(ring);
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec a, b;
	pthread_t t[64];
	int n;

	if (argc != 4 || (strcmp(argv[1], "pairs") && strcmp(argv[1], "mixed"))) {
		fprintf(stderr, "usage: alloc_bench pairs|mixed THREADS OPS\n");
		return 2;
	}
	mixed = !strcmp(argv[1], "mixed");
	n = atoi(argv[2]);
	ops = atol(argv[3]);
	if (n < 1 || n > 64 || ops < 1) {
		fprintf(stderr, "alloc_bench: THREADS 1..64, OPS > 0\n");
		return 2;
	}
	pthread_barrier_init(&start, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, run, (void *)(uintptr_t)i);
	clock_gettime(CLOCK_MONOTONIC, &a);
	pthread_barrier_wait(&start);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.2f\n", ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)ops);
	return 0;
}
