/* libFuzzer target: the reader of the allocation shim's log lines
 * (lib/shimlog.c), which memguardctl trace and symbolize run over logs
 * that users' programs wrote. The input is one line.
 * Besides "no crash, no UB", it checks what shimlog.h promises:
 *   - the result is 0, -ENOMSG or -EINVAL;
 *   - on 0, every span (time, event, fields, modules, frames, symbols)
 *     lies inside the line (but the key "message" of a warning's text), the event is named, counts are within their
 *     bounds, build-ids fit their buffer;
 *   - a frame's module+offset is found again by mg_shimlog_module when the
 *     line lists that module;
 *   - parsing is a pure function: the same line parses the same twice.
 * A broken promise abort()s, so libFuzzer keeps the input. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shimlog.h"

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_shimlog: invariant broken: %s\n", #cond);    \
			abort();                                                           \
		}                                                                          \
	} while (0)

static const char *lo, *hi;

static void in_line(struct mg_span s)
{
	CHECK(s.len == 0 || (s.p >= lo && s.p + s.len <= hi));
}

static struct mg_shim_line a, b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	int r;

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	lo = line;
	hi = line + size;
	r = mg_shimlog_parse(line, size, &a);
	CHECK(r == 0 || r == -ENOMSG || r == -EINVAL);
	if (r == 0) {
		in_line(a.before);
		in_line(a.time);
		in_line(a.event);
		CHECK(a.event.len > 0);
		CHECK(a.nfields <= MG_SHIM_FIELDS_MAX && a.nframes <= MG_SHIM_FRAMES_MAX &&
		      a.nmodules <= MG_SHIM_FRAMES_MAX);
		for (size_t i = 0; i < a.nfields; i++) {
			/* The one key the line does not spell: a warning's text. */
			if (!mg_span_eq(a.fields[i].key, "message"))
				in_line(a.fields[i].key);
			in_line(a.fields[i].value);
			CHECK(a.fields[i].key.len > 0);
		}
		for (size_t i = 0; i < a.nmodules; i++) {
			in_line(a.modules[i].path);
			CHECK(a.modules[i].build_id_len > 0 && a.modules[i].build_id_len <= MG_SHIM_BUILD_ID_MAX);
		}
		for (size_t i = 0; i < a.nframes; i++) {
			const struct mg_shim_frame *f = &a.frames[i];
			in_line(f->module);
			CHECK(f->module.len > 0);
			if (f->has_sym)
				in_line(f->sym);
			CHECK(!f->has_sym || f->located);
			const struct mg_shim_module *m = mg_shimlog_module(&a, f->module);
			CHECK(!m || mg_span_eq(m->path, "") || (m->path.len == f->module.len &&
								  memcmp(m->path.p, f->module.p, f->module.len) == 0));
		}
	}
	CHECK(mg_shimlog_parse(line, size, &b) == r);
	CHECK(r != 0 || (a.nfields == b.nfields && a.nframes == b.nframes && a.nmodules == b.nmodules));
	free(line);
	return 0;
}
