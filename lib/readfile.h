/* Reading small system files whole: policies, /proc, login.defs. */
#ifndef MEMGUARD_READFILE_H
#define MEMGUARD_READFILE_H

#include <stddef.h>
#include <stdint.h>

#define MG_POLICY_FILE_MAX (64u << 20)

/* Reads fd to its end into a NUL-terminated buffer the caller frees.
 * -EFBIG beyond max bytes. */
int mg_read_fd(int fd, size_t max, char **buf, size_t *len);
/* The same, with the size fstat gave (0: not known); a file that grew
 * since is still read to its end. */
int mg_read_fd_sized(int fd, size_t max, size_t size, char **buf, size_t *len);
int mg_read_file(const char *path, size_t max, char **buf, size_t *len);

/* A small file (path relative to dfd, or absolute) NUL-terminated into
 * buf, at most len - 1 bytes of it; opened O_NOFOLLOW. -errno. */
int mg_read_text_at(int dfd, const char *path, char *buf, size_t len);

/* A "Field:   123 kB" line of /proc/meminfo, in bytes. */
int mg_meminfo_get(const char *meminfo_path, const char *field, uint64_t *bytes);

#endif
