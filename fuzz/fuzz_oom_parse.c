/* libFuzzer target: the OOM report parser on arbitrary log text, fed line
 * by line as memguardctl oom-report feeds it, and as /dev/kmsg records.
 *
 * Besides "no crash, no leak, no UB" it checks what oom_parse.h promises:
 *   - events come in the order they started, each once, with line
 *     numbers inside the input;
 *   - nothing is made up: a victim pid, a table row or a memcg path comes
 *     with text of the input that holds it;
 *   - a kernel event that lacks a part says so in missing;
 *   - feeding the same input again gives the same events.
 * A broken promise abort()s, so libFuzzer keeps the input.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logline.h"
#include "logtime.h"
#include "oom_parse.h"

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_oom_parse: invariant broken: %s\n  ", #cond); \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
			abort();                                                           \
		}                                                                          \
	} while (0)

struct seen {
	const uint8_t *data;
	size_t size;
	unsigned long lines;
	unsigned long last_first;
	size_t n;
	uint64_t digest;
};

static bool in_input(const struct seen *s, const char *text)
{
	size_t n = strlen(text);

	return n == 0 || memmem(s->data, s->size, text, n) != NULL;
}

static void emit(const struct mg_oom_event *ev, void *data)
{
	struct seen *s = data;
	char num[32];
	bool inferred;

	CHECK(ev->first_line >= 1 && ev->first_line <= ev->last_line && ev->last_line <= s->lines,
	      "event lines %lu-%lu of %lu", ev->first_line, ev->last_line, s->lines);
	CHECK(ev->first_line >= s->last_first, "event of line %lu after one of line %lu", ev->first_line,
	      s->last_first);
	s->last_first = ev->first_line;
	if (ev->victim_pid != MG_OOM_NONE && ev->type == MG_OOM_KERNEL) {
		snprintf(num, sizeof(num), "%" PRId64, ev->victim_pid);
		CHECK(in_input(s, num), "victim pid %s is not in the input", num);
	}
	if (ev->oom_memcg)
		CHECK(in_input(s, ev->oom_memcg), "oom_memcg '%s' is not in the input", ev->oom_memcg);
	if (ev->task_memcg)
		CHECK(in_input(s, ev->task_memcg), "task_memcg '%s' is not in the input", ev->task_memcg);
	for (size_t i = 0; i < ev->ntasks; i++) {
		CHECK(ev->tasks[i].name, "row %zu without a name", i);
		snprintf(num, sizeof(num), "%" PRId64, ev->tasks[i].pid);
		CHECK(in_input(s, num), "row pid %s is not in the input", num);
	}
	if (ev->type == MG_OOM_KERNEL) {
		CHECK(!(ev->outcome == MG_OOM_OUTCOME_UNKNOWN) == !(ev->missing & MG_OOM_MISSING_VICTIM),
		      "outcome %d but missing 0x%x", ev->outcome, ev->missing);
		CHECK(!ev->ntasks == !!(ev->missing & MG_OOM_MISSING_TABLE), "%zu rows but missing 0x%x", ev->ntasks,
		      ev->missing);
		CHECK((ev->constraint == MG_OOM_CONSTRAINT_UNKNOWN) == !!(ev->missing & MG_OOM_MISSING_CONSTRAINT),
		      "constraint %d but missing 0x%x", ev->constraint, ev->missing);
		CHECK(ev->constraint == MG_OOM_CONSTRAINT_UNKNOWN || ev->constraint_from, "a constraint without its line");
	}
	(void)mg_oom_page_bytes(ev, &inferred);
	s->digest = s->digest * 1000003u + ev->first_line * 31u + ev->ntasks + (uint64_t)ev->victim_pid + ev->missing;
	s->n++;
}

static void run(const uint8_t *data, size_t size, bool kmsg, struct seen *s)
{
	struct mg_oom_options o = { .now_usec = (int64_t)1764590400 * 1000000, .max_tasks = 64,
				    .has_boot_time = kmsg, .boot_usec = (int64_t)1764500000 * 1000000 };
	struct mg_oom_parser *p = NULL;
	const char *b = (const char *)data, *e = b + size;

	memset(s, 0, sizeof(*s));
	s->data = data;
	s->size = size;
	CHECK(mg_oom_parser_new(&o, emit, s, &p) == 0, "parser_new");
	while (b < e) {
		const char *nl = memchr(b, '\n', (size_t)(e - b));
		size_t n = nl ? (size_t)(nl - b) : (size_t)(e - b);
		s->lines++;
		if (kmsg) {
			const char *msg;
			size_t mlen;
			int64_t us;
			if (mg_kmsg_record(b, n, &us, &msg, &mlen) == 0)
				CHECK(mg_oom_feed_mono(p, msg, mlen, us) == 0, "feed_mono");
			else
				CHECK(mg_oom_feed(p, b, n) == 0, "feed");
		} else
			CHECK(mg_oom_feed(p, b, n) == 0, "feed");
		b += n + (nl ? 1 : 0);
	}
	CHECK(mg_oom_finish(p) == 0, "finish");
	mg_oom_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen a, b;
	int64_t t;
	char buf[256];

	run(data, size, false, &a);
	run(data, size, false, &b);
	CHECK(a.n == b.n && a.digest == b.digest, "a second run gave %zu events, the first %zu", b.n, a.n);
	run(data, size, true, &b);

	/* the time an admin types, on the first line */
	if (size && size < sizeof(buf)) {
		memcpy(buf, data, size);
		buf[size] = '\0';
		if (mg_logtime_parse_user(buf, (int64_t)1764590400 * 1000000, &t) == 0)
			mg_logtime_format(t, buf, sizeof(buf));
	}
	return 0;
}
