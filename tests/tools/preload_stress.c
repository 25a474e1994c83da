/* preload_stress THREADS PER_THREAD FORKS: run under the shim with
 * MEMGUARD_FAIL_ABOVE=1M. THREADS threads each make PER_THREAD requests of
 * 2 MiB (all refused by the injection, all reported) between small
 * malloc/free pairs and large successful mmaps; meanwhile the main thread
 * forks FORKS children, each making one refused request and exiting, and a
 * 1 kHz SIGALRM interrupts everyone (the handler only counts).
 * Prints "failed N" (requests the program saw fail), "children C",
 * "signals S" and exits 0 when every request failed as injected. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t signals;
static atomic_long failed;
static long per_thread;

static void on_alarm(int sig)
{
	(void)sig;
	signals++;
}

static void *worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < per_thread; i++) {
		void *volatile small = malloc(64 + (size_t)(i % 512));
		free(small);
		void *volatile big = malloc(2u << 20);
		if (!big)
			atomic_fetch_add(&failed, 1);
		free(big);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	pthread_t t[64];
	long threads, forks, children = 0;
	int bad = 0;

	if (argc != 4)
		return 2;
	threads = atol(argv[1]);
	per_thread = atol(argv[2]);
	forks = atol(argv[3]);
	if (threads < 1 || threads > 64)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = 0; /* no SA_RESTART: every slow call sees EINTR */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (long i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0)
			return 3;
	for (long i = 0; i < forks; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			void *volatile p = malloc(2u << 20);
			exit(p ? 4 : 0);
		}
		if (pid < 0)
			continue;
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			children++;
		else
			bad = 1;
	}
	for (long i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	it.it_value.tv_usec = it.it_interval.tv_usec = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	printf("failed %ld\nchildren %ld\nsignals %ld\n", atomic_load(&failed), children, (long)signals);
	return bad || atomic_load(&failed) != threads * per_thread ? 1 : 0;
}
