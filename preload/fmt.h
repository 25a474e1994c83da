/* Building report lines in a caller's buffer without allocating: no stdio,
 * whose locale and buffers may call malloc. A line that does not fit is cut
 * and marked, never overflowed. */
#ifndef MEMGUARD_PRELOAD_FMT_H
#define MEMGUARD_PRELOAD_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct mg_buf {
	char *p;
	size_t len, cap;
	bool cut;
};

void mg_buf_init(struct mg_buf *b, char *mem, size_t cap);
void mg_buf_mem(struct mg_buf *b, const char *s, size_t n);
void mg_buf_str(struct mg_buf *b, const char *s);
void mg_buf_u64(struct mg_buf *b, uint64_t v);
void mg_buf_i64(struct mg_buf *b, int64_t v);
void mg_buf_hex(struct mg_buf *b, uint64_t v); /* 0x1f */
/* s quoted and escaped for JSON (control characters as \u00XX). */
void mg_buf_json_str(struct mg_buf *b, const char *s);
/* s with spaces and control characters replaced, for key=value text. */
void mg_buf_word(struct mg_buf *b, const char *s);
/* 2024-05-01T12:34:56.789Z */
void mg_buf_time(struct mg_buf *b, const struct timespec *ts);
/* Ends the line with '\n' (marking a cut line with "..."); returns its length. */
size_t mg_buf_finish(struct mg_buf *b);

#endif
