/* Drives a real PAM stack from a private service directory: opens a
 * session for USER, runs a command inside it, closes the session.
 *
 *   pamdrive CONFDIR SERVICE USER [CMD ARGS...]
 *
 * Prints "open=N", the caller's cgroup and oom_score_adj inside the
 * session, "child=exit:N" or "child=signal:N" as waitpid saw it,
 * "close=N" (N: the PAM return code, 0 is PAM_SUCCESS), and its cgroup and
 * oom_score_adj after close ("after=", "oom_after="). Exits 0 when both
 * PAM calls returned PAM_SUCCESS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)data;
	*resp = calloc((size_t)n, sizeof(**resp));
	if (!*resp)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		fprintf(stderr, "pam says: %s\n", msg[i]->msg);
	return PAM_SUCCESS;
}

static void print_file(const char *label, const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		printf("%s=(%s)\n", label, strerror(errno));
		return;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		printf("%s=%s\n", label, line);
}

int main(int argc, char **argv)
{
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *pamh = NULL;
	int r, oc, cc = -1, status;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: pamdrive CONFDIR SERVICE USER [CMD ARGS...]\n");
		return 2;
	}
	r = pam_start_confdir(argv[2], argv[3], &pc, argv[1], &pamh);
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "pam_start_confdir: %d\n", r);
		return 2;
	}
	oc = pam_open_session(pamh, 0);
	printf("open=%d\n", oc);
	print_file("cgroup", "/proc/self/cgroup");
	print_file("oom_score_adj", "/proc/self/oom_score_adj");
	fflush(stdout);
	if (argc > 4) {
		pid = fork();
		if (pid == 0) {
			/* As a login program's child does: drop the handle, touch nothing. */
			pam_end(pamh, PAM_SUCCESS | PAM_DATA_SILENT);
			execvp(argv[4], argv + 4);
			_exit(127);
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFSIGNALED(status))
			printf("child=signal:%d\n", WTERMSIG(status));
		else
			printf("child=exit:%d\n", WEXITSTATUS(status));
		fflush(stdout);
	}
	if (oc == PAM_SUCCESS) {
		cc = pam_close_session(pamh, 0);
		printf("close=%d\n", cc);
	}
	print_file("after", "/proc/self/cgroup");
	print_file("oom_after", "/proc/self/oom_score_adj");
	pam_end(pamh, PAM_SUCCESS);
	return oc == PAM_SUCCESS && cc == PAM_SUCCESS ? 0 : 1;
}
