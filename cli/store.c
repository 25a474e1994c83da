#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy_trust.h"
#include "readfile.h"

int store_lock(const char *policy_path, int timeout_ms, int *fd)
{
	char *path = NULL;
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	int lfd, waited = 0;

	if (asprintf(&path, "%s.lock", policy_path) < 0)
		return -ENOMEM;
	lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(path);
	if (lfd < 0)
		return -errno;
	while (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = -errno;
			close(lfd);
			return e;
		}
		if (waited >= timeout_ms) {
			close(lfd);
			return -EWOULDBLOCK;
		}
		nanosleep(&pause, NULL);
		waited += 10;
	}
	*fd = lfd;
	return 0;
}

void store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing drops the flock */
}

static int split_path(const char *path, char **dir, char **name)
{
	char *dcopy = strdup(path), *bcopy = strdup(path);
	int r = -ENOMEM;

	if (dcopy && bcopy) {
		*dir = strdup(dirname(dcopy));
		*name = strdup(basename(bcopy));
		r = *dir && *name ? 0 : -ENOMEM;
	}
	free(dcopy);
	free(bcopy);
	return r;
}

/* The file as the module would read it: regular, root's, not writable by others. */
static void check_file(const struct store_file *f, struct mg_diags *d)
{
	struct stat st;

	if (fstat(f->fd, &st) < 0)
		mg_diag_add(d, MG_ERROR, MG_DIAG_ACCESS, f->path, 0, 0, "cannot stat: %s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		mg_diag_add(d, MG_ERROR, MG_DIAG_ACCESS, f->path, 0, 0, "not a regular file");
	else
		mg_trust_stat(&st, f->path, "the file", d);
}

static bool check_dir(const struct store_file *f, struct mg_diags *d)
{
	struct stat st;

	if (fstat(f->dirfd, &st) < 0) {
		mg_diag_add(d, MG_ERROR, MG_DIAG_ACCESS, f->dir, 0, 0, "cannot stat: %s", strerror(errno));
		return false;
	}
	return mg_trust_stat(&st, f->dir, "the drop-in directory", d);
}

int store_open(const char *path, bool dropin, struct store_file *f, struct mg_diags *d)
{
	size_t errors = d->errors;
	char *real = NULL;
	struct stat st;
	int fd, r;

	memset(f, 0, sizeof(*f));
	f->dirfd = f->fd = -1;
	f->dropin = dropin;
	if (!(f->path = strdup(path)))
		return -ENOMEM;
	/* The main file may be a link, as documented; a drop-in may not. */
	if (!dropin && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		real = realpath(path, NULL);
		if (!real)
			return errno == ENOENT ? -ENOLINK : -errno;
	}
	r = split_path(real ? real : path, &f->dir, &f->name);
	free(real);
	if (r < 0)
		return r;
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0) /* a missing directory is made at the first write */
		return errno == ENOENT ? 0 : -errno;
	if (dropin) {
		check_dir(f, d);
		fd = mg_dropin_open(f->dirfd, f->name, path, d);
	} else {
		fd = openat(f->dirfd, f->name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
		if (fd < 0)
			fd = -errno;
	}
	if (fd >= 0) {
		f->fd = fd;
		check_file(f, d);
	} else if (fd != -ENOENT && fd != -ELOOP) {
		return fd;
	}
	return d->errors > errors ? -EPERM : 0;
}

void store_close(struct store_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->dirfd >= 0)
		close(f->dirfd);
	free(f->path);
	free(f->dir);
	free(f->name);
	memset(f, 0, sizeof(*f));
	f->fd = f->dirfd = -1;
}

/* A policy file in one buffer of its size: no regrowth (and its page
 * faults) on a file of a hundred thousand rules. */
static int read_policy_fd(int fd, char **text, size_t *len)
{
	struct stat st;
	size_t size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size : 0;

	return mg_read_fd_sized(fd, MG_POLICY_FILE_MAX, size, text, len);
}

int store_read_current(const struct store_file *f, char **text, size_t *len)
{
	if (f->fd < 0) {
		*len = 0;
		*text = strdup("");
		return *text ? 0 : -ENOMEM;
	}
	return read_policy_fd(f->fd, text, len);
}

int store_make_dir(struct store_file *f, struct mg_diags *d)
{
	bool made;

	if (f->dirfd >= 0)
		return 0;
	made = mkdir(f->dir, 0755) == 0;
	if (!made && errno != EEXIST)
		return -errno;
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (f->dirfd < 0)
		return -errno;
	/* mkdir's mode passes through the umask; 077 would hide the
	 * drop-ins from every reader but root. */
	if (made && fchmod(f->dirfd, 0755) < 0)
		return -errno;
	return !f->dropin || check_dir(f, d) ? 0 : -EPERM;
}

int store_temp(const struct store_file *f, const char *tag, char **name, int *fd)
{
	for (int tries = 0; tries < 100; tries++) {
		unsigned rnd;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (unsigned)getpid() * 2654435761u + (unsigned)tries * 40503u + (unsigned)time(NULL);
		if (asprintf(name, ".%s.%s%s%06x.tmp", f->name, tag ? tag : "", tag ? "." : "", rnd & 0xffffff) < 0) {
			*name = NULL;
			return -ENOMEM;
		}
		*fd = openat(f->dirfd, *name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (*fd >= 0)
			return 0;
		free(*name);
		*name = NULL;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int store_read_at(const struct store_file *f, const char *name, char **text, size_t *len)
{
	int fd = openat(f->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW), r;

	if (fd < 0)
		return -errno;
	r = read_policy_fd(fd, text, len);
	close(fd);
	return r;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int store_replace(struct store_file *f, const char *text, size_t len, char **kept, struct mg_diags *d)
{
	struct stat st = { .st_uid = 0, .st_gid = 0, .st_mode = 0644 };
	char *tmp = NULL;
	int fd = -1, r;

	*kept = NULL;
	if ((r = store_make_dir(f, d)) < 0)
		return r;
	if (f->fd >= 0 && fstat(f->fd, &st) < 0)
		return -errno;
	if ((r = store_temp(f, NULL, &tmp, &fd)) < 0)
		return r;
	if ((r = write_all(fd, text, len)) < 0)
		goto fail;
	/* Owner first: fchown clears set-id bits, fchmod restores the mode. */
	if (fchown(fd, st.st_uid, st.st_gid) < 0 && geteuid() == 0) {
		r = -errno;
		goto fail;
	}
	if (fchmod(fd, st.st_mode & 07777) < 0 || fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	r = close(fd);
	fd = -1;
	if (r < 0) {
		r = -errno;
		goto fail;
	}
	if (renameat(f->dirfd, tmp, f->dirfd, f->name) < 0) {
		r = -errno;
		if (asprintf(kept, "%s/%s", f->dir, tmp) < 0)
			*kept = NULL;
		free(tmp);
		return r;
	}
	/* The new file is in place; a directory that cannot be synced only
	 * weakens durability across a crash. */
	(void)fsync(f->dirfd);
	free(tmp);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(f->dirfd, tmp, 0);
	free(tmp);
	return r;
}
