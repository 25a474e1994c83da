#include "policy.h"

#include <stdlib.h>
#include <string.h>

#include "hugepages.h"

/* A rule in the order of its target: the first eight bytes of who, big
 * end first, compare as strcmp compares them, so most of a large
 * policy's order is found without looking at the names again. */
struct who_ref {
	uint64_t prefix;
	const struct mg_rule *r;
};

static uint64_t who_prefix(const char *who)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < 8 && who[i]; i++)
		v = v << 8 | (unsigned char)who[i];
	return v << (8 * (8 - i));
}

/* Equal prefixes without a NUL in them: the rest of the names, then
 * reading order, so that the later line still wins a merge. */
static int cmp_rest(const void *a, const void *b)
{
	const struct who_ref *x = a, *y = b;
	int c = strcmp(x->r->who + 8, y->r->who + 8);

	return c ? c : (x->r < y->r ? -1 : x->r > y->r);
}

/* Least significant byte first, each pass stable: rules that start the
 * same keep reading order. All eight counts come from one look at the
 * keys; a byte every prefix shares costs no pass. The result is in *v
 * or *tmp, whichever the last pass wrote: the two are swapped. */
static void radix_sort(struct who_ref **v, struct who_ref **tmp, size_t n)
{
	size_t count[8][256] = { { 0 } }; /* 16 KiB */

	for (size_t i = 0; i < n; i++)
		for (unsigned d = 0; d < 8; d++)
			count[d][((*v)[i].prefix >> (8 * d)) & 0xff]++;
	for (unsigned d = 0; d < 8; d++) {
		struct who_ref *src = *v, *dst = *tmp;
		size_t at = 0;

		if (count[d][(src[0].prefix >> (8 * d)) & 0xff] == n)
			continue;
		for (unsigned b = 0; b < 256; b++) {
			size_t c = count[d][b];

			count[d][b] = at;
			at += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[d][(src[i].prefix >> (8 * d)) & 0xff]++] = src[i];
		*v = dst;
		*tmp = src;
	}
}

const struct mg_rule **mg_policy_by_who(const struct mg_policy *p)
{
	size_t n = p->nrules;
	/* The refs and the sort's second buffer in one block, which then
	 * holds the answer: in huge pages, one fault per 2 MiB. */
	struct who_ref *block = malloc((2 * n + 1) * sizeof(*block)), *v = block, *tmp = block + n;
	const struct mg_rule **out = (const struct mg_rule **)block;

	if (!block)
		return NULL;
	mg_prefer_huge_pages(block, (2 * n + 1) * sizeof(*block));
	for (size_t i = 0; i < n; i++) {
		v[i].r = &p->rules[i];
		v[i].prefix = who_prefix(p->rules[i].who);
	}
	if (n)
		radix_sort(&v, &tmp, n);
	for (size_t i = 0, end; i < n; i = end) {
		for (end = i + 1; end < n && v[end].prefix == v[i].prefix; end++)
			;
		if (end - i > 1 && (v[i].prefix & 0xff) != 0)
			qsort(v + i, end - i, sizeof(*v), cmp_rest);
	}
	/* Pointers are half a ref: out[i] overwrites at most refs before
	 * v[i], which are read already. */
	for (size_t i = 0; i < n; i++)
		out[i] = v[i].r;
	return out;
}
