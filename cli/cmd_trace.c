/* memguardctl trace [OPTIONS] -- COMMAND [ARG...]: COMMAND under the
 * installed allocation shim, then its reports with every frame named.
 * COMMAND keeps stdin, stdout and stderr; the reports go to a log file the
 * shim writes and are printed, symbolised, on stderr once COMMAND ends.
 * The exit status is COMMAND's (128+N for a death by signal N, as the
 * shell says it). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../preload/settings.h"
#include "ctl.h"
#include "shim_path.h"
#include "symbolized.h"


/* trace's own failures, as env(1) reports them: COMMAND's statuses stay
 * COMMAND's. */
enum { TRACE_FAILED = 125, TRACE_CANNOT_EXEC = 126, TRACE_NOT_FOUND = 127 };

struct trace_opts {
	const char *log; /* --log FILE: kept */
	bool json;
	/* MEMGUARD_* values, checked with the shim's own parser. */
	const char *value[16];
};

static void trace_usage(void)
{
	printf("Usage: %s trace [OPTIONS] -- COMMAND [ARG...]\n"
	       "Run COMMAND under the allocation shim (%s), then print its reports\n"
	       "on stderr with function, source file and line for every frame.\n"
	       "\n"
	       "  --threshold SIZE     report allocations of at least SIZE (default 64M; max: failures only)\n"
	       "  --log FILE           keep the raw log in FILE (appended to)\n"
	       "  --json               the symbolised reports as JSON lines\n"
	       "  --fail-above SIZE    make every request above SIZE fail, as strict overcommit would\n"
	       "  --fail-after N       let N matching requests pass, fail every later one\n"
	       "  --backtrace N        frames per report, 0 to 32 (default 8)\n"
	       "  -h, --help           show this help and exit\n"
	       "\n"
	       "Exit status: COMMAND's (128+N when signal N ended it); 125 when trace itself\n"
	       "failed, 126 when COMMAND cannot be run, 127 when it is not found, 2 usage error.\n",
	       ctl_prog, MG_PRELOAD_PATH);
}

static int var_index(const char *name)
{
	for (size_t i = 0; i < mg_pl_nvars; i++)
		if (strcmp(mg_pl_vars[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int set_value(struct trace_opts *o, const char *opt, const char *var, const char *v)
{
	struct mg_pl_settings probe;
	int idx = var_index(var), r;

	mg_pl_settings_default(&probe);
	r = mg_pl_setting_apply(&probe, (size_t)idx, v);
	if (r < 0)
		return ctl_usage_err("%s %s: %s (expected %s)", opt, v, r == -ERANGE ? "out of range" : "not valid",
				     mg_pl_vars[idx].expected);
	o->value[idx] = v;
	return 0;
}

/* The shim is loaded into whatever COMMAND runs, setuid programs aside:
 * only a root-owned file nobody else can write. */
static int check_shim(void)
{
	int r = mg_shim_trusted(MG_PRELOAD_PATH);

	if (r == -EPERM)
		ctl_err("the allocation shim %s is not a root-owned file writable only by root: not loading it",
			MG_PRELOAD_PATH);
	else if (r < 0)
		ctl_err("the allocation shim %s: %s (it is installed by 'make install' with the same LIBDIR)",
			MG_PRELOAD_PATH, strerror(-r));
	return r;
}

/* The shim expands %p; the name is meant as it is. */
static char *escape_percent(const char *s)
{
	size_t n = 0;
	char *out, *p;

	for (const char *q = s; *q; q++)
		n += *q == '%' ? 2 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	for (p = out; *s; s++) {
		*p++ = *s;
		if (*s == '%')
			*p++ = '%';
	}
	*p = '\0';
	return out;
}

static char *absolute(const char *path)
{
	char cwd[PATH_MAX];
	char *out;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

static int set_preload(void)
{
	char *v = mg_shim_preload_value(getenv("LD_PRELOAD"), MG_PRELOAD_PATH);
	int r;

	if (!v)
		return -ENOMEM;
	r = setenv("LD_PRELOAD", v, 1);
	free(v);
	return r < 0 ? -errno : 0;
}

static int parse(struct trace_opts *o, int argc, char **argv)
{
	enum { O_THRESHOLD = 300, O_LOG, O_JSON, O_FAIL_ABOVE, O_FAIL_AFTER, O_BACKTRACE };
	static const struct option opts[] = {
		{ "threshold", required_argument, NULL, O_THRESHOLD },
		{ "log", required_argument, NULL, O_LOG },
		{ "json", no_argument, NULL, O_JSON },
		{ "fail-above", required_argument, NULL, O_FAIL_ABOVE },
		{ "fail-after", required_argument, NULL, O_FAIL_AFTER },
		{ "backtrace", required_argument, NULL, O_BACKTRACE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, r = 0;

	optind = 0; /* a fresh scan of this command's own arguments */
	opterr = 0;
	while (r == 0 && (opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case O_THRESHOLD:
			r = set_value(o, "--threshold", "MEMGUARD_THRESHOLD", optarg);
			break;
		case O_FAIL_ABOVE:
			r = set_value(o, "--fail-above", "MEMGUARD_FAIL_ABOVE", optarg);
			break;
		case O_FAIL_AFTER:
			r = set_value(o, "--fail-after", "MEMGUARD_FAIL_AFTER", optarg);
			break;
		case O_BACKTRACE:
			r = set_value(o, "--backtrace", "MEMGUARD_BACKTRACE", optarg);
			break;
		case O_LOG:
			if (!*optarg || strcmp(optarg, "stderr") == 0 || strcmp(optarg, "syslog") == 0)
				return ctl_usage_err("--log takes a file name: the reports are read back from it");
			o->log = optarg;
			break;
		case O_JSON:
			o->json = true;
			break;
		case 'h':
			trace_usage();
			return -1;
		default:
			return ctl_usage_err("trace: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (r)
		return r;
	if (optind >= argc)
		return ctl_usage_err("trace: no COMMAND given (trace [OPTIONS] -- COMMAND [ARG...])");
	return 0;
}

/* The child: its own signal dispositions, the environment, exec. A
 * failure to exec is sent to the parent as errno over the pipe. */
static void child(int report_fd, char **cmd)
{
	int e;

	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	execvp(cmd[0], cmd);
	e = errno;
	if (write(report_fd, &e, sizeof(e)) < 0)
		_exit(TRACE_FAILED);
	_exit(TRACE_FAILED);
}

static int run(char **cmd, int *status)
{
	int pipefd[2], e = 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	pid_t pid;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	/* ^C reaches COMMAND (same process group); trace stays to print what
	 * it left, as system(3) does. */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		return -e;
	}
	if (pid == 0) {
		close(pipefd[0]);
		child(pipefd[1], cmd);
	}
	close(pipefd[1]);
	do
		n = read(pipefd[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (n == (ssize_t)sizeof(e)) {
		ctl_err("%s: %s", cmd[0], strerror(e));
		return e == ENOENT ? -ENOENT : -EACCES;
	}
	return 0;
}

static int print_reports(const char *log, off_t from, bool json)
{
	struct symbolized s;
	FILE *in = fopen(log, "re");
	int r;

	if (!in) {
		/* Nothing reported: the shim creates the file at its first line. */
		if (errno == ENOENT)
			return 0;
		ctl_err("%s: %s", log, strerror(errno));
		return -1;
	}
	if (from && fseeko(in, from, SEEK_SET) < 0) {
		ctl_err("%s: %s", log, strerror(errno));
		fclose(in);
		return -1;
	}
	if (symbolized_init(&s, stderr, json) < 0) {
		fclose(in);
		return -1;
	}
	r = symbolized_stream(&s, in, log);
	symbolized_free(&s);
	fclose(in);
	fflush(stderr);
	return r < 0 ? -1 : 0;
}

int cmd_trace(struct ctl *c, int argc, char **argv)
{
	struct trace_opts o = { 0 };
	char tmpl[PATH_MAX], *log = NULL, *log_env = NULL, *dir = NULL;
	struct stat st;
	off_t from = 0;
	int r, status = 0, ret = TRACE_FAILED;

	(void)c;
	r = parse(&o, argc, argv);
	if (r < 0)
		return EXIT_OK; /* --help */
	if (r > 0)
		return r;
	if (check_shim() < 0)
		return TRACE_FAILED;
	if (o.log) {
		log = absolute(o.log);
		if (log && stat(log, &st) == 0)
			from = st.st_size; /* what was there before is not this run's */
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(tmpl, sizeof(tmpl), "%s/memguard-trace.XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
		dir = mkdtemp(tmpl);
		if (!dir) {
			ctl_err("cannot make a directory for the log in %s: %s", tmp && tmp[0] == '/' ? tmp : "/tmp",
				strerror(errno));
			return TRACE_FAILED;
		}
		if (asprintf(&log, "%s/log", dir) < 0)
			log = NULL;
	}
	if (!log || !(log_env = escape_percent(log))) {
		ctl_err("out of memory");
		goto out;
	}
	for (size_t i = 0; i < mg_pl_nvars; i++)
		if (o.value[i] && setenv(mg_pl_vars[i].name, o.value[i], 1) < 0)
			goto env_fail;
	if (setenv("MEMGUARD_LOG", log_env, 1) < 0 || setenv("MEMGUARD_FORMAT", "text", 1) < 0 ||
	    set_preload() < 0)
		goto env_fail;
	r = run(argv + optind, &status);
	if (r == -ENOENT) {
		ret = TRACE_NOT_FOUND;
		goto out;
	}
	if (r == -EACCES) {
		ret = TRACE_CANNOT_EXEC;
		goto out;
	}
	if (r < 0) {
		ctl_err("cannot run %s: %s", argv[optind], strerror(-r));
		goto out;
	}
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : TRACE_FAILED;
	/* The reports are printed even when COMMAND failed: that is when
	 * they matter. A failure to print them is said, the status stays. */
	(void)print_reports(log, from, o.json);
	goto out;
env_fail:
	ctl_err("cannot set the environment: %s", strerror(errno));
out:
	if (dir) {
		unlink(log);
		rmdir(dir);
	}
	free(log);
	free(log_env);
	return ret;
}
