/* Splitting one policy line into tokens. The parser and the editor share
 * it, so an edit sees exactly the tokens that the module reads. */
#ifndef MEMGUARD_POLICY_LINE_H
#define MEMGUARD_POLICY_LINE_H

#include <stdbool.h>
#include <stddef.h>

struct mg_token {
	size_t off, len; /* within the line */
};

#define MG_LINE_MAX_TOKENS 64

/* A UTF-8 byte order mark: the parser and the editor skip it at the start
 * of a file, and columns on line 1 count from after it. */
#define MG_UTF8_BOM "\xef\xbb\xbf"

/* Tokens are separated by blanks; a token starting with '#' starts a
 * comment that runs to the end of the line. Stores at most max tokens and
 * returns how many there are in all. */
size_t mg_line_tokens(const char *line, size_t len, struct mg_token *toks, size_t max);

/* The first token of a line, without walking the rest of it: false for a
 * blank or comment line. *marked (when not NULL): whether the token holds
 * a ':' or '=', as a uid range or a misplaced setting does. */
bool mg_line_first_token(const char *line, size_t len, struct mg_token *tok, bool *marked);

/* The next line of buf from *pos: its start and length without the '\n'.
 * false at the end. */
bool mg_next_line(const char *buf, size_t buflen, size_t *pos, const char **line, size_t *len);

#endif
