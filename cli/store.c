#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

int store_target(const char *path, char **target)
{
	char *real = realpath(path, NULL);
	struct stat st;

	if (real) {
		*target = real;
		return 0;
	}
	if (errno != ENOENT)
		return -errno;
	/* A symlink whose target is missing would be replaced by a regular
	 * file, silently cutting the link: refuse it. */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return -ENOLINK;
	*target = strdup(path);
	return *target ? 0 : -ENOMEM;
}

int store_read(const char *path, char **text, size_t *len)
{
	return mg_read_file(path, MG_POLICY_FILE_MAX, text, len);
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

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	close(fd);
	return r;
}

int store_replace(const char *target, const char *text, size_t len, char **kept)
{
	char *dcopy = strdup(target), *bcopy = strdup(target), *tmp = NULL;
	const char *dir, *base;
	struct stat st;
	int fd = -1, r;
	bool exists;

	*kept = NULL;
	if (!dcopy || !bcopy) {
		r = -ENOMEM;
		goto out;
	}
	dir = dirname(dcopy);
	base = basename(bcopy);
	exists = stat(target, &st) == 0;
	if (!exists) {
		st.st_uid = 0;
		st.st_gid = 0;
		st.st_mode = 0644;
	}
	/* A leading dot and a ".tmp" end: the module never reads it. */
	if (asprintf(&tmp, "%s/.%s.XXXXXX.tmp", dir, base) < 0) {
		tmp = NULL;
		r = -ENOMEM;
		goto out;
	}
	fd = mkostemps(tmp, 4, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		tmp = NULL;
		goto out;
	}
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
	if (rename(tmp, target) < 0) {
		r = -errno;
		*kept = tmp;
		tmp = NULL;
		goto out;
	}
	/* The new file is in place; a directory that cannot be synced only
	 * weakens durability across a crash. */
	(void)fsync_dir(dir);
	r = 0;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(dcopy);
	free(bcopy);
	return r;
}
