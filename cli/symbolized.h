/* memguardctl trace and symbolize: the shim's log lines, read back and
 * printed with every frame named. Text and JSON are two renderers over the
 * one parsed line and its looked-up frames. */
#ifndef MEMGUARD_CLI_SYMBOLIZED_H
#define MEMGUARD_CLI_SYMBOLIZED_H

#include <stdbool.h>
#include <stdio.h>

struct symbolized {
	struct mg_symbolizer *sym;
	bool json;
	FILE *out;
	/* Modules already warned about (rebuilt, missing), one line each. */
	char **warned;
	size_t nwarned;
	unsigned long reports, lines;
};

int symbolized_init(struct symbolized *s, FILE *out, bool json);
void symbolized_free(struct symbolized *s);

/* Every line of in: a shim report is printed symbolised; any other line
 * is passed on as it is (text) or left out (JSON). Returns 0, -ENOMEM or
 * -EIO (after printing why). name is for messages. */
int symbolized_stream(struct symbolized *s, FILE *in, const char *name);

#endif
