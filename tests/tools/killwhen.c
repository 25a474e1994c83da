/* Runs a command and kills it at the moment a directory entry appears:
 *
 *   killwhen DIR PREFIX DELAY_US -- CMD [ARGS...]
 *
 * Waits (inotify, from the deepest existing ancestor of DIR down) for an
 * entry of DIR whose name starts with PREFIX, waits DELAY_US more, stops
 * the command with SIGSTOP, prints what the entry's memory.limit_in_bytes
 * (v1) or memory.max (v2) held at that moment, then SIGKILLs it. Prints
 * "caught=NAME", "limit=VALUE" and "status=signal:N" or "status=exit:N";
 * exits 0 when the command was killed, 3 when it ended before the entry
 * appeared, 2 on a usage or system error. A PAM caller killed in the
 * middle of open_session: what a user can do to su, which keeps their
 * real uid. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

static int find_entry(const char *dir, const char *prefix, char *name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			snprintf(name, len, "%s", de->d_name);
			found = 1;
			break;
		}
	closedir(d);
	return found;
}

/* Watches the deepest existing ancestor of dir (dir itself when it
 * exists) for creations; returns the path watched. */
static int watch_deepest(int in, const char *dir, char *watched, size_t len, int *wd)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (;;) {
		struct stat st;
		char *slash;

		if (stat(path, &st) == 0) {
			if (*wd >= 0)
				inotify_rm_watch(in, *wd);
			*wd = inotify_add_watch(in, path, IN_CREATE | IN_ONLYDIR);
			if (*wd < 0)
				return -errno;
			snprintf(watched, len, "%s", path);
			return 0;
		}
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			return -ENOENT;
		*slash = '\0';
	}
}

static void print_limit(const char *dir, const char *name)
{
	const char *files[] = { "memory.limit_in_bytes", "memory.max" };
	char path[PATH_MAX], buf[64];

	for (size_t i = 0; i < 2; i++) {
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s/%s", dir, name, files[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			printf("limit=%s\n", buf);
			return;
		}
	}
	printf("limit=(none)\n");
}

int main(int argc, char **argv)
{
	char watched[PATH_MAX], name[256];
	const char *dir, *prefix;
	long delay;
	int in, wd = -1, status, r;
	pid_t child;
	time_t end;

	if (argc < 6 || strcmp(argv[4], "--") != 0) {
		fprintf(stderr, "usage: killwhen DIR PREFIX DELAY_US -- CMD [ARGS...]\n");
		return 2;
	}
	dir = argv[1];
	prefix = argv[2];
	delay = strtol(argv[3], NULL, 10);
	in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (in < 0 || (r = watch_deepest(in, dir, watched, sizeof(watched), &wd)) < 0) {
		perror("killwhen: inotify");
		return 2;
	}
	child = fork();
	if (child < 0)
		return 2;
	if (child == 0) {
		execvp(argv[5], argv + 5);
		_exit(127);
	}
	end = time(NULL) + 20;
	for (int found = 0; !found;) {
		struct pollfd p = { in, POLLIN, 0 };
		char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		ssize_t n;

		/* The entry, once dir is what is watched. */
		if (strcmp(watched, dir) == 0 && find_entry(dir, prefix, name, sizeof(name)))
			break;
		if (waitpid(child, &status, WNOHANG) == child) {
			printf("missed: the command ended before %s/%s* appeared\n", dir, prefix);
			return 3;
		}
		if (time(NULL) > end) {
			kill(child, SIGKILL);
			waitpid(child, &status, 0);
			printf("missed: %s/%s* did not appear in 20 s\n", dir, prefix);
			return 3;
		}
		if (poll(&p, 1, 50) <= 0)
			continue;
		/* Straight from the event: no readdir between mkdir and the stop. */
		while (!found && (n = read(in, ev, sizeof(ev))) > 0)
			for (char *q = ev; q < ev + n;) {
				struct inotify_event *e = (struct inotify_event *)q;

				if (strcmp(watched, dir) == 0 && e->len && strncmp(e->name, prefix, strlen(prefix)) == 0) {
					snprintf(name, sizeof(name), "%s", e->name);
					found = 1;
					break;
				}
				q += sizeof(*e) + e->len;
			}
		/* A new level may have appeared: go one deeper. */
		if (!found && strcmp(watched, dir) != 0)
			watch_deepest(in, dir, watched, sizeof(watched), &wd);
	}
	if (delay > 0) {
		struct timespec ts = { delay / 1000000, (delay % 1000000) * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(child, SIGSTOP);
	printf("caught=%s\n", name);
	print_limit(dir, name);
	kill(child, SIGKILL);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		printf("status=signal:%d\n", WTERMSIG(status));
	else
		printf("status=exit:%d\n", WEXITSTATUS(status));
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : 1;
}
