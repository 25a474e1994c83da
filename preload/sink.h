/* Where report lines go: stderr, a file (opened on first use, again in a
 * forked child when the name has %p), or /dev/log over our own socket
 * (syslog(3) allocates and takes locks). */
#ifndef MEMGUARD_PRELOAD_SINK_H
#define MEMGUARD_PRELOAD_SINK_H

#include <stddef.h>

enum mg_pl_level { MG_PL_LEVEL_ERR = 3, MG_PL_LEVEL_WARNING = 4 };

/* line ends with '\n'. Errors are swallowed: the host program goes on. */
void mg_pl_sink_write(enum mg_pl_level level, const char *line, size_t len);
/* Called in a forked child: a %p file must be opened anew. */
void mg_pl_sink_child(void);

#endif
