#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "change.h"
#include "store.h"
#include "target.h"


static const char *editor(void)
{
	const char *e = getenv("VISUAL");

	if (!e || !*e)
		e = getenv("EDITOR");
	return e && *e ? e : "vi";
}

/* The editor runs through the shell so that EDITOR="emacs -nw" works, as
 * it does for vipw and crontab. */
static int run_editor(const char *path)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	pid_t pid;
	int status, r = 0;

	/* Ctrl-C belongs to the editor; memguardctl stays to clean up. */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		execl("/bin/sh", "sh", "-c", "exec $MEMGUARD_EDITOR \"$1\"", "sh", path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			r = -errno;
			goto out;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		r = -ECANCELED;
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	return r;
}

static int write_copy(const char *dir, const char *base, const char *text, size_t len, char **path)
{
	int fd;

	if (asprintf(path, "%s/.%s.edit.XXXXXX.tmp", dir, base) < 0) {
		*path = NULL;
		return -ENOMEM;
	}
	fd = mkostemps(*path, 4, O_CLOEXEC);
	if (fd < 0) {
		int e = -errno;
		free(*path);
		*path = NULL;
		return e;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		off += (size_t)n;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* 'e' edits again, anything else (EOF included) discards. */
static bool ask_edit_again(void)
{
	char answer[16];

	fprintf(stderr, "What now? (e)dit again, (d)iscard changes: ");
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin))
		return false;
	return answer[0] == 'e' || answer[0] == 'E';
}

int cmd_edit(struct ctl *c, int argc, char **argv)
{
	char *target = NULL, *old = NULL, *text = NULL, *copy = NULL, *dcopy = NULL, *bcopy = NULL;
	size_t oldlen = 0, len = 0;
	int lockfd = -1, r;

	(void)argv;
	if (argc > 0)
		return ctl_usage_err("edit takes no arguments (use --file to pick a drop-in)");
	r = target_open(c, &target, &lockfd, &old, &oldlen);
	if (r != 0)
		goto out;
	dcopy = strdup(target);
	bcopy = strdup(target);
	if (!dcopy || !bcopy) {
		r = -ENOMEM;
		goto out;
	}
	/* The copy lives beside the file so the admin's editor sees the same
	 * filesystem; its name can never match *.conf. */
	if (mkdir(dirname(dcopy), 0755) < 0 && errno != EEXIST) {
		r = -errno;
		ctl_err("cannot create %s: %s", dcopy, strerror(-r));
		goto out;
	}
	free(dcopy);
	dcopy = strdup(target);
	r = dcopy ? write_copy(dirname(dcopy), basename(bcopy), old, oldlen, &copy) : -ENOMEM;
	if (r < 0) {
		ctl_err("cannot make a copy of %s to edit: %s", target, strerror(-r));
		goto out;
	}
	setenv("MEMGUARD_EDITOR", editor(), 1);
	for (;;) {
		struct mg_policy newp;
		int errors;

		r = run_editor(copy);
		if (r < 0) {
			ctl_err("the editor (%s) failed; %s is unchanged", editor(), target);
			goto out;
		}
		free(text);
		text = NULL;
		r = store_read(copy, &text, &len);
		if (r < 0) {
			ctl_err("cannot read the edited copy %s: %s", copy, strerror(-r));
			goto out;
		}
		if (len == oldlen && memcmp(text, old, len) == 0) {
			printf("no changes made to %s\n", target);
			r = EXIT_OK;
			goto out;
		}
		mg_policy_init(&newp, 0);
		errors = change_check(c, target, text, len, &newp);
		mg_policy_free(&newp);
		if (errors < 0) {
			r = errors;
			goto out;
		}
		if (errors == 0)
			break;
		if (!ask_edit_again()) {
			printf("changes discarded; %s is unchanged\n", target);
			r = EXIT_PROBLEMS;
			goto out;
		}
	}
	r = change_write(c, target, text, len);
	if (r == 0)
		printf("%s written\n", target);
out:
	if (copy)
		unlink(copy);
	store_unlock(lockfd);
	free(target);
	free(old);
	free(text);
	free(copy);
	free(dcopy);
	free(bcopy);
	return r;
}
