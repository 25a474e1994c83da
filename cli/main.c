#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "identity.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] COMMAND [ARGS]\n"
		"Edit, check and explain the memguard memory policy, and show and apply it live.\n"
		"\n"
		"Commands:\n"
		"  check [FILE...]          validate the policy (or just these files); exit 1 on problems\n"
		"  list                     the rules as written, with file:line\n"
		"  show USER                the settings USER (name or uid) gets and the line each\n"
		"                           comes from; show --uid N [--groups A,B] NAME previews\n"
		"                           a user NSS does not know yet\n"
		"  set WHO KEY=VALUE...     change or add settings of the rule for WHO\n"
		"  unset WHO [KEY...]       remove settings, or the whole rule for WHO\n"
		"  edit                     edit a policy file with $VISUAL/$EDITOR, validated before saving\n"
		"  status [USER...]         the caps live now beside what the policy says now, for\n"
		"                           these users (name or uid) or every user with live state\n"
		"  apply [USER...]          write what the policy says now to the live groups of these\n"
		"                           users or of every user with live state; a lower limit\n"
		"                           on a group in use stays pending without --lower\n"
		"  trace [OPTIONS] -- COMMAND [ARG...]\n"
		"                           run COMMAND under the allocation shim and print its\n"
		"                           reports with function, file and line per frame\n"
		"                           ('%s trace --help' for its options)\n"
		"  symbolize [LOG...]       the same for a shim log written earlier (or stdin)\n"
		"  oom-report [FILE...]     what the OOM killers did, to whom and why: the kernel log\n"
		"                           (/dev/kmsg) or these files (- for stdin): dmesg, journalctl,\n"
		"                           syslog; exit 1 when no event is found\n"
		"  gc                       remove the empty groups that ended sessions left in\n"
		"                           memguard's tree (--dry-run: only say which)\n"
		"  metrics                  the live figures in the Prometheus text format, for\n"
		"                           node_exporter's textfile collector\n"
		"  top [USER...]            the status figures live, one row per user, refreshed;\n"
		"                           q quits, s/n/u/p change the order\n"
		"  doctor                   check that memguard is in force here, each finding with\n"
		"                           its fix; exit 0 healthy, 1 warnings, 3 errors\n"
		"\n"
		"WHO is *, a user name, @group, a uid range MIN:MAX (MIN: or :MAX), or %%all.\n"
		"\n"
		"Options:\n"
		"  --policy FILE            policy file (default %s); its drop-ins are FILE without\n"
		"                           .conf plus .d/*.conf\n"
		"  --file FILE              set, unset, edit: the file to change: the policy file or a\n"
		"                           drop-in (a bare name such as 50-lab.conf means one in the\n"
		"                           drop-in directory); default the policy file\n"
		"  --json                   check, list, show, status, apply, symbolize, oom-report:\n"
		"                           machine-readable output (show: an error too, as\n"
		"                           {\"error\":...})\n"
		"  --strict                 check: warnings count as problems\n"
		"  --no-names               check: do not look users and groups up through NSS\n"
		"  --meminfo FILE           read MemTotal from FILE (default /proc/meminfo)\n"
		"  --login-defs FILE        read UID_MIN (where '*' starts) and UID_MAX (named in\n"
		"                           show's notes) from FILE (default %s)\n"
		"  --backend=auto|systemd|cgroupfs\n"
		"                           status, apply: where the live state is; auto (default) as\n"
		"                           pam_memguard: systemd when /run/systemd/system exists\n"
		"                           and no --cgroup-root is given\n"
		"  --cgroup-root DIR        status, apply, oom-report: memguard's cgroup tree, as\n"
		"                           pam_memguard's cgroup_root=DIR (cgroupfs backend); check,\n"
		"                           show: the hierarchy whose version says what is not\n"
		"                           applied on v1\n"
		"  --pam-dir DIR            status, apply, gc, metrics, top, doctor: the PAM\n"
		"                           configuration whose pam_memguard lines give cgroup_root=,\n"
		"                           policy= and backend= unless given here (default /etc/pam.d)\n"
		"  --sort name|usage|pressure\n"
		"                           status, top: the order of the users (default name)\n"
		"  --interval SECONDS       top: time between refreshes (default 2)\n"
		"  --iterations N           top: stop after N refreshes\n"
		"  --output FILE            metrics: replace FILE atomically instead of stdout\n"
		"  --sessions               metrics: session series too (one per session)\n"
		"  --proc DIR               status, metrics, top, doctor: the /proc to read (default /proc)\n"
		"  --uid N, --groups A,B    show: preview NAME with this uid and these groups\n"
		"  --dry-run                apply: print what would change, write nothing; gc: print\n"
		"                           what would be removed, remove nothing\n"
		"  --lower                  apply: also lower limits of groups that hold processes\n"
		"                           (the kernel reclaims, then may OOM-kill)\n"
		"  --since TIME, --until TIME\n"
		"                           oom-report: only events in this window (today, yesterday,\n"
		"                           -1h, -30min, 2026-12-01, 2026-12-01 10:00, 10:00)\n"
		"  --user WHO               oom-report: only events of this user (name or uid)\n"
		"  --brief                  oom-report: one line per event\n"
		"  -h, --help               show this help and exit\n"
		"  -V, --version            show the version and exit\n"
		"\n"
		"Exit status: 0 success, 1 problems found, the change refused, the live state\n"
		"unreadable or a write failed, 2 usage error; trace: COMMAND's;\n"
		"doctor: 0 healthy, 1 warnings, 3 errors.\n"
		"See memguardctl(8) and memguard.conf(5).\n",
		ctl_prog, ctl_prog, MG_POLICY_DEFAULT_PATH, MG_LOGIN_DEFS_PATH);
}

enum { OPT_POLICY = 256, OPT_FILE, OPT_JSON, OPT_STRICT, OPT_NO_NAMES, OPT_MEMINFO, OPT_LOGIN_DEFS,
       OPT_BACKEND, OPT_CGROUP_ROOT, OPT_DRY_RUN, OPT_LOWER, OPT_UID, OPT_GROUPS,
       OPT_SINCE, OPT_UNTIL, OPT_USER, OPT_BRIEF, OPT_PAM_DIR,
       OPT_SORT, OPT_OUTPUT, OPT_SESSIONS, OPT_ITERATIONS, OPT_INTERVAL, OPT_PROC };

static const struct option options[] = {
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "file", required_argument, NULL, OPT_FILE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "no-names", no_argument, NULL, OPT_NO_NAMES },
	{ "meminfo", required_argument, NULL, OPT_MEMINFO },
	{ "login-defs", required_argument, NULL, OPT_LOGIN_DEFS },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "lower", no_argument, NULL, OPT_LOWER },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "groups", required_argument, NULL, OPT_GROUPS },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "user", required_argument, NULL, OPT_USER },
	{ "brief", no_argument, NULL, OPT_BRIEF },
	{ "pam-dir", required_argument, NULL, OPT_PAM_DIR },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "sessions", no_argument, NULL, OPT_SESSIONS },
	{ "iterations", required_argument, NULL, OPT_ITERATIONS },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "proc", required_argument, NULL, OPT_PROC },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

struct command {
	const char *name;
	int (*run)(struct ctl *c, int argc, char **argv);
	/* cgroup_root: --cgroup-root alone, to know the hierarchy's version */
	bool json, file, strict_names, live, apply, cgroup_root, preview;
	/* Options after the command name are the command's own (trace runs
	 * another command whose options must reach it untouched). */
	bool own_options;
};

/* Whether command name is one of the space-separated names in list: the
 * options of the operations commands, kept apart from the table above. */
static bool command_in(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static const struct command commands[] = {
	{ "check", cmd_check, true, false, true, false, false, true, false, false },
	{ "list", cmd_list, true, false, false, false, false, false, false, false },
	{ "show", cmd_show, true, false, false, false, false, true, true, false },
	{ "set", cmd_set, false, true, false, false, false, false, false, false },
	{ "unset", cmd_unset, false, true, false, false, false, false, false, false },
	{ "edit", cmd_edit, false, true, false, false, false, false, false, false },
	{ "status", cmd_status, true, false, false, true, false, true, false, false },
	{ "apply", cmd_apply, true, false, false, true, true, true, false, false },
	{ "symbolize", cmd_symbolize, true, false, false, false, false, false, false, false },
	{ "trace", cmd_trace, false, false, false, false, false, false, false, true },
	{ "oom-report", cmd_oom_report, true, false, false, false, false, true, false, false },
	{ "gc", cmd_gc, true, false, false, true, false, true, false, false },
	{ "metrics", cmd_metrics, false, false, false, true, false, true, false, false },
	{ "doctor", cmd_doctor, true, false, false, true, false, true, false, false },
	{ "top", cmd_top, false, false, false, true, false, true, false, false },
};

static const struct command *command_named(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

/* Where the command name is, skipping the options before it (and their
 * arguments); argc when there is none. */
static int command_index(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return i + 1 < argc ? i + 1 : argc;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		if (a[1] != '-' || strchr(a, '='))
			continue;
		for (const struct option *o = options; o->name; o++)
			if (strcmp(a + 2, o->name) == 0 && o->has_arg == required_argument)
				i++;
	}
	return argc;
}

static int parse_uid_arg(const char *s, uid_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno || v >= (uid_t)-1)
		return -EINVAL;
	*out = (uid_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl c = {
		.policy = MG_POLICY_DEFAULT_PATH,
		.login_defs = MG_LOGIN_DEFS_PATH,
		.meminfo = "/proc/meminfo",
		.names = true,
		.proc = "/proc",
		.interval_ms = 2000,
	};
	bool top_given = false, metrics_given = false;
	bool strict_or_names = false, backend_given = false, root_given = false, apply_given = false,
	     oom_given = false;
	const struct command *cmd = NULL;
	int opt, r, at = command_index(argc, argv), scan = argc;

	/* getopt's own messages name argv[0]: the program, not its path. */
	argv[0] = (char *)ctl_prog;
	/* A command with options of its own: only what precedes it is ours. */
	if (at < argc && (cmd = command_named(argv[at])) && cmd->own_options)
		scan = at;
	cmd = NULL;
	while ((opt = getopt_long(scan, argv, "hV", options, NULL)) != -1) {
		switch (opt) {
		case OPT_POLICY:
			c.policy = optarg;
			c.policy_explicit = true;
			break;
		case OPT_FILE:
			c.file = optarg;
			break;
		case OPT_JSON:
			c.json = true;
			break;
		case OPT_STRICT:
			c.strict = true;
			strict_or_names = true;
			break;
		case OPT_NO_NAMES:
			c.names = false;
			strict_or_names = true;
			break;
		case OPT_MEMINFO:
			c.meminfo = optarg;
			break;
		case OPT_LOGIN_DEFS:
			c.login_defs = optarg;
			break;
		case OPT_BACKEND:
			if (strcmp(optarg, "auto") == 0)
				c.backend = CTL_BACKEND_AUTO;
			else if (strcmp(optarg, "systemd") == 0)
				c.backend = CTL_BACKEND_SYSTEMD;
			else if (strcmp(optarg, "cgroupfs") == 0)
				c.backend = CTL_BACKEND_CGROUPFS;
			else
				return ctl_usage_err("--backend=%s: expected auto, systemd or cgroupfs", optarg);
			c.backend_explicit = backend_given = true;
			break;
		case OPT_CGROUP_ROOT:
			c.cgroup_root = optarg;
			c.cgroup_root_explicit = root_given = true;
			break;
		case OPT_PAM_DIR:
			c.pam_dir = optarg;
			break;
		case OPT_SORT:
			if (strcmp(optarg, "name") == 0)
				c.sort = CTL_SORT_NAME;
			else if (strcmp(optarg, "usage") == 0)
				c.sort = CTL_SORT_USAGE;
			else if (strcmp(optarg, "pressure") == 0)
				c.sort = CTL_SORT_PRESSURE;
			else
				return ctl_usage_err("--sort %s: expected name, usage or pressure", optarg);
			c.sort_given = true;
			break;
		case OPT_OUTPUT:
			c.output = optarg;
			metrics_given = true;
			break;
		case OPT_SESSIONS:
			c.sessions = metrics_given = true;
			break;
		case OPT_ITERATIONS:
		case OPT_INTERVAL: {
			char *end;
			double v;

			errno = 0;
			v = strtod(optarg, &end);
			if (*end || errno || v <= 0 || v > 86400 || (opt == OPT_ITERATIONS && v != (unsigned)v))
				return ctl_usage_err("--%s %s: expected a %s", opt == OPT_ITERATIONS ? "iterations" : "interval",
						     optarg, opt == OPT_ITERATIONS ? "count from 1" : "number of seconds above 0");
			if (opt == OPT_ITERATIONS)
				c.iterations = (unsigned)v;
			else
				c.interval_ms = (unsigned)(v * 1000) ? (unsigned)(v * 1000) : 1;
			top_given = true;
			break;
		}
		case OPT_PROC:
			c.proc = optarg;
			break;
		case OPT_UID:
			if (parse_uid_arg(optarg, &c.preview_uid) < 0)
				return ctl_usage_err("--uid %s: expected a decimal uid", optarg);
			c.preview = true;
			break;
		case OPT_GROUPS:
			c.preview_groups = optarg;
			break;
		case OPT_DRY_RUN:
			c.dry_run = true;
			apply_given = true;
			break;
		case OPT_LOWER:
			c.lower = true;
			apply_given = true;
			break;
		case OPT_SINCE:
			c.since = optarg;
			oom_given = true;
			break;
		case OPT_UNTIL:
			c.until = optarg;
			oom_given = true;
			break;
		case OPT_USER:
			c.user = optarg;
			oom_given = true;
			break;
		case OPT_BRIEF:
			c.brief = true;
			oom_given = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("memguardctl %s\n", MG_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", ctl_prog);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return ctl_usage_err("no command given");
	cmd = command_named(argv[optind]);
	if (!cmd)
		return ctl_usage_err("unknown command '%s'", argv[optind]);
	if (c.json && !cmd->json)
		return ctl_usage_err("%s has no --json output", cmd->name);
	if (c.file && !cmd->file)
		return ctl_usage_err("--file goes with set, unset and edit, not %s", cmd->name);
	if (strict_or_names && !cmd->strict_names)
		return ctl_usage_err("--strict and --no-names go with check, not %s", cmd->name);
	if (backend_given && !cmd->live)
		return ctl_usage_err("--backend goes with status, apply, gc, metrics, top and doctor, not %s", cmd->name);
	if (root_given && !cmd->cgroup_root)
		return ctl_usage_err("--cgroup-root goes with check, show, status, apply, oom-report, gc, metrics, top and doctor, not %s", cmd->name);
	if ((c.preview || c.preview_groups) && !cmd->preview)
		return ctl_usage_err("--uid and --groups go with show, not %s", cmd->name);
	if (c.preview_groups && !c.preview)
		return ctl_usage_err("--groups needs --uid: show --uid N --groups a,b NAME");
	if (c.pam_dir && !command_in("status apply gc metrics top doctor", cmd->name))
		return ctl_usage_err("--pam-dir goes with status, apply, gc, metrics, top and doctor, not %s", cmd->name);
	if (c.sort_given && !command_in("status top", cmd->name))
		return ctl_usage_err("--sort goes with status and top, not %s", cmd->name);
	if (metrics_given && strcmp(cmd->name, "metrics") != 0)
		return ctl_usage_err("--output and --sessions go with metrics, not %s", cmd->name);
	if (top_given && strcmp(cmd->name, "top") != 0)
		return ctl_usage_err("--iterations and --interval go with top, not %s", cmd->name);
	if (apply_given && !cmd->apply && !(strcmp(cmd->name, "gc") == 0 && !c.lower))
		return ctl_usage_err("--dry-run and --lower go with apply, not %s", cmd->name);
	if (oom_given && cmd->run != cmd_oom_report)
		return ctl_usage_err("--since, --until, --user and --brief go with oom-report, not %s", cmd->name);
	/* Its own options: it gets its name as argv[0] for getopt. */
	if (cmd->own_options)
		r = cmd->run(&c, argc - optind, argv + optind);
	else
		r = cmd->run(&c, argc - optind - 1, argv + optind + 1);
	ctl_free(&c);
	if (c.fatal_signal) {
		/* Cleaned up: now end as the signal would have ended us. */
		signal(c.fatal_signal, SIG_DFL);
		raise(c.fatal_signal);
	}
	if (r < 0)
		return EXIT_PROBLEMS;
	return r;
}
