#include "shim_path.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int mg_shim_trusted(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return -EPERM;
	return 0;
}

static bool is_sep(char c)
{
	return c == ' ' || c == ':' || c == '\t';
}

char *mg_shim_preload_value(const char *old, const char *shim)
{
	size_t n = strlen(shim);
	char *v;

	if (!old || !*old)
		return strdup(shim);
	/* ld.so splits LD_PRELOAD at spaces and colons. */
	for (const char *hit = strstr(old, shim); hit; hit = strstr(hit + 1, shim))
		if ((hit == old || is_sep(hit[-1])) && (hit[n] == '\0' || is_sep(hit[n])))
			return strdup(old);
	if (asprintf(&v, "%s %s", shim, old) < 0)
		return NULL;
	return v;
}
