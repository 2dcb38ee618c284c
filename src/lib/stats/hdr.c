/* hdr.c: the log-linear histogram (see hdr.h). */
#include "stats/hdr.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

void hdr_init(struct hdr_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void hdr_release(struct hdr_hist *h)
{
	free(h->buckets);
	memset(h, 0, sizeof(*h));
}

unsigned hdr_bucket(uint64_t v)
{
	unsigned e;
	if (v < HDR_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	return (e - HDR_SUB_BITS + 1) * HDR_SUB + (unsigned)((v >> (e - HDR_SUB_BITS)) - HDR_SUB);
}

uint64_t hdr_bucket_low(unsigned b)
{
	unsigned g, e;
	if (b < 2 * HDR_SUB)
		return b;
	g = b / HDR_SUB;
	e = g + HDR_SUB_BITS - 1;
	return (uint64_t)(b % HDR_SUB + HDR_SUB) << (e - HDR_SUB_BITS);
}

uint64_t hdr_bucket_high(unsigned b)
{
	if (b + 1 >= HDR_BUCKETS)
		return UINT64_MAX;
	return hdr_bucket_low(b + 1) - 1;
}

void hdr_add_n(struct hdr_hist *h, uint64_t v, uint64_t n)
{
	if (!n)
		return;
	if (!h->buckets)
		h->buckets = xcalloc(HDR_BUCKETS, sizeof(uint64_t));
	if (!h->count || v < h->min)
		h->min = v;
	if (!h->count || v > h->max)
		h->max = v;
	h->count += n;
	h->sum += (double)v * (double)n;
	h->buckets[hdr_bucket(v)] += n;
}

void hdr_add(struct hdr_hist *h, uint64_t v)
{
	hdr_add_n(h, v, 1);
}

void hdr_add_bucket(struct hdr_hist *h, unsigned b, uint64_t n)
{
	uint64_t lo, hi;
	if (!n || b >= HDR_BUCKETS)
		return;
	lo = hdr_bucket_low(b);
	hi = hdr_bucket_high(b);
	if (!h->buckets)
		h->buckets = xcalloc(HDR_BUCKETS, sizeof(uint64_t));
	if (!h->count || lo < h->min)
		h->min = lo;
	if (!h->count || hi > h->max)
		h->max = hi;
	h->count += n;
	h->sum += ((double)lo + (double)(hi - lo) / 2) * (double)n;
	h->buckets[b] += n;
}

void hdr_merge(struct hdr_hist *dst, const struct hdr_hist *src)
{
	if (!src->count)
		return;
	if (!dst->buckets)
		dst->buckets = xcalloc(HDR_BUCKETS, sizeof(uint64_t));
	if (!dst->count || src->min < dst->min)
		dst->min = src->min;
	if (!dst->count || src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (unsigned b = 0; b < HDR_BUCKETS; b++)
		dst->buckets[b] += src->buckets[b];
}

uint64_t hdr_quantile(const struct hdr_hist *h, double q)
{
	uint64_t rank, seen = 0;
	if (!h->count)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank < 1)
		rank = 1;
	for (unsigned b = 0; b < HDR_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			uint64_t lo = hdr_bucket_low(b), hi = hdr_bucket_high(b), mid = lo + (hi - lo) / 2;
			if (mid < h->min)
				mid = h->min;
			if (mid > h->max)
				mid = h->max;
			return mid;
		}
	}
	return h->max;
}
