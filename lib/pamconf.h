/* The PAM configuration as a login sees it: the files of a pam.d
 * directory, the session stack of each service with its includes
 * followed (`@include`, `include`, `substack`), and the arguments of the
 * lines that load pam_memguard.so. memguardctl reads it so that status,
 * apply, gc, metrics and doctor see what logins see. Library code: the
 * problems found come back as diagnostics with file:line:column. */
#ifndef MEMGUARD_PAMCONF_H
#define MEMGUARD_PAMCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define MG_PAMD_DEFAULT "/etc/pam.d"
#define MG_PAM_MODULE_NAME "pam_memguard.so"

enum mg_pam_entry_kind {
	MG_PAM_AT_INCLUDE, /* @include FILE: every type of FILE */
	MG_PAM_MODULE,     /* TYPE CONTROL MODULE ARGS... */
	MG_PAM_INCLUDE,    /* TYPE include FILE: the lines of TYPE of FILE */
	MG_PAM_SUBSTACK,   /* TYPE substack FILE: the same, for what we read */
};

/* One line of a pam.d file (continuation lines joined). */
struct mg_pam_entry {
	enum mg_pam_entry_kind kind;
	unsigned line;    /* where it starts, 1-based */
	char type[10];    /* auth, account, password, session; "" for @include */
	bool dash;        /* "-session": a missing module is not logged */
	char *control;    /* "required", "[success=1 default=ignore]" */
	char *target;     /* the module or the included file, as written */
	unsigned target_col;
	char **argv;      /* module arguments, brackets removed */
	unsigned *argcol; /* where each argument starts */
	size_t argc;
};

struct mg_pam_file {
	char *name; /* the file name: a service, or a part others include */
	char *path;
	bool included; /* another file includes it */
	struct mg_pam_entry *v;
	size_t n;
};

/* A session line a service reaches, in the order PAM runs them. */
struct mg_pam_step {
	const struct mg_pam_file *file;
	const struct mg_pam_entry *e;
	unsigned depth; /* 0: in the service's own file */
};

struct mg_pam_service {
	const struct mg_pam_file *file; /* its name is the PAM service name */
	struct mg_pam_step *steps;
	size_t n;
};

struct mg_pamconf {
	char *dir;
	struct mg_pam_file **files; /* every file read: the directory's, then includes outside it */
	size_t nfiles;
	struct mg_pam_service *svc; /* one per file of the directory, by name */
	size_t nsvc;
};

/* Parses the text of one pam.d file (path names it in diagnostics).
 * Every malformed line is a diagnostic and is skipped; -ENOMEM only. */
int mg_pam_file_parse(const char *path, const char *text, struct mg_pam_file *f, struct mg_diags *d);
void mg_pam_file_free(struct mg_pam_file *f);

/* Reads every file of dir (NULL: /etc/pam.d) and each service's session
 * stack. An include that names /etc/pam.d/X reads X of dir, so that a
 * private copy stays whole. -errno when dir cannot be read. */
int mg_pamconf_load(const char *dir, struct mg_pamconf *pc, struct mg_diags *d);
/* The same for one service: only its file of dir and the files it
 * includes are read (a login needs no other). -ENOENT when dir has no
 * such service (PAM would run "other"). */
int mg_pamconf_load_service(const char *dir, const char *service, struct mg_pamconf *pc, struct mg_diags *d);
void mg_pamconf_free(struct mg_pamconf *pc);

const struct mg_pam_service *mg_pamconf_service(const struct mg_pamconf *pc, const char *name);

/* Whether a line loads module (a base name such as "pam_systemd.so"),
 * named bare or by a path. */
bool mg_pam_entry_loads(const struct mg_pam_entry *e, const char *module);

/* The arguments of a pam_memguard line, as pam_memguard reads them. */
struct mg_modargs {
	const char *policy;       /* NULL: not given */
	const char *cgroup_root;
	const char *backend;      /* "auto", "systemd", "cgroupfs"; NULL: not given */
	const char *service;      /* service=a,b */
	const char *skip_service; /* default "systemd-user" */
	const char *on_error;
	const char *phase;
	const char *max_sessions;
	bool include_root, debug;
	/* where each key was written (file:line:col for a report) */
	unsigned policy_col, cgroup_root_col, backend_col;
};

/* Unknown arguments and bad values become warnings on file, as the
 * module logs and ignores them. */
void mg_modargs_parse(const struct mg_pam_file *f, const struct mg_pam_entry *e, struct mg_modargs *a,
		      struct mg_diags *d);

/* Whether the module, with these arguments, acts for service. */
bool mg_modargs_service_wanted(const struct mg_modargs *a, const char *service);

/* Where a service's session stack runs pam_memguard's first line, its
 * last phase=post line and the first pam_systemd line: step indexes,
 * SIZE_MAX for none. Lines of ours that do not act for the service
 * (service=, skip_service=) are left out, as the module leaves them. */
struct mg_pam_layout {
	size_t mine, post, systemd;
};
void mg_pamconf_layout(const struct mg_pam_service *s, struct mg_pam_layout *l);

#endif
