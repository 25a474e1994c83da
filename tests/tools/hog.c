/* hog MB [hold]: allocate MB mebibytes in 1 MiB chunks and touch every page.
 * Exit 0 when everything was allocated and touched, 3 when malloc failed.
 * Inside a memory-capped cgroup without swap it is expected to be OOM-killed.
 * With "hold" it keeps the memory after "hog: holding" until a signal ends
 * it: another session's share of a user's total. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long mb = argc > 1 ? strtol(argv[1], NULL, 10) : 200;
	const size_t chunk = 1 << 20;

	for (long i = 0; i < mb; i++) {
		char *p = malloc(chunk);
		if (!p) {
			printf("hog: malloc failed after %ld MiB\n", i);
			return 3;
		}
		memset(p, (int)(i & 0xff) | 1, chunk);
		if ((i + 1) % 32 == 0) {
			printf("hog: %ld MiB touched\n", i + 1);
			fflush(stdout);
		}
	}
	printf("hog: all %ld MiB touched\n", mb);
	if (argc > 2 && strcmp(argv[2], "hold") == 0) {
		printf("hog: holding\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	return 0;
}
