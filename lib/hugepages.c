#include "hugepages.h"

#include <stdint.h>
#include <sys/mman.h>

#define HUGE_PAGE_SIZE ((uintptr_t)2 << 20)

void mg_prefer_huge_pages(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
	uintptr_t start = ((uintptr_t)p + HUGE_PAGE_SIZE - 1) & ~(HUGE_PAGE_SIZE - 1);
	uintptr_t end = ((uintptr_t)p + len) & ~(HUGE_PAGE_SIZE - 1);

	if (end > start)
		(void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
	(void)p;
	(void)len;
#endif
}
