#include "policy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy_trust.h"
#include "readfile.h"

static int load_fd(struct mg_policy *p, int fd, const char *path, struct mg_diags *d)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (fstat(fd, &st) < 0) {
		r = -errno;
		mg_diag_add(d, MG_ERROR, MG_DIAG_ACCESS, path, 0, 0, "cannot stat: %s", strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		mg_diag_add(d, MG_ERROR, MG_DIAG_ACCESS, path, 0, 0, "not a regular file");
		return -EINVAL;
	}
	mg_trust_stat(&st, path, "the file", d);
	r = mg_read_fd_sized(fd, MG_POLICY_FILE_MAX, (size_t)st.st_size, &buf, &len);
	if (r == -EFBIG) {
		mg_diag_add(d, MG_ERROR, MG_DIAG_ACCESS, path, 0, 0, "larger than %u MiB", MG_POLICY_FILE_MAX >> 20);
		return r;
	}
	if (r < 0) {
		mg_diag_add(d, MG_ERROR, MG_DIAG_ACCESS, path, 0, 0, "cannot read: %s", strerror(-r));
		return r;
	}
	r = mg_policy_parse_buffer(p, path, buf, len, d);
	free(buf);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dropin_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".conf") == 0;
}

static int parse_override(struct mg_policy *p, const struct mg_load_override *ov, struct mg_diags *d)
{
	return mg_policy_parse_buffer(p, ov->path, ov->text, ov->len, d);
}

static bool is_override(const struct mg_load_override *ov, const char *path)
{
	return ov && strcmp(ov->path, path) == 0;
}

/* The name of ov's file when it is a drop-in of dir (it may not exist yet). */
static const char *override_dropin_name(const struct mg_load_override *ov, const char *dir)
{
	size_t dlen = strlen(dir);

	if (!ov || strncmp(ov->path, dir, dlen) != 0 || ov->path[dlen] != '/' || strchr(ov->path + dlen + 1, '/'))
		return NULL;
	return is_dropin_name(ov->path + dlen + 1) ? ov->path + dlen + 1 : NULL;
}

static int add_name(char ***names, size_t *n, size_t *cap, const char *name)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		char **v = realloc(*names, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		*names = v;
		*cap = ncap;
	}
	if (!((*names)[*n] = strdup(name)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int load_dropins(struct mg_policy *p, const char *dir, const struct mg_load_override *ov,
			struct mg_diags *d)
{
	const char *ov_name = override_dropin_name(ov, dir);
	bool ov_listed = false;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *dh;
	int dfd, r = 0;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOENT)
			return ov_name ? parse_override(p, ov, d) : 0;
		r = -errno;
		mg_diag_add(d, MG_ERROR, MG_DIAG_ACCESS, dir, 0, 0, "cannot open directory: %s", strerror(-r));
		return r;
	}
	if (fstat(dfd, &st) == 0)
		mg_trust_stat(&st, dir, "the drop-in directory", d);
	dh = fdopendir(dfd);
	if (!dh) {
		r = -errno;
		close(dfd);
		return r;
	}
	while ((de = readdir(dh))) {
		if (!is_dropin_name(de->d_name))
			continue;
		if (ov_name && strcmp(ov_name, de->d_name) == 0)
			ov_listed = true;
		if ((r = add_name(&names, &n, &cap, de->d_name)) < 0)
			goto out;
	}
	if (ov_name && !ov_listed && (r = add_name(&names, &n, &cap, ov_name)) < 0)
		goto out;
	if (n > 1) /* names is NULL when the directory holds no drop-in */
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && r != -ENOMEM; i++) {
		char *path = NULL;
		int fd;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		if (is_override(ov, path)) {
			if (parse_override(p, ov, d) < 0)
				r = -ENOMEM;
			free(path);
			continue;
		}
		fd = mg_dropin_open(dirfd(dh), names[i], path, d);
		if (fd < 0 && fd != -ELOOP)
			mg_diag_add(d, MG_ERROR, MG_DIAG_ACCESS, path, 0, 0, "cannot open: %s", strerror(-fd));
		else if (fd >= 0) {
			int e = load_fd(p, fd, path, d);
			if (e == -ENOMEM)
				r = e;
			close(fd);
		}
		free(path);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dh);
	return r;
}

int mg_policy_load(struct mg_policy *p, const char *path, unsigned flags, struct mg_diags *d)
{
	return mg_policy_load_with(p, path, flags, NULL, d);
}

int mg_policy_load_with(struct mg_policy *p, const char *path, unsigned flags, const struct mg_load_override *ov,
			struct mg_diags *d)
{
	int r = 0;

	if (is_override(ov, path)) {
		r = parse_override(p, ov, d);
	} else {
		/* O_NONBLOCK: a FIFO planted as the policy must not hang a login. */
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

		if (fd < 0) {
			r = -errno;
			if (r != -ENOENT || !(flags & MG_LOAD_MISSING_OK)) {
				mg_diag_add(d, MG_ERROR, MG_DIAG_ACCESS, path, 0, 0, "cannot open: %s", strerror(-r));
				return r;
			}
			r = 0;
		} else {
			r = load_fd(p, fd, path, d);
			close(fd);
		}
	}
	if (r < 0)
		return r;
	if (!(flags & MG_LOAD_NO_DROPINS)) {
		char *dir = mg_policy_dropin_dir(path);
		int e;

		if (!dir)
			return -ENOMEM;
		e = load_dropins(p, dir, ov, d);
		free(dir);
		if (e == -ENOMEM)
			return e;
	}
	return 0;
}
