/* The files of a drop-in directory that the module never reads: an admin
 * who drops 50-lab.CONF or lets dpkg leave 50-lab.conf.dpkg-dist beside
 * the real one should hear that it changes nothing. */
#include "policy.h"

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool ends_with(const char *s, const char *end, bool icase)
{
	size_t n = strlen(s), m = strlen(end);

	return n >= m && (icase ? strcasecmp(s + n - m, end) : strcmp(s + n - m, end)) == 0;
}

static const char *why_ignored(const char *name)
{
	if (ends_with(name, ".dpkg-dist", false) || ends_with(name, ".dpkg-old", false) ||
	    ends_with(name, ".dpkg-new", false) || ends_with(name, ".ucf-dist", false) ||
	    ends_with(name, ".rpmnew", false) || ends_with(name, ".rpmsave", false))
		return "a package manager's copy; merge what it says into the .conf file, then remove it";
	if (ends_with(name, "~", false))
		return "an editor's backup";
	if (ends_with(name, ".conf", true))
		return "names are case-sensitive: only names ending in .conf are read";
	return "only names ending in .conf are read";
}

int mg_policy_ignored_dropins(const char *policy_path, struct mg_diags *notes)
{
	char *dir = mg_policy_dropin_dir(policy_path);
	struct dirent *de;
	DIR *dh;
	int r = 0;

	if (!dir)
		return -ENOMEM;
	dh = opendir(dir);
	if (!dh) {
		r = errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
		free(dir);
		return r;
	}
	while ((de = readdir(dh))) {
		/* Dot files (memguardctl's own copies among them) are hidden on purpose. */
		if (de->d_name[0] == '.' || de->d_type == DT_DIR || ends_with(de->d_name, ".conf", false))
			continue;
		char *path = NULL;

		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		mg_diag_add(notes, MG_NOTE, MG_DIAG_CONTENT, path, 0, 0, "not read: %s", why_ignored(de->d_name));
		free(path);
	}
	closedir(dh);
	free(dir);
	return r;
}
