/* Where report lines go: stderr, a file (opened on first use, again in a
 * forked child when the name has %p), or /dev/log over our own socket
 * (syslog(3) allocates and takes locks). A descriptor of ours is checked
 * (st_dev, st_ino) before each line: the program may have closed it and
 * opened a file of its own at the same number. */
#ifndef MEMGUARD_PRELOAD_SINK_H
#define MEMGUARD_PRELOAD_SINK_H

#include <stddef.h>
#include <stdint.h>

enum mg_pl_level { MG_PL_LEVEL_ERR = 3, MG_PL_LEVEL_WARNING = 4 };

/* line ends with '\n'. Errors are swallowed: the host program goes on, and
 * the line is counted in mg_pl_sink_lost(). */
void mg_pl_sink_write(enum mg_pl_level level, const char *line, size_t len);
/* Lines that could be written nowhere (for the exit summary). */
uint64_t mg_pl_sink_lost(void);
/* Called in a forked child: a %p file must be opened anew. */
void mg_pl_sink_child(void);

#endif
