/* Reading pam.d as Linux-PAM does: a '#' starts a comment, a line ending
 * in '\' goes on on the next, a token in [brackets] may hold spaces
 * ("\]" for a bracket inside), a type with a leading '-' loads quietly.
 * The kinds of line are two tables: what the first word says, and what
 * the control word says; one loop classifies. */
#include "pamconf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readfile.h"

#define PAM_FILE_MAX (1u << 20)
/* Linux-PAM stops following includes at this depth. */
#define INCLUDE_DEPTH_MAX 16

enum first_word { FW_TYPE, FW_AT_INCLUDE };

static const struct {
	const char *word;
	enum first_word kind;
} first_words[] = {
	{ "auth", FW_TYPE },
	{ "account", FW_TYPE },
	{ "password", FW_TYPE },
	{ "session", FW_TYPE },
	{ "@include", FW_AT_INCLUDE },
};

static const struct {
	const char *word;
	enum mg_pam_entry_kind kind;
} controls[] = {
	{ "include", MG_PAM_INCLUDE },
	{ "substack", MG_PAM_SUBSTACK },
};

struct token {
	char *s;
	unsigned col;
};

/* Splits one logical line into tokens; -EINVAL with *badcol at an
 * unterminated '['. */
static int tokenize(const char *line, struct token **out, size_t *n, unsigned *badcol)
{
	struct token *v = NULL;
	size_t len = 0;
	const char *p = line;

	*out = NULL;
	*n = 0;
	for (;;) {
		struct token *grown;
		const char *start;
		char *s, *w;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\v' || *p == '\f')
			p++;
		if (!*p)
			break;
		start = p;
		if (*p == '[') {
			/* Up to the first ']' not escaped; the brackets are kept for a
			 * control, dropped for an argument by the caller. */
			const char *q = p + 1;

			while (*q && *q != ']')
				q += (q[0] == '\\' && q[1] == ']') ? 2 : 1;
			if (*q != ']') {
				*badcol = (unsigned)(start - line) + 1;
				goto bad;
			}
			p = q + 1;
		} else {
			while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '\v' && *p != '\f')
				p++;
		}
		s = malloc((size_t)(p - start) + 1);
		grown = s ? realloc(v, (len + 1) * sizeof(*v)) : NULL;
		if (!grown) {
			free(s);
			goto oom;
		}
		v = grown;
		/* "\]" inside brackets stands for ']'. */
		w = s;
		for (const char *q = start; q < p; q++) {
			if (*start == '[' && q[0] == '\\' && q + 1 < p && q[1] == ']')
				q++;
			*w++ = *q;
		}
		*w = '\0';
		v[len].s = s;
		v[len].col = (unsigned)(start - line) + 1;
		len++;
	}
	*out = v;
	*n = len;
	return 0;
bad:
	for (size_t i = 0; i < len; i++)
		free(v[i].s);
	free(v);
	return -EINVAL;
oom:
	for (size_t i = 0; i < len; i++)
		free(v[i].s);
	free(v);
	return -ENOMEM;
}

static void free_tokens(struct token *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].s);
	free(t);
}

static void entry_free(struct mg_pam_entry *e)
{
	free(e->control);
	free(e->target);
	for (size_t i = 0; i < e->argc; i++)
		free(e->argv[i]);
	free(e->argv);
	free(e->argcol);
}

/* One logical line into an entry: 1 filled, 0 nothing there (a blank or
 * a bad line, which is reported), -ENOMEM. */
static int classify(const char *path, unsigned lineno, const char *line, struct mg_pam_entry *e,
		    struct mg_diags *d)
{
	struct token *t;
	size_t n, i, first = sizeof(first_words) / sizeof(first_words[0]);
	const char *word;
	bool dash;
	unsigned badcol = 0;
	int r = tokenize(line, &t, &n, &badcol);

	memset(e, 0, sizeof(*e));
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		mg_diag_add(d, MG_ERROR, MG_DIAG_CONTENT, path, lineno, badcol,
			    "'[' without its ']' (a bracketed token ends with ']'), line ignored");
		return 0;
	}
	if (n == 0) {
		free(t);
		return 0;
	}
	word = t[0].s;
	dash = word[0] == '-';
	for (i = 0; i < sizeof(first_words) / sizeof(first_words[0]); i++)
		if (strcmp(word + (dash && first_words[i].kind == FW_TYPE), first_words[i].word) == 0) {
			first = i;
			break;
		}
	if (first == sizeof(first_words) / sizeof(first_words[0])) {
		mg_diag_add(d, MG_ERROR, MG_DIAG_CONTENT, path, lineno, t[0].col,
			    "unknown type '%s' (expected auth, account, password, session or @include), line ignored",
			    word);
		goto skip;
	}
	e->line = lineno;
	if (first_words[first].kind == FW_AT_INCLUDE) {
		if (n != 2) {
			mg_diag_add(d, MG_ERROR, MG_DIAG_CONTENT, path, lineno, n < 2 ? t[0].col : t[2].col,
				    "@include takes one file name, line ignored");
			goto skip;
		}
		e->kind = MG_PAM_AT_INCLUDE;
		e->target = t[1].s;
		e->target_col = t[1].col;
		t[1].s = NULL;
		free_tokens(t, n);
		return 1;
	}
	if (n < 3) {
		mg_diag_add(d, MG_ERROR, MG_DIAG_CONTENT, path, lineno, t[n - 1].col,
			    "'%s' needs a control and a module (TYPE CONTROL MODULE [ARGS]), line ignored", word);
		goto skip;
	}
	snprintf(e->type, sizeof(e->type), "%s", first_words[first].word);
	e->dash = dash;
	e->kind = MG_PAM_MODULE;
	for (i = 0; i < sizeof(controls) / sizeof(controls[0]); i++)
		if (strcmp(t[1].s, controls[i].word) == 0)
			e->kind = controls[i].kind;
	e->control = t[1].s;
	e->target = t[2].s;
	e->target_col = t[2].col;
	t[1].s = t[2].s = NULL;
	e->argc = n - 3;
	e->argv = calloc(n - 3 + 1, sizeof(*e->argv));
	e->argcol = calloc(n - 3 + 1, sizeof(*e->argcol));
	if (!e->argv || !e->argcol) {
		free_tokens(t, n);
		e->argc = 0;
		entry_free(e);
		return -ENOMEM;
	}
	for (i = 3; i < n; i++) {
		char *a = t[i].s;
		size_t l = strlen(a);

		/* An argument in brackets is its text, spaces and all. */
		if (a[0] == '[' && l >= 2 && a[l - 1] == ']') {
			memmove(a, a + 1, l - 2);
			a[l - 2] = '\0';
		}
		e->argv[i - 3] = a;
		e->argcol[i - 3] = t[i].col;
		t[i].s = NULL;
	}
	free_tokens(t, n);
	return 1;
skip:
	free_tokens(t, n);
	return 0;
}

int mg_pam_file_parse(const char *path, const char *text, struct mg_pam_file *f, struct mg_diags *d)
{
	const char *p = text;
	char *logical = NULL;
	size_t llen = 0, cap = 0;
	unsigned lineno = 0, start = 0;
	int r = 0;

	f->v = NULL;
	f->n = 0;
	while (*p || llen) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		const char *hash = memchr(p, '#', n);
		size_t keep = hash ? (size_t)(hash - p) : n;
		bool more;

		if (!*p && !eol) {
			/* The text ended inside a continued line. */
			more = false;
			n = keep = 0;
		} else {
			lineno++;
			if (!llen)
				start = lineno;
			/* A backslash at the end (not in a comment) joins the next line. */
			more = !hash && keep > 0 && p[keep - 1] == '\\';
			if (more)
				keep--;
		}
		if (llen + keep + 2 > cap) {
			char *grown = realloc(logical, (cap = (llen + keep + 2) * 2));
			if (!grown) {
				r = -ENOMEM;
				break;
			}
			logical = grown;
		}
		memcpy(logical + llen, p, keep);
		llen += keep;
		if (more) {
			logical[llen++] = ' ';
		} else {
			struct mg_pam_entry e;

			logical[llen] = '\0';
			r = classify(path, start, logical, &e, d);
			if (r < 0)
				break;
			if (r == 1) {
				struct mg_pam_entry *grown = realloc(f->v, (f->n + 1) * sizeof(*grown));
				if (!grown) {
					entry_free(&e);
					r = -ENOMEM;
					break;
				}
				f->v = grown;
				f->v[f->n++] = e;
			}
			r = 0;
			llen = 0;
		}
		p = eol ? eol + 1 : p + n;
	}
	free(logical);
	if (r < 0) {
		mg_pam_file_free(f);
		return r;
	}
	return 0;
}

void mg_pam_file_free(struct mg_pam_file *f)
{
	for (size_t i = 0; i < f->n; i++)
		entry_free(&f->v[i]);
	free(f->v);
	free(f->name);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

static bool skipped_name(const char *name)
{
	size_t l = strlen(name);

	/* Hidden files, editor backups and package leftovers are no service. */
	return name[0] == '.' || (l && name[l - 1] == '~') || strstr(name, ".dpkg-") || strstr(name, ".ucf-");
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp((*(struct mg_pam_file *const *)a)->name, (*(struct mg_pam_file *const *)b)->name);
}

static int add_file(struct mg_pamconf *pc, const char *name, const char *path, struct mg_diags *d,
		    struct mg_pam_file **out)
{
	struct mg_pam_file *f, **grown;
	char *text = NULL;
	size_t len;
	int r;

	*out = NULL;
	r = mg_read_file(path, PAM_FILE_MAX, &text, &len);
	if (r < 0)
		return r;
	f = calloc(1, sizeof(*f));
	grown = f ? realloc(pc->files, (pc->nfiles + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		free(f);
		free(text);
		return -ENOMEM;
	}
	pc->files = grown;
	if (!(f->name = strdup(name)) || !(f->path = strdup(path)) ||
	    mg_pam_file_parse(path, text, f, d) < 0) {
		mg_pam_file_free(f);
		free(f);
		free(text);
		return -ENOMEM;
	}
	free(text);
	pc->files[pc->nfiles++] = f;
	*out = f;
	return 0;
}

/* The file an include names: a bare name is in dir; /etc/pam.d/X is X
 * of dir too, so that a copy of pam.d is read as a whole. */
static int find_include(struct mg_pamconf *pc, const struct mg_pam_file *from, const struct mg_pam_entry *e,
			struct mg_diags *d, struct mg_pam_file **out)
{
	const char *t = e->target, *name = t;
	char *path = NULL;
	int r;

	*out = NULL;
	if (strncmp(t, MG_PAMD_DEFAULT "/", sizeof(MG_PAMD_DEFAULT)) == 0)
		name = t + sizeof(MG_PAMD_DEFAULT);
	if (name[0] != '/')
		for (size_t i = 0; i < pc->nfiles; i++)
			if (strcmp(pc->files[i]->name, name) == 0 && strncmp(pc->files[i]->path, pc->dir, strlen(pc->dir)) == 0) {
				*out = pc->files[i];
				return 0;
			}
	if (name[0] == '/') {
		for (size_t i = 0; i < pc->nfiles; i++)
			if (strcmp(pc->files[i]->path, name) == 0) {
				*out = pc->files[i];
				return 0;
			}
		r = add_file(pc, name, name, d, out);
	} else {
		if (asprintf(&path, "%s/%s", pc->dir, name) < 0)
			return -ENOMEM;
		r = add_file(pc, name, path, d, out);
		free(path);
	}
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		mg_diag_add(d, MG_WARNING, MG_DIAG_ACCESS, from->path, e->line, e->target_col,
			    "cannot read the included file %s: %s, ignoring", t, strerror(-r));
	return 0;
}

static int add_step(struct mg_pam_service *s, const struct mg_pam_file *f, const struct mg_pam_entry *e,
		    unsigned depth)
{
	struct mg_pam_step *grown = realloc(s->steps, (s->n + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	s->steps = grown;
	s->steps[s->n++] = (struct mg_pam_step){ f, e, depth };
	return 0;
}

/* The session lines of f, includes expanded, appended to s. */
static int expand(struct mg_pamconf *pc, struct mg_pam_service *s, struct mg_pam_file *f, unsigned depth,
		  struct mg_diags *d)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct mg_pam_entry *e = &f->v[i];
		struct mg_pam_file *inc;
		int r;

		if (e->kind != MG_PAM_AT_INCLUDE && strcmp(e->type, "session") != 0)
			continue;
		if (e->kind == MG_PAM_MODULE) {
			if ((r = add_step(s, f, e, depth)) < 0)
				return r;
			continue;
		}
		if (depth + 1 >= INCLUDE_DEPTH_MAX) {
			mg_diag_add(d, MG_WARNING, MG_DIAG_CONTENT, f->path, e->line, e->target_col,
				    "includes nested deeper than %d (a loop?): %s not followed", INCLUDE_DEPTH_MAX,
				    e->target);
			continue;
		}
		if ((r = find_include(pc, f, e, d, &inc)) < 0)
			return r;
		if (!inc)
			continue;
		inc->included = true;
		if ((r = expand(pc, s, inc, depth + 1, d)) < 0)
			return r;
	}
	return 0;
}

int mg_pamconf_load(const char *dir, struct mg_pamconf *pc, struct mg_diags *d)
{
	struct dirent *de;
	size_t nsvc;
	DIR *dh;
	int r = 0;

	memset(pc, 0, sizeof(*pc));
	if (!dir)
		dir = MG_PAMD_DEFAULT;
	if (!(pc->dir = strdup(dir)))
		return -ENOMEM;
	if (!(dh = opendir(dir))) {
		r = -errno;
		mg_pamconf_free(pc);
		return r;
	}
	while ((de = readdir(dh))) {
		struct mg_pam_file *f;
		char *path;

		if (skipped_name(de->d_name) || (de->d_type != DT_REG && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN))
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		r = add_file(pc, de->d_name, path, d, &f);
		free(path);
		if (r == -ENOMEM)
			break;
		if (r < 0 && r != -EISDIR)
			mg_diag_add(d, MG_WARNING, MG_DIAG_ACCESS, NULL, 0, 0, "cannot read %s/%s: %s, ignoring", dir,
				    de->d_name, strerror(-r));
		r = 0;
	}
	closedir(dh);
	if (r < 0) {
		mg_pamconf_free(pc);
		return r;
	}
	if (pc->nfiles)
		qsort(pc->files, pc->nfiles, sizeof(*pc->files), cmp_file);
	/* Includes may add files outside the directory: those are no service. */
	nsvc = pc->nfiles;
	pc->svc = calloc(nsvc ? nsvc : 1, sizeof(*pc->svc));
	if (!pc->svc) {
		mg_pamconf_free(pc);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nsvc; i++) {
		struct mg_pam_service *s = &pc->svc[pc->nsvc++];

		s->file = pc->files[i];
		if ((r = expand(pc, s, pc->files[i], 0, d)) < 0) {
			mg_pamconf_free(pc);
			return r;
		}
	}
	return 0;
}

int mg_pamconf_load_service(const char *dir, const char *service, struct mg_pamconf *pc, struct mg_diags *d)
{
	struct mg_pam_file *f;
	char *path = NULL;
	int r;

	memset(pc, 0, sizeof(*pc));
	if (!dir)
		dir = MG_PAMD_DEFAULT;
	/* A name that is no file of dir, as mg_pamconf_load would skip it. */
	if (!*service || strchr(service, '/') || skipped_name(service))
		return -ENOENT;
	if (!(pc->dir = strdup(dir)) || asprintf(&path, "%s/%s", dir, service) < 0) {
		mg_pamconf_free(pc);
		return -ENOMEM;
	}
	r = add_file(pc, service, path, d, &f);
	free(path);
	if (r >= 0 && !(pc->svc = calloc(1, sizeof(*pc->svc))))
		r = -ENOMEM;
	if (r >= 0) {
		pc->svc[pc->nsvc++].file = f;
		r = expand(pc, &pc->svc[0], f, 0, d);
	}
	if (r < 0) {
		mg_pamconf_free(pc);
		return r == -EISDIR ? -ENOENT : r;
	}
	return 0;
}

void mg_pamconf_free(struct mg_pamconf *pc)
{
	for (size_t i = 0; i < pc->nsvc; i++)
		free(pc->svc[i].steps);
	free(pc->svc);
	for (size_t i = 0; i < pc->nfiles; i++) {
		mg_pam_file_free(pc->files[i]);
		free(pc->files[i]);
	}
	free(pc->files);
	free(pc->dir);
	memset(pc, 0, sizeof(*pc));
}

const struct mg_pam_service *mg_pamconf_service(const struct mg_pamconf *pc, const char *name)
{
	for (size_t i = 0; i < pc->nsvc; i++)
		if (strcmp(pc->svc[i].file->name, name) == 0)
			return &pc->svc[i];
	return NULL;
}

bool mg_pam_entry_loads(const struct mg_pam_entry *e, const char *module)
{
	const char *base;

	if (e->kind != MG_PAM_MODULE || !e->target)
		return false;
	base = strrchr(e->target, '/');
	return strcmp(base ? base + 1 : e->target, module) == 0;
}

/* ---- pam_memguard's arguments ---- */

enum arg_kind { ARG_VALUE, ARG_FLAG };

#define FIELD(name) offsetof(struct mg_modargs, name)

static const struct {
	const char *name;
	enum arg_kind kind;
	size_t field;      /* const char * or bool */
	size_t col;        /* unsigned, or (size_t)-1 */
	const char *allowed; /* space-separated values, NULL: any */
} module_args[] = {
	{ "policy", ARG_VALUE, FIELD(policy), FIELD(policy_col), NULL },
	{ "cgroup_root", ARG_VALUE, FIELD(cgroup_root), FIELD(cgroup_root_col), NULL },
	{ "backend", ARG_VALUE, FIELD(backend), FIELD(backend_col), "auto systemd cgroupfs" },
	{ "service", ARG_VALUE, FIELD(service), (size_t)-1, NULL },
	{ "skip_service", ARG_VALUE, FIELD(skip_service), (size_t)-1, NULL },
	{ "on_error", ARG_VALUE, FIELD(on_error), (size_t)-1, "allow deny" },
	{ "phase", ARG_VALUE, FIELD(phase), (size_t)-1, "pre post" },
	{ "max_sessions", ARG_VALUE, FIELD(max_sessions), (size_t)-1, NULL },
	{ "include_root", ARG_FLAG, FIELD(include_root), (size_t)-1, NULL },
	{ "debug", ARG_FLAG, FIELD(debug), (size_t)-1, NULL },
};

static bool word_in(const char *words, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = words; *p;) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, w, n) == 0)
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

void mg_modargs_parse(const struct mg_pam_file *f, const struct mg_pam_entry *e, struct mg_modargs *a,
		      struct mg_diags *d)
{
	memset(a, 0, sizeof(*a));
	a->skip_service = "systemd-user";
	for (size_t i = 0; i < e->argc; i++) {
		const char *arg = e->argv[i];
		size_t j, nl;

		for (j = 0; j < sizeof(module_args) / sizeof(module_args[0]); j++) {
			nl = strlen(module_args[j].name);
			if (strncmp(arg, module_args[j].name, nl) != 0)
				continue;
			if (module_args[j].kind == ARG_FLAG ? arg[nl] == '\0' : arg[nl] == '=')
				break;
		}
		if (j == sizeof(module_args) / sizeof(module_args[0])) {
			mg_diag_add(d, MG_WARNING, MG_DIAG_CONTENT, f->path, e->line, e->argcol[i],
				    "pam_memguard: unknown argument '%s', the module ignores it", arg);
			continue;
		}
		if (module_args[j].kind == ARG_FLAG) {
			*(bool *)((char *)a + module_args[j].field) = true;
			continue;
		}
		if (module_args[j].allowed && !word_in(module_args[j].allowed, arg + nl + 1)) {
			mg_diag_add(d, MG_WARNING, MG_DIAG_CONTENT, f->path, e->line, e->argcol[i],
				    "pam_memguard: %s: expected one of: %s; the module uses its default", arg,
				    module_args[j].allowed);
			continue;
		}
		*(const char **)((char *)a + module_args[j].field) = arg + nl + 1;
		if (module_args[j].col != (size_t)-1)
			*(unsigned *)((char *)a + module_args[j].col) = e->argcol[i];
	}
}

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

bool mg_modargs_service_wanted(const struct mg_modargs *a, const char *service)
{
	if (a->service && !in_list(a->service, service))
		return false;
	return !in_list(a->skip_service, service);
}

void mg_pamconf_layout(const struct mg_pam_service *s, struct mg_pam_layout *l)
{
	l->mine = l->post = l->systemd = SIZE_MAX;
	for (size_t j = 0; j < s->n; j++) {
		const struct mg_pam_entry *e = s->steps[j].e;

		if (e->kind != MG_PAM_MODULE)
			continue;
		if (mg_pam_entry_loads(e, MG_PAM_MODULE_NAME)) {
			struct mg_modargs a;
			struct mg_diags none = { 0 };

			/* The arguments' problems are reported where they are read. */
			mg_modargs_parse(s->steps[j].file, e, &a, &none);
			mg_diags_free(&none);
			if (!mg_modargs_service_wanted(&a, s->file->name))
				continue;
			if (a.phase && strcmp(a.phase, "post") == 0)
				l->post = j;
			else if (l->mine == SIZE_MAX)
				l->mine = j;
		} else if (mg_pam_entry_loads(e, "pam_systemd.so") && l->systemd == SIZE_MAX) {
			l->systemd = j;
		}
	}
}
