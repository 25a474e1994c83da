/* Memory for the few allocations made while the real malloc is still being
 * looked up (dlsym may call calloc or malloc, which land back here). It is
 * never reused: free() of a bootstrap pointer does nothing, realloc() moves
 * the data to real memory, malloc_usable_size() reads the header. */
#include "preload.h"

#include <string.h>

#define BOOT_HDR 16

_Alignas(4096) unsigned char mg_pl_boot_mem[MG_PL_BOOT_SIZE];
static atomic_size_t boot_used;

void *mg_pl_boot_alloc(size_t size, size_t align)
{
	size_t old, start, end;

	if (align < BOOT_HDR)
		align = BOOT_HDR;
	if (align > 4096 || (align & (align - 1)) || size > MG_PL_BOOT_SIZE)
		return NULL;
	old = atomic_load_explicit(&boot_used, memory_order_relaxed);
	do {
		start = (old + BOOT_HDR + align - 1) & ~(align - 1);
		end = start + size;
		if (end > MG_PL_BOOT_SIZE)
			return NULL;
	} while (!atomic_compare_exchange_weak(&boot_used, &old, end));
	/* The size sits just before the block, for realloc and usable_size. */
	memcpy(mg_pl_boot_mem + start - sizeof(size_t), &size, sizeof(size_t));
	/* Fresh static memory is zero already, which calloc relies on. */
	return mg_pl_boot_mem + start;
}

size_t mg_pl_boot_size(const void *p)
{
	size_t n;

	memcpy(&n, (const unsigned char *)p - sizeof(size_t), sizeof(size_t));
	return n;
}
