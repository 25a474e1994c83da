/* Which policy files pam_memguard trusts, decided in one place for the
 * module and for memguardctl (which refuses to write where the module
 * would not read): root-owned and not group- or world-writable, the test
 * doas applies to its config; and in the drop-in directory never a
 * symbolic link, so a link can make neither the module nor an admin's
 * terminal read a file that was never meant as policy. */
#ifndef MEMGUARD_POLICY_TRUST_H
#define MEMGUARD_POLICY_TRUST_H

#include <stdbool.h>
#include <sys/stat.h>

#include "diag.h"

/* One trust error per problem of st, naming path; what is "the file" or
 * "the drop-in directory". True when st passes. */
bool mg_trust_stat(const struct stat *st, const char *path, const char *what, struct mg_diags *d);

/* Opens drop-in name of the directory dfd for reading, never through a
 * link: a link is a trust error naming path (and nothing it points at),
 * and -ELOOP. Other failures return -errno with no diagnostic. */
int mg_dropin_open(int dfd, const char *name, const char *path, struct mg_diags *d);

#endif
