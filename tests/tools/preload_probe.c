/* preload_probe MODE ARGS...: allocations for tests/preload/run.sh to run
 * under libmemguard-preload.so. Prints what each call returned (one line per
 * call: "NAME ok ADDR" or "NAME fail ERRNO-NAME") so the test can hold the
 * shim's report against what the program itself saw. SIZE takes K, M, G.
 * Exit 0 unless the usage is wrong (2) or a mode's own check fails (1). */
/* Plain mmap and mmap64 are different entry points only without this. */
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Results go through here so the compiler cannot drop an allocation. */
static void *volatile keep;

static size_t size_arg(const char *s)
{
	char *end;
	unsigned long long n = strtoull(s, &end, 10);

	switch (*end) {
	case 'K': n <<= 10; break;
	case 'M': n <<= 20; break;
	case 'G': n <<= 30; break;
	default: break;
	}
	return (size_t)n;
}

static void show(const char *name, void *p, int fail_marker, int err)
{
	keep = p;
	if (fail_marker)
		printf("%s fail %s\n", name, strerrorname_np(err) ? strerrorname_np(err) : "?");
	else
		printf("%s ok %p\n", name, p);
}

static void each(size_t n)
{
	void *p, *q;
	int e;

	errno = 0;
	p = malloc(n);
	show("malloc", p, !p, errno);
	free(p);
	errno = 0;
	p = calloc(1, n);
	show("calloc", p, !p, errno);
	free(p);
	q = malloc(16);
	errno = 0;
	p = realloc(q, n);
	show("realloc", p, !p, errno);
	free(p ? p : q);
	errno = 0;
	p = reallocarray(NULL, n / 16, 16);
	show("reallocarray", p, !p, errno);
	free(p);
	p = NULL;
	e = posix_memalign(&p, 64, n);
	show("posix_memalign", p, e != 0, e);
	free(p);
	errno = 0;
	p = aligned_alloc(4096, n);
	show("aligned_alloc", p, !p, errno);
	free(p);
	errno = 0;
	p = memalign(4096, n);
	show("memalign", p, !p, errno);
	free(p);
	errno = 0;
	p = valloc(n);
	show("valloc", p, !p, errno);
	free(p);
	errno = 0;
	p = pvalloc(n);
	show("pvalloc", p, !p, errno);
	free(p);
	errno = 0;
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	show("mmap", p, p == MAP_FAILED, errno);
	if (p != MAP_FAILED)
		munmap(p, n);
	errno = 0;
	p = mmap64(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	show("mmap64", p, p == MAP_FAILED, errno);
	if (p != MAP_FAILED)
		munmap(p, n);
	q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	errno = 0;
	p = mremap(q, 4096, n, MREMAP_MAYMOVE);
	show("mremap", p, p == MAP_FAILED, errno);
	munmap(p == MAP_FAILED ? q : p, p == MAP_FAILED ? 4096 : n);
}

/* malloc(0) and realloc(p, 0) may return NULL without failing. */
static void zero(void)
{
	void *p = malloc(0), *q;

	keep = p;
	q = realloc(p, 0);
	keep = q;
	free(q);
	keep = calloc(0, 8);
	free(keep);
	keep = calloc(8, 0);
	free(keep);
	/* The one request that must be reported when FAIL_ABOVE=0. */
	keep = malloc(1);
	free(keep);
}

/* Volatile: the compiler must not see (and refuse) the overflow. */
static volatile size_t huge_nmemb = SIZE_MAX / 2 + 1;

static void overflow(void)
{
	errno = 0;
	void *p = reallocarray(NULL, huge_nmemb, 2);
	show("reallocarray", p, !p, errno);
	errno = 0;
	p = calloc(huge_nmemb, 8);
	show("calloc", p, !p, errno);
}

/* mremap's fifth argument: the target of MREMAP_FIXED. */
static int mremap_fixed(size_t n)
{
	void *src = mmap(NULL, n / 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *dst = mmap(NULL, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	void *p;

	if (src == MAP_FAILED || dst == MAP_FAILED)
		return 1;
	memset(src, 0x5a, 4096);
	p = mremap(src, n / 2, n, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	printf("target %p result %p\n", dst, p);
	if (p != dst || ((unsigned char *)p)[100] != 0x5a)
		return 1;
	return 0;
}

/* JVM- and Go-style reservations: address space, no memory. */
static void reserve(long count, size_t n)
{
	long ok = 0;

	for (long i = 0; i < count; i++) {
		void *p = mmap(NULL, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			ok++;
			munmap(p, n);
		}
		p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED)
			munmap(p, n);
	}
	printf("reserved %ld\n", ok);
}

/* RLIMIT_DATA counts private writable mappings: a PROT_NONE reservation
 * is outside it until mprotect makes it writable, which the kernel then
 * refuses with ENOMEM - what strict overcommit does to a JVM heap. */
static void mprotect_data(size_t limit, size_t n)
{
	struct rlimit rl = { limit, limit };
	void *p = mmap(NULL, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int r;

	if (p == MAP_FAILED) {
		printf("reserve fail %s\n", strerrorname_np(errno));
		return;
	}
	if (setrlimit(RLIMIT_DATA, &rl) < 0) {
		printf("setrlimit fail %s\n", strerrorname_np(errno));
		return;
	}
	errno = 0;
	r = mprotect(p, n, PROT_READ | PROT_WRITE);
	if (r == 0)
		printf("mprotect ok %p\n", p);
	else
		printf("mprotect fail %s\n", strerrorname_np(errno));
}

/* posix_memalign reports errors by its result: errno and *out untouched. */
static void memalign_einval(void)
{
	void *p = (void *)0x1;
	int r;

	errno = 1234;
	r = posix_memalign(&p, 3, 16);
	printf("posix_memalign %s out %p errno %d\n", r ? strerrorname_np(r) : "0", p, errno);
}

static void rlimit_as(size_t limit, size_t n)
{
	struct rlimit rl = { limit, limit };
	void *p;

	if (setrlimit(RLIMIT_AS, &rl) < 0) {
		printf("setrlimit fail %s\n", strerrorname_np(errno));
		return;
	}
	errno = 0;
	p = malloc(n);
	show("malloc", p, !p, errno);
	free(p);
}

static void loop(long count, size_t n)
{
	long fails = 0;

	for (long i = 0; i < count; i++) {
		void *p = malloc(n);
		keep = p;
		if (!p)
			fails++;
		free(p);
	}
	printf("loop %ld failed %ld\n", count, fails);
}

/* Allocations from one call site until MS milliseconds have passed: a
 * deadline, so the rate limit's window turns over without a sleep. */
static void loop_for(long ms, size_t n)
{
	struct timespec a, b;
	long count = 0;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		void *p = malloc(n);
		keep = p;
		free(p);
		count++;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
	printf("loop-for %ld\n", count);
}

/* A reported allocation must not change errno. */
static void keep_errno(size_t n)
{
	errno = 1234;
	keep = malloc(n);
	printf("errno %d after malloc %s\n", errno, keep ? "ok" : "fail");
	free(keep);
}

struct thr {
	long count;
	size_t size;
	long done;
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;

	for (long i = 0; i < t->count; i++) {
		char *p = malloc(t->size);
		if (p) {
			p[0] = 1;
			t->done++;
		}
		keep = p;
		free(p);
		/* Small ones in between, as real programs do. */
		free(malloc(48));
	}
	return NULL;
}

static int threads(int n, long count, size_t size)
{
	pthread_t tid[64];
	struct thr t[64];
	long total = 0;

	if (n > 64)
		n = 64;
	for (int i = 0; i < n; i++) {
		t[i] = (struct thr){ count, size, 0 };
		if (pthread_create(&tid[i], NULL, thread_main, &t[i]) != 0)
			return 1;
	}
	for (int i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		total += t[i].done;
	}
	printf("threads %d allocated %ld\n", n, total);
	return 0;
}

static int forked(size_t n)
{
	pid_t pid;
	int st;

	keep = malloc(n);
	free(keep);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		keep = malloc(n);
		free(keep);
		printf("child %d\n", (int)getpid());
		exit(0);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 1;
	printf("parent %d\n", (int)getpid());
	return 0;
}

/* The child's fate as waitpid tells it. */
static int abort_child(size_t n)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		keep = malloc(n);
		printf("child survived\n");
		exit(0);
	}
	if (waitpid(pid, &st, 0) < 0)
		return 1;
	if (WIFSIGNALED(st))
		printf("child signal %d%s\n", WTERMSIG(st), WCOREDUMP(st) ? " core" : "");
	else
		printf("child exit %d\n", WEXITSTATUS(st));
	return 0;
}

/* What a program does that closes every descriptor it did not open
 * (closefrom(3) style) and then opens its database: the lowest free number
 * is the one the shim's log had. The database is put there for certain,
 * then a second report is made; the test reads the database back. */
static int fd_reuse(const char *db, size_t n)
{
	unsigned char before[1024] = { 0 };
	int shim_fd = -1, fd;
	ssize_t w;

	for (int i = 3; i < 1024; i++)
		before[i] = fcntl(i, F_GETFD) >= 0;
	keep = malloc(n); /* the first report opens the log */
	free(keep);
	for (int i = 3; i < 1024 && shim_fd < 0; i++)
		if (!before[i] && fcntl(i, F_GETFD) >= 0)
			shim_fd = i;
	if (shim_fd < 0) {
		printf("no new descriptor after the first report\n");
		return 1;
	}
	for (int i = 3; i < 1024; i++)
		close(i);
	fd = open(db, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 1;
	if (fd != shim_fd && (dup2(fd, shim_fd) < 0 || close(fd) < 0))
		return 1;
	printf("database at %d, the shim's descriptor\n", shim_fd);
	if (write(shim_fd, "db\n", 3) != 3)
		return 1;
	keep = malloc(n);
	free(keep);
	w = write(shim_fd, "end\n", 4);
	printf("database write %s\n", w == 4 ? "ok" : strerrorname_np(errno));
	return 0;
}

/* COUNT failing allocations, then wait for a line on stdin before exit:
 * the test drains stderr in between, so the exit summary finds room. */
static int fail_then_wait(long count, size_t n)
{
	char buf[16];
	long fails = 0;

	for (long i = 0; i < count; i++) {
		void *p = malloc(n);
		keep = p;
		if (!p)
			fails++;
		free(p);
	}
	printf("failed %ld\n", fails);
	fflush(stdout);
	if (!fgets(buf, sizeof(buf), stdin))
		return 1;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Everyday work: stdio, strdup, qsort, getline, realloc growth. */
static int quiet(void)
{
	char *words[64], *line = NULL, *grow = NULL;
	size_t cap = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 1;
	for (int i = 0; i < 64; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "w%d", (i * 37) % 64);
		words[i] = strdup(buf);
	}
	qsort(words, 64, sizeof(words[0]), cmp);
	while (getline(&line, &cap, f) > 0)
		;
	fclose(f);
	free(line);
	for (size_t n = 16; n < (1u << 20); n *= 2)
		grow = realloc(grow, n);
	free(grow);
	for (int i = 0; i < 64; i++)
		free(words[i]);
	printf("quiet done\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(m, "each") && argc == 3)
		each(size_arg(argv[2]));
	else if (!strcmp(m, "malloc") && argc >= 3)
		for (int i = 2; i < argc; i++) {
			errno = 0;
			void *p = malloc(size_arg(argv[i]));
			show("malloc", p, !p, errno);
			free(p);
		}
	else if (!strcmp(m, "zero"))
		zero();
	else if (!strcmp(m, "overflow"))
		overflow();
	else if (!strcmp(m, "mremap-fixed") && argc == 3)
		return mremap_fixed(size_arg(argv[2]));
	else if (!strcmp(m, "reserve") && argc == 4)
		reserve(atol(argv[2]), size_arg(argv[3]));
	else if (!strcmp(m, "mprotect-data") && argc == 4)
		mprotect_data(size_arg(argv[2]), size_arg(argv[3]));
	else if (!strcmp(m, "memalign-einval"))
		memalign_einval();
	else if (!strcmp(m, "rlimit-as") && argc == 4)
		rlimit_as(size_arg(argv[2]), size_arg(argv[3]));
	else if (!strcmp(m, "loop") && argc == 4)
		loop(atol(argv[2]), size_arg(argv[3]));
	else if (!strcmp(m, "loop-for") && argc == 4)
		loop_for(atol(argv[2]), size_arg(argv[3]));
	else if (!strcmp(m, "errno") && argc == 3)
		keep_errno(size_arg(argv[2]));
	else if (!strcmp(m, "threads") && argc == 5)
		return threads(atoi(argv[2]), atol(argv[3]), size_arg(argv[4]));
	else if (!strcmp(m, "fork") && argc == 3)
		return forked(size_arg(argv[2]));
	else if (!strcmp(m, "abort-child") && argc == 3)
		return abort_child(size_arg(argv[2]));
	else if (!strcmp(m, "fd-reuse") && argc == 4)
		return fd_reuse(argv[2], size_arg(argv[3]));
	else if (!strcmp(m, "fail-then-wait") && argc == 4)
		return fail_then_wait(atol(argv[2]), size_arg(argv[3]));
	else if (!strcmp(m, "quiet"))
		return quiet();
	else if (!strcmp(m, "secure") && argc == 3) {
		printf("secure %lu euid %d\n", getauxval(AT_SECURE), (int)geteuid());
		keep = malloc(size_arg(argv[2]));
		free(keep);
		keep = malloc(4096);
		free(keep);
	} else {
		fprintf(stderr, "usage: preload_probe each|malloc|zero|overflow|mremap-fixed|reserve|"
				"mprotect-data|memalign-einval|rlimit-as|loop|loop-for|errno|threads|fork|abort-child|fd-reuse|\n"
				"fail-then-wait|quiet|secure ...\n");
		return 2;
	}
	return 0;
}
