#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hugepages.h"

int mg_read_fd(int fd, size_t max, char **buf, size_t *len)
{
	return mg_read_fd_sized(fd, max, 0, buf, len);
}

int mg_read_fd_sized(int fd, size_t max, size_t size, char **buf, size_t *len)
{
	/* Room for the whole file, its NUL and the read that sees its end:
	 * no copy as the buffer grows, and one read less. */
	size_t cap = size && size < max ? size + 2 : 4096, n = 0;
	char *b = malloc(cap);

	if (!b)
		return -ENOMEM;
	mg_prefer_huge_pages(b, cap);
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *nb;
			if (cap > max) {
				free(b);
				return -EFBIG;
			}
			nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			free(b);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(b);
		return -EFBIG;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int mg_read_file(const char *path, size_t max, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r;

	if (fd < 0)
		return -errno;
	r = mg_read_fd(fd, max, buf, len);
	close(fd);
	return r;
}

int mg_meminfo_get(const char *meminfo_path, const char *field, uint64_t *bytes)
{
	size_t flen = strlen(field), len;
	char *buf, *p;
	int r = mg_read_file(meminfo_path, 1 << 20, &buf, &len);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, field, flen) == 0 && p[flen] == ':') {
			char *end;
			unsigned long long v = strtoull(p + flen + 1, &end, 10);
			while (*end == ' ')
				end++;
			*bytes = strncmp(end, "kB", 2) == 0 ? v * 1024 : v;
			r = 0;
			break;
		}
	}
	free(buf);
	return r;
}

int mg_read_text_at(int dfd, const char *path, char *buf, size_t len)
{
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return 0;
}
