/* alloc_bench WORKLOAD THREADS OPS: the allocation cost an interposer adds.
 *   pairs    malloc(n) then free at once, n cycling through 16..512 bytes:
 *            the tightest loop there is, all of it fast path
 *   mixed    shaped like glibc's benchtests/bench-malloc-thread: each thread
 *            keeps a working set of 1024 live blocks and replaces a random
 *            one per op (free, then malloc of a random size from 4 B to
 *            32 KiB, small sizes the likeliest: density 1/size^2). Slots
 *            and sizes come from tables filled before the clock starts, so
 *            the loop times the allocator, not the random numbers
 *   callocs  calloc(1, n) then free, n as for pairs
 *   reallocs one block realloc'd up and down through 16..512 bytes
 * Each thread does OPS operations. Prints two numbers: the wall-clock
 * nanoseconds per operation per thread (what one thread sees), from the
 * moment all threads are released to the last one's end; and the threads'
 * own CPU time per operation (their mean), which time spent waiting for a
 * core - other programs on a busy machine - does not inflate. The
 * sequence of calls depends on OPS alone, so that instruction counts are
 * reproducible. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum workload { PAIRS, MIXED, CALLOCS, REALLOCS };

#define WORKING_SET 1024
#define SIZE_TABLE 8000
#define SLOT_TABLE (WORKING_SET * 4)
#define MIN_SIZE 4.0
#define MAX_SIZE 32768.0

static long ops;
static enum workload workload;
static pthread_barrier_t start;
static unsigned sizes[SIZE_TABLE];
static unsigned slots[SLOT_TABLE];

/* Results go through here so the compiler cannot drop an allocation. */
static void *volatile sink;

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* u in [0, 1) to a size whose density falls as 1/size^2 between the bounds:
 * the inverse of the distribution function (1/a - 1/x) / (1/a - 1/b). */
static unsigned size_for(double u)
{
	double lo = 1.0 / MIN_SIZE, hi = 1.0 / MAX_SIZE;

	return (unsigned)(1.0 / (lo - u * (lo - hi)));
}

static void fill_tables(void)
{
	uint64_t s = 88;

	for (int i = 0; i < SIZE_TABLE; i++)
		sizes[i] = size_for((double)(next(&s) >> 11) / 9007199254740992.0);
	for (int i = 0; i < SLOT_TABLE; i++)
		slots[i] = (unsigned)(next(&s) % WORKING_SET);
}

static void mixed_loop(void)
{
	void **set = calloc(WORKING_SET, sizeof(void *));
	unsigned si = 0, ki = 0;

	if (!set)
		exit(1);
	for (long i = 0; i < ops; i++) {
		unsigned slot = slots[ki];

		ki = ki + 1 == SLOT_TABLE ? 0 : ki + 1;
		free(set[slot]);
		set[slot] = malloc(sizes[si]);
		si = si + 1 == SIZE_TABLE ? 0 : si + 1;
	}
	sink = set[0];
	for (int i = 0; i < WORKING_SET; i++)
		free(set[i]);
	free(set);
}

static double cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void *run(void *arg)
{
	double *spent = arg, began;
	void *p = NULL;

	pthread_barrier_wait(&start);
	began = cpu_ns();
	switch (workload) {
	case PAIRS:
		for (long i = 0; i < ops; i++) {
			p = malloc(16 + (size_t)(i & 31) * 16);
			sink = p;
			free(p);
		}
		break;
	case CALLOCS:
		for (long i = 0; i < ops; i++) {
			p = calloc(1, 16 + (size_t)(i & 31) * 16);
			sink = p;
			free(p);
		}
		break;
	case REALLOCS:
		for (long i = 0; i < ops; i++) {
			void *q = realloc(p, 16 + (size_t)(i & 31) * 16);
			if (q)
				p = q;
			sink = p;
		}
		free(p);
		break;
	case MIXED:
		mixed_loop();
		break;
	}
	*spent = cpu_ns() - began;
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "pairs", "mixed", "callocs", "reallocs" };
	struct timespec a, b;
	pthread_t t[64];
	double spent[64], cpu = 0;
	int n, w = -1;

	for (int i = 0; argc == 4 && i < 4; i++)
		if (!strcmp(argv[1], names[i]))
			w = i;
	if (w < 0) {
		fprintf(stderr, "usage: alloc_bench pairs|mixed|callocs|reallocs THREADS OPS\n");
		return 2;
	}
	workload = (enum workload)w;
	n = atoi(argv[2]);
	ops = atol(argv[3]);
	if (n < 1 || n > 64 || ops < 1) {
		fprintf(stderr, "alloc_bench: THREADS 1..64, OPS > 0\n");
		return 2;
	}
	fill_tables();
	pthread_barrier_init(&start, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, run, &spent[i]);
	clock_gettime(CLOCK_MONOTONIC, &a);
	pthread_barrier_wait(&start);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	for (int i = 0; i < n; i++)
		cpu += spent[i];
	printf("%.3f %.3f\n", ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)ops,
	       cpu / n / (double)ops);
	return 0;
}
