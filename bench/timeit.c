/* Runs one command with its output thrown away and prints the wall time it
 * took, from fork to exit, in microseconds, and its exit status:
 *     timeit CMD [ARG...]      ->  "1234 0"
 * Used by policy-bench.sh: a shell timer around each run would add the
 * cost of starting date(1) twice to every sample. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec a, b;
	pid_t pid;
	int st;

	if (argc < 2) {
		fprintf(stderr, "usage: timeit CMD [ARG...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = fork();
	if (pid < 0) {
		perror("timeit: fork");
		return 2;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0) {
		perror("timeit: waitpid");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lld %d\n", ((long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec)) / 1000,
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}
