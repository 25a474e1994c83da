/* One line of a log as the tools write it: raw dmesg ("[  12.345] msg"),
 * dmesg -T ("[Thu Dec  7 00:05:14 2017] msg"), journalctl -k (short,
 * short-iso, short-precise, short-monotonic: "Dec 18 19:34:56 host
 * kernel: msg"), dmesg --time-format iso ("2026-12-01T10:00:00,123456+01:00
 * msg"), syslog files ("... host kernel: [ 12.3] msg", "... host
 * ident[pid]: msg"), a "<PRI>" before any of them (dmesg -r, a datagram
 * received on /dev/log) or a paste without any prefix. Split into its
 * time, host, program and message, without copying. */
#ifndef MEMGUARD_LOGLINE_H
#define MEMGUARD_LOGLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_logline {
	const char *msg;
	size_t msg_len;
	const char *host; /* NULL: none written */
	size_t host_len;
	const char *ident; /* the program: "kernel", "earlyoom", "pam_memguard"; NULL: none */
	size_t ident_len;
	bool has_time; /* an absolute time was written */
	int64_t usec;
	bool has_mono; /* seconds since boot were written ("[  12.345678]") */
	int64_t mono_usec;
};

/* now_usec: for the year a syslog stamp leaves out. */
void mg_logline_split(const char *line, size_t len, int64_t now_usec, struct mg_logline *out);

/* One record read from /dev/kmsg: "PRIO,SEQ,USEC,FLAGS[,...];MESSAGE\n"
 * followed by " KEY=VALUE" lines. -EINVAL when it is not one. */
int mg_kmsg_record(const char *rec, size_t len, int64_t *mono_usec, const char **msg, size_t *msg_len);

#endif
