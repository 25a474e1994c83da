/* A process on its way out that still counts in its cgroup: the main
 * thread exits (the kernel marks it PF_EXITING) while a second thread
 * stays for MS milliseconds, then the process ends.
 *
 *   lingering MS READY_FILE
 *
 * Writes its pid to READY_FILE once the main thread is a zombie, so that
 * whoever waits for the file knows the process is in that state. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long linger_ms;
static const char *ready_file;

static char main_state(void)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)getpid());
	if (!(f = fopen(path, "re")))
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

static void *stay(void *arg)
{
	struct timespec step = { 0, 1000000 }, rest = { linger_ms / 1000, (linger_ms % 1000) * 1000000 };
	char tmp[4096];
	FILE *f;

	(void)arg;
	for (int i = 0; i < 5000 && main_state() != 'Z'; i++)
		nanosleep(&step, NULL);
	snprintf(tmp, sizeof(tmp), "%s.tmp", ready_file);
	if ((f = fopen(tmp, "we"))) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
		rename(tmp, ready_file);
	}
	nanosleep(&rest, NULL);
	exit(0);
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc != 3) {
		fprintf(stderr, "usage: lingering MS READY_FILE\n");
		return 2;
	}
	linger_ms = strtol(argv[1], NULL, 10);
	ready_file = argv[2];
	if (pthread_create(&t, NULL, stay, NULL) != 0)
		return 1;
	pthread_exit(NULL);
}
