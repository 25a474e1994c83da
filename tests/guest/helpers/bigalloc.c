/* bigalloc KIB: one malloc() of KIB kibibytes, without touching it.
 * Exit 0 when malloc succeeded, 3 when it returned NULL (errno ENOMEM),
 * 4 when it returned NULL with another errno, 2 on bad usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bigalloc KIB\n");
		return 2;
	}
	unsigned long long kib = strtoull(argv[1], NULL, 10);
	size_t bytes = (size_t)kib * 1024;

	errno = 0;
	void *p = malloc(bytes);
	if (!p) {
		int e = errno;
		printf("bigalloc: malloc(%llu KiB) = NULL (%s)\n", kib, strerror(e));
		return e == ENOMEM ? 3 : 4;
	}
	printf("bigalloc: malloc(%llu KiB) succeeded\n", kib);
	return 0;
}
