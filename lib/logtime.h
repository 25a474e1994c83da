/* Times in log files (syslog, journalctl, dmesg -T, ISO 8601) and the
 * times an admin types (today, -1h, 2026-12-01 10:00). All results are
 * microseconds since the epoch; local time is the process's TZ. */
#ifndef MEMGUARD_LOGTIME_H
#define MEMGUARD_LOGTIME_H

#include <stddef.h>
#include <stdint.h>

/* The month a name stands for, 1-12, or 0: English names and the
 * abbreviations journalctl prints in a few other locales (de, fr, es, ru). */
int mg_logtime_month(const char *s, size_t len);

/* "Jun  4 17:19:10" (optionally ".123456") at s: the syslog stamp. It has
 * no year: the one that puts it at most a day after now. Returns the bytes
 * used, 0 when s does not start with one. */
size_t mg_logtime_syslog(const char *s, size_t len, int64_t now_usec, int64_t *usec);

/* "2024-02-09T12:34:56[.frac][Z|+01:00|+0100]" (also with a space for the
 * T, and ",frac" as dmesg --time-format iso writes it): without an offset,
 * local time. Returns the bytes used, or 0. */
size_t mg_logtime_iso(const char *s, size_t len, int64_t *usec);

/* "Thu Dec  7 00:05:14 2017", as dmesg -T prints it (any weekday word). */
size_t mg_logtime_ctime(const char *s, size_t len, int64_t *usec);

/* What an admin types for --since/--until: "now", "today", "yesterday",
 * "-1h", "-30min", "-2d", "-90s", "-1w", an ISO date or date and time
 * ("2026-12-01", "2026-12-01 10:00", "2026-12-01T10:00:00+01:00"), or
 * "10:00" (today). -EINVAL for anything else. */
int mg_logtime_parse_user(const char *text, int64_t now_usec, int64_t *usec);

/* Local time: "2026-12-01 22:41:07". */
void mg_logtime_format(int64_t usec, char *buf, size_t len);
/* Local time with its offset: "2026-12-01T22:41:07+01:00". */
void mg_logtime_format_iso(int64_t usec, char *buf, size_t len);

#endif
