#include "policy_trust.h"

#include <errno.h>
#include <fcntl.h>

bool mg_trust_stat(const struct stat *st, const char *path, const char *what, struct mg_diags *d)
{
	bool ok = true;

	if (st->st_uid != 0) {
		mg_diag_add(d, MG_ERROR, MG_DIAG_TRUST, path, 0, 0,
			    "%s is owned by uid %u, not root: pam_memguard will not trust it", what,
			    (unsigned)st->st_uid);
		ok = false;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		mg_diag_add(d, MG_ERROR, MG_DIAG_TRUST, path, 0, 0,
			    "%s is group- or world-writable (mode %04o): pam_memguard will not trust it", what,
			    (unsigned)(st->st_mode & 07777));
		ok = false;
	}
	return ok;
}

int mg_dropin_open(int dfd, const char *name, const char *path, struct mg_diags *d)
{
	/* O_NONBLOCK: a FIFO planted as a drop-in must not hang a login. */
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);

	if (fd >= 0)
		return fd;
	if (errno == ELOOP) {
		mg_diag_add(d, MG_ERROR, MG_DIAG_TRUST, path, 0, 0,
			    "the drop-in is a symbolic link: pam_memguard will not follow it");
		return -ELOOP;
	}
	return -errno;
}
