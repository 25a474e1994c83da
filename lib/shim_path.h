/* Where the allocation shim is installed, and whether that file may be
 * loaded into other people's programs. memguardctl trace, the PAM module's
 * trace= and memguardctl check share this one answer. */
#ifndef MEMGUARD_SHIM_PATH_H
#define MEMGUARD_SHIM_PATH_H

/* From the install's LIBDIR (make LIBDIR=...), never from the environment. */
#ifndef MG_PRELOAD_PATH
#define MG_PRELOAD_PATH "/usr/local/lib/libmemguard-preload.so"
#endif

/* 0 when path is a regular file owned by root and writable by nobody
 * else; -ENOENT (or another -errno of stat) when it cannot be seen;
 * -EPERM when it is there but not to be trusted. */
int mg_shim_trusted(const char *path);

/* LD_PRELOAD with the shim added to old (NULL or "" for none), in front:
 * a preloaded allocator after it is then wrapped too. Never twice: with
 * the shim already listed, a copy of old. Returns a malloc'd string or
 * NULL when out of memory. */
char *mg_shim_preload_value(const char *old, const char *shim);

#endif
