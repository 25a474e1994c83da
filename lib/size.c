#include "size.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

static const char units[] = "KMGT";

static int unit_shift(char c)
{
	for (int i = 0; units[i]; i++)
		if (c == units[i] || c == units[i] + ('a' - 'A'))
			return 10 * (i + 1);
	return -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_percent(const char *s, size_t len, struct mg_size *out)
{
	uint64_t whole = 0, frac = 0;
	size_t i = 0, frac_digits = 0;

	if (len == 0 || !is_digit(s[0]))
		return -EINVAL;
	for (; i < len && is_digit(s[i]); i++) {
		whole = whole * 10 + (uint64_t)(s[i] - '0');
		if (whole > 100)
			return -ERANGE;
	}
	if (i < len && s[i] == '.') {
		i++;
		if (i == len)
			return -EINVAL;
		for (; i < len && is_digit(s[i]); i++) {
			if (++frac_digits > 3)
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(s[i] - '0');
		}
		for (size_t d = frac_digits; d < 3; d++)
			frac *= 10;
	}
	if (i != len)
		return -EINVAL;
	out->kind = MG_SIZE_PERCENT;
	out->value = whole * MG_PERCENT_SCALE + frac;
	if (out->value > 100 * MG_PERCENT_SCALE)
		return -ERANGE;
	return 0;
}

int mg_size_parse(const char *s, size_t len, struct mg_size *out)
{
	uint64_t n = 0;
	size_t i = 0;
	int shift = 0;

	if (len == 3 && s[0] == 'm' && s[1] == 'a' && s[2] == 'x') {
		out->kind = MG_SIZE_MAX;
		out->value = 0;
		return 0;
	}
	if (len > 0 && s[len - 1] == '%')
		return parse_percent(s, len - 1, out);
	if (len == 0 || !is_digit(s[0]))
		return -EINVAL;
	for (; i < len && is_digit(s[i]); i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	if (i < len) {
		shift = unit_shift(s[i]);
		if (shift < 0 || i + 1 != len)
			return -EINVAL;
		if (n > (UINT64_MAX >> shift))
			return -ERANGE;
		n <<= shift;
	}
	out->kind = MG_SIZE_BYTES;
	out->value = n;
	return 0;
}

uint64_t mg_size_bytes(const struct mg_size *size, uint64_t memtotal)
{
	switch (size->kind) {
	case MG_SIZE_BYTES:
		return size->value;
	case MG_SIZE_PERCENT:
		/* Split to avoid overflow: memtotal can be close to 2^50. */
		return memtotal / (100 * MG_PERCENT_SCALE) * size->value +
		       memtotal % (100 * MG_PERCENT_SCALE) * size->value / (100 * MG_PERCENT_SCALE);
	case MG_SIZE_MAX:
	default:
		return UINT64_MAX;
	}
}

void mg_bytes_format(uint64_t bytes, char *buf, size_t buflen)
{
	int u = -1;

	while (bytes != 0 && u < 3 && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, buflen, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, buflen, "%llu%c", (unsigned long long)bytes, units[u]);
}

void mg_size_format(const struct mg_size *size, char *buf, size_t buflen)
{
	switch (size->kind) {
	case MG_SIZE_BYTES:
		mg_bytes_format(size->value, buf, buflen);
		break;
	case MG_SIZE_PERCENT: {
		uint64_t whole = size->value / MG_PERCENT_SCALE;
		uint64_t frac = size->value % MG_PERCENT_SCALE;
		if (frac == 0)
			snprintf(buf, buflen, "%llu%%", (unsigned long long)whole);
		else {
			int digits = 3;
			while (frac % 10 == 0) {
				frac /= 10;
				digits--;
			}
			snprintf(buf, buflen, "%llu.%0*llu%%", (unsigned long long)whole, digits,
				 (unsigned long long)frac);
		}
		break;
	}
	case MG_SIZE_MAX:
	default:
		snprintf(buf, buflen, "max");
		break;
	}
}
