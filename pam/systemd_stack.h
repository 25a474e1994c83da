/* What the systemd backend needs to know of the session stack a login
 * runs: whether pam_systemd is in it (else the session gets a scope of
 * ours, systemd_scope.c), and whether a phase=post line of ours follows
 * it (then the first line's bus connection is kept for that line). */
#ifndef MEMGUARD_PAM_SYSTEMD_STACK_H
#define MEMGUARD_PAM_SYSTEMD_STACK_H

#include <stdbool.h>

struct mg_sd_stack {
	bool loads_pam_systemd;
	bool post_line_after; /* a pam_memguard.so phase=post line after pam_systemd */
	/* The first pam_memguard.so line (not phase=post) comes after
	 * pam_systemd: a pam_systemd that failed leaves it no other sign. */
	bool first_line_after;
};

/* The session stack of service as pam_dir (NULL: /etc/pam.d) holds it,
 * includes followed. -errno when it cannot be told (-ENOENT: no file of
 * that name, PAM would run "other"). */
int mg_sd_stack_read(const char *pam_dir, const char *service, struct mg_sd_stack *st);

#endif
