#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "change.h"
#include "store.h"
#include "target.h"


static const char *editor(void)
{
	const char *e = getenv("VISUAL");

	if (!e || !*e)
		e = getenv("EDITOR");
	return e && *e ? e : NULL;
}

/* The signals that end an edit: a dropped ssh connection (SIGHUP), a
 * kill, Ctrl-C at a prompt. Full-screen editors take the terminal raw, so
 * Ctrl-C inside them is a key, not a signal. */
static const int ending[] = { SIGHUP, SIGTERM, SIGINT };
static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
	caught = sig;
}

static void catch_ending(struct sigaction *old)
{
	/* No SA_RESTART: a prompt waiting for an answer returns at once. */
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < 3; i++)
		sigaction(ending[i], &sa, &old[i]);
}

static void restore_ending(const struct sigaction *old)
{
	for (size_t i = 0; i < 3; i++)
		sigaction(ending[i], &old[i], NULL);
}

static void on_child(int sig)
{
	(void)sig;
}

/* Ends the editor after an ending signal: the same SIGHUP (an editor
 * saves its swap file on it) or SIGTERM, then SIGKILL after a while. */
static void end_editor(pid_t pid, int sig, const sigset_t *wake)
{
	struct timespec grace = { 3, 0 };
	int status;

	kill(pid, sig == SIGHUP ? SIGHUP : SIGTERM);
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		if (sigtimedwait(wake, NULL, &grace) < 0 && errno == EAGAIN) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return;
		}
	}
}

/* The editor runs through the shell so that EDITOR="emacs -nw" works, as
 * it does for vipw and crontab. The ending signals and SIGCHLD are
 * blocked and waited for, so none can slip in between fork and wait. */
static int run_editor(const char *path)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, chld = { .sa_handler = on_child }, old_quit, old_chld;
	sigset_t wake, old_mask;
	pid_t pid;
	int status, r = 0;

	sigemptyset(&ign.sa_mask);
	sigemptyset(&chld.sa_mask);
	sigemptyset(&wake);
	for (size_t i = 0; i < 3; i++)
		sigaddset(&wake, ending[i]);
	sigaddset(&wake, SIGCHLD);
	sigaction(SIGQUIT, &ign, &old_quit);
	sigaction(SIGCHLD, &chld, &old_chld);
	sigprocmask(SIG_BLOCK, &wake, &old_mask);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		sigemptyset(&dfl.sa_mask);
		sigaction(SIGQUIT, &old_quit, NULL);
		sigaction(SIGCHLD, &old_chld, NULL);
		for (size_t i = 0; i < 3; i++)
			sigaction(ending[i], &dfl, NULL);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		execl("/bin/sh", "sh", "-c", "exec $MEMGUARD_EDITOR \"$1\"", "sh", path, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		siginfo_t si;
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			r = -errno;
			goto out;
		}
		if (sigwaitinfo(&wake, &si) < 0)
			continue;
		if (si.si_signo != SIGCHLD) {
			caught = si.si_signo;
			end_editor(pid, si.si_signo, &wake);
			r = -EINTR;
			goto out;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		r = -ECANCELED;
out:
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigaction(SIGCHLD, &old_chld, NULL);
	return r;
}

/* The copy lives beside the file so the admin's editor sees the same
 * filesystem; its name can never match *.conf. */
static int write_copy(const struct store_file *f, const char *text, size_t len, char **name)
{
	int fd, r = store_temp(f, "edit", name, &fd);

	if (r < 0)
		return r;
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

/* The first letter of the answer, lower case; 0 on EOF or a signal. */
static int ask(const char *prompt)
{
	char answer[16];

	fprintf(stderr, "%s", prompt);
	fflush(stderr);
	if (caught || !fgets(answer, sizeof(answer), stdin))
		return 0;
	return answer[0] >= 'A' && answer[0] <= 'Z' ? answer[0] - 'A' + 'a' : answer[0];
}

static size_t rules_of(const struct mg_policy *p, const char *file)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nrules; i++)
		n += strcmp(p->rules[i].file, file) == 0;
	return n;
}

/* The rules the file had before the edit, as the parser counts them. */
static size_t rules_in_text(const char *file, const char *text, size_t len)
{
	struct mg_policy p;
	struct mg_diags d = { 0 };
	size_t n;

	mg_policy_init(&p, 0);
	mg_policy_parse_buffer(&p, file, text, len, &d);
	n = p.nrules;
	mg_policy_free(&p);
	mg_diags_free(&d);
	return n;
}

int cmd_edit(struct ctl *c, int argc, char **argv)
{
	char *old = NULL, *text = NULL, *copy = NULL, *copy_path = NULL;
	const char *target;
	struct sigaction old_sig[3];
	struct mg_diags d = { 0 };
	struct store_file f;
	size_t oldlen = 0, len = 0;
	int lockfd = -1, r;

	(void)argv;
	if (argc > 0)
		return ctl_usage_err("edit takes no arguments (use --file to pick a drop-in)");
	/* vi without a terminal waits for input that never comes. */
	if (!editor() && !isatty(STDIN_FILENO)) {
		ctl_err("no terminal, and neither $VISUAL nor $EDITOR is set: not starting vi "
			"(set EDITOR, or change the policy with set and unset)");
		return EXIT_PROBLEMS;
	}
	caught = 0;
	catch_ending(old_sig);
	r = target_open(c, &f, &lockfd, &old, &oldlen);
	target = f.path;
	if (r != 0)
		goto out;
	r = store_make_dir(&f, &d);
	if (r == -EPERM) {
		ctl_print_diags(&d);
		ctl_err("%s not changed: pam_memguard would not trust it", target);
		goto out;
	}
	if (r < 0) {
		ctl_err("cannot create %s: %s", f.dir, strerror(-r));
		goto out;
	}
	r = write_copy(&f, old, oldlen, &copy);
	if (r < 0 || asprintf(&copy_path, "%s/%s", f.dir, copy) < 0) {
		copy_path = NULL;
		ctl_err("cannot make a copy of %s to edit: %s", target, strerror(r < 0 ? -r : ENOMEM));
		r = r < 0 ? r : -ENOMEM;
		goto out;
	}
	setenv("MEMGUARD_EDITOR", editor() ? editor() : "vi", 1);
	for (;;) {
		struct mg_policy newp;
		int errors, answer = 0;

		r = caught ? -EINTR : run_editor(copy_path);
		if (r == -EINTR)
			goto out;
		if (r < 0) {
			ctl_err("the editor (%s) failed; %s is unchanged", getenv("MEMGUARD_EDITOR"), target);
			goto out;
		}
		free(text);
		text = NULL;
		/* Read back in the directory that was checked, whatever its
		 * name leads to by now. */
		r = store_read_at(&f, copy, &text, &len);
		if (r < 0) {
			ctl_err("cannot read the edited copy %s: %s", copy_path, strerror(-r));
			goto out;
		}
		if (len == oldlen && memcmp(text, old, len) == 0) {
			printf("no changes made to %s\n", ctl_safe(target));
			r = EXIT_OK;
			goto out;
		}
		mg_policy_init(&newp, 0);
		errors = change_check(c, target, text, len, &newp);
		/* Emptying a file by mistake (a stray dG) would drop every cap. */
		if (errors == 0 && rules_of(&newp, target) == 0 && rules_in_text(target, old, oldlen) > 0) {
			fprintf(stderr, "%s: %s would have no rules left: memguard applies nothing from it\n", ctl_prog,
				ctl_safe(target));
			answer = ask("Save it anyway? (s)ave, (e)dit again, (d)iscard changes: ");
			if (answer == 's')
				answer = 0;
			else
				errors = 1;
		}
		mg_policy_free(&newp);
		if (errors < 0) {
			r = errors;
			goto out;
		}
		if (errors == 0)
			break;
		if (!answer)
			answer = ask("What now? (e)dit again, (d)iscard changes: ");
		if (answer != 'e') {
			r = caught ? -EINTR : EXIT_PROBLEMS;
			if (!caught)
				printf("changes discarded; %s is unchanged\n", ctl_safe(target));
			goto out;
		}
	}
	r = change_write(c, &f, text, len);
	if (r == 0)
		printf("%s written\n", ctl_safe(target));
out:
	if (copy)
		unlinkat(f.dirfd, copy, 0);
	store_unlock(lockfd);
	restore_ending(old_sig);
	if (caught && r != 0 && r != EXIT_OK) {
		ctl_err("ended by %s: the editor and its copy are gone; %s is unchanged", strsignal(caught),
			target ? target : c->policy);
		c->fatal_signal = caught;
	}
	store_close(&f);
	mg_diags_free(&d);
	free(old);
	free(text);
	free(copy);
	free(copy_path);
	return r;
}
