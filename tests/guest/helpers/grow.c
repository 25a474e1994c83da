/* grow MAX_MB EVENTS_FILE [STEP_KB]: a slow grower. Allocates and touches
 * STEP_KB (default 256) at a time and, after each step, reads the "high"
 * counter of a cgroup's memory.events; it stops as soon as the counter
 * rises, so it ends only a little above memory.high (without swap, the
 * kernel throttles an overshoot of anonymous memory for a long time).
 * Exit 0 when the counter rose, 4 when MAX_MB was reached without it,
 * 3 when malloc failed, 2 on bad usage or an unreadable EVENTS_FILE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long high_events(const char *path)
{
	char line[128];
	long long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "high %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: grow MAX_MB EVENTS_FILE [STEP_KB]\n");
		return 2;
	}
	long max_kb = strtol(argv[1], NULL, 10) * 1024;
	long step_kb = argc > 3 ? strtol(argv[3], NULL, 10) : 256;
	long long start = high_events(argv[2]), cur = start;
	double t0 = now(), slowest = 0;
	long kb = 0;

	if (start < 0 || step_kb <= 0) {
		fprintf(stderr, "grow: cannot read 'high' from %s\n", argv[2]);
		return 2;
	}
	while (kb < max_kb) {
		double ts = now();
		char *p = malloc((size_t)step_kb * 1024);
		if (!p) {
			printf("grow: malloc failed after %ld KiB\n", kb);
			return 3;
		}
		memset(p, 0x5a, (size_t)step_kb * 1024);
		kb += step_kb;
		cur = high_events(argv[2]);
		if (now() - ts > slowest)
			slowest = now() - ts;
		if (cur > start)
			break;
	}
	printf("grow: %ld KiB in %.2f s, slowest step %.3f s, high events %lld -> %lld\n", kb, now() - t0,
	       slowest, start, cur);
	return cur > start ? 0 : 4;
}
