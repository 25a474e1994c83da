/* Memory sizes as written in the policy: bytes, percent of RAM, or "max". */
#ifndef MEMGUARD_SIZE_H
#define MEMGUARD_SIZE_H

#include <stddef.h>
#include <stdint.h>

enum mg_size_kind {
	MG_SIZE_BYTES,
	MG_SIZE_PERCENT,
	MG_SIZE_MAX,
};

/* Percentages are kept in thousandths of a percent so that "12.5%" is exact. */
#define MG_PERCENT_SCALE 1000u

struct mg_size {
	enum mg_size_kind kind;
	uint64_t value; /* bytes, or percent * MG_PERCENT_SCALE */
};

/* Parses "123", "64K", "4G", "1.5T" is refused (whole numbers only), "25%",
 * "12.5%", "max". Returns 0, -EINVAL (malformed) or -ERANGE (too large). */
int mg_size_parse(const char *s, size_t len, struct mg_size *out);

/* Bytes the size stands for on a machine with memtotal bytes of RAM;
 * "max" is UINT64_MAX. */
uint64_t mg_size_bytes(const struct mg_size *size, uint64_t memtotal);

/* The canonical spelling ("4G", "25%", "max"), as mg_size_parse reads back. */
void mg_size_format(const struct mg_size *size, char *buf, size_t buflen);

/* Bytes in the largest unit that divides them exactly: 1536M, 3G, 4097. */
void mg_bytes_format(uint64_t bytes, char *buf, size_t buflen);

#endif
