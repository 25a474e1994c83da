/* Large buffers that are filled once, such as a 100k-rule policy. */
#ifndef MEMGUARD_HUGEPAGES_H
#define MEMGUARD_HUGEPAGES_H

#include <stddef.h>

/* Asks for transparent huge pages on the whole 2 MiB pages inside
 * [p, p + len), before they are first touched: in a virtual machine a
 * fault per 4 KiB page costs more than filling the page. Only advice:
 * nothing changes where the kernel says no. */
void mg_prefer_huge_pages(void *p, size_t len);

#endif
