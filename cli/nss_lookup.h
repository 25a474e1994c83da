/* Looking up many user and group names through NSS at once. */
#ifndef MEMGUARD_CLI_NSS_LOOKUP_H
#define MEMGUARD_CLI_NSS_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>

struct nss_query {
	const char *name;
	bool group; /* getgrnam_r, else getpwnam_r */
	bool found; /* the answer: NSS knows the name */
};

/* Answers every query: on a few threads at once, as each lookup may be a
 * round trip to a directory server (LDAP, SSSD) or a walk of userdb
 * directories, and they do not depend on each other. A lookup that fails
 * (out of memory, the server down) counts as not found. */
void nss_lookup_all(struct nss_query *q, size_t n);

#endif
