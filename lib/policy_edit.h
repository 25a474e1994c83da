/* Changing one rule of a policy file's text while keeping every other
 * byte: comments, blank lines, alignment and order. The result is parsed
 * and validated by the caller before anything is written. */
#ifndef MEMGUARD_POLICY_EDIT_H
#define MEMGUARD_POLICY_EDIT_H

#include <stddef.h>

/* Sets each "KEY=VALUE" (or a bare "exempt") on the last rule for who in
 * the text, replacing a setting of the same key in place or adding it
 * after the rule's last setting; with no rule for who, appends one at the
 * end. *line is the rule's line in the result. Returns 0 or -ENOMEM. */
int mg_edit_set(const char *text, size_t len, const char *who, const char *const *assign, size_t nassign,
		char **out, size_t *outlen, unsigned *line);

/* With keys: removes those settings from every rule for who; a rule left
 * with no settings goes (a trailing comment stays on its own line). With
 * no keys: removes every rule for who. *changed counts removed settings
 * or rules. */
int mg_edit_unset(const char *text, size_t len, const char *who, const char *const *keys, size_t nkeys,
		  char **out, size_t *outlen, unsigned *changed);

/* The key part of "KEY=VALUE" (all of it for a bare key). */
size_t mg_assign_key_len(const char *assign);

#endif
