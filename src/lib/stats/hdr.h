/* hdr.h: a log-linear ("HDR") histogram of non-negative integer values (nanoseconds).
 *
 * Values below 2^HDR_SUB_BITS have a bucket each; above, every power of two [2^e, 2^e+1)
 * is split into 2^HDR_SUB_BITS equal buckets, so a bucket is at most 1/32 (3.1%) of its
 * values wide at any scale: modes a decade apart (1 ms and 10 ms, 2 us and 20 us) land in
 * distinct buckets, which a power-of-two histogram would merge or blur. Exact count,
 * sum, minimum and maximum are kept beside the buckets.
 *
 * Percentiles are read from the buckets: the value returned for quantile q is the
 * midpoint of the bucket holding the value of rank ceil(q * count), clamped to [min,
 * max], so its error is under half a bucket (1.6%). */
#ifndef KILN_STATS_HDR_H
#define KILN_STATS_HDR_H
#include <stddef.h>
#include <stdint.h>

#define HDR_SUB_BITS 5
#define HDR_SUB (1u << HDR_SUB_BITS)
#define HDR_BUCKETS ((64 - HDR_SUB_BITS + 1) * HDR_SUB)

struct hdr_hist {
	uint64_t count;
	uint64_t min, max;        /* valid when count > 0 */
	double sum;
	uint64_t *buckets;        /* HDR_BUCKETS entries, allocated at the first add */
};

void hdr_init(struct hdr_hist *h);
void hdr_release(struct hdr_hist *h);
void hdr_add(struct hdr_hist *h, uint64_t v);
void hdr_add_n(struct hdr_hist *h, uint64_t v, uint64_t n);
/* Adds n values known only by their bucket b (an aggregation done elsewhere, such as
 * in the kernel); the caller then sets sum, min and max if it knows them exactly
 * (else they are estimated from the bucket bounds). */
void hdr_add_bucket(struct hdr_hist *h, unsigned b, uint64_t n);
/* Adds every value of src to dst. */
void hdr_merge(struct hdr_hist *dst, const struct hdr_hist *src);

/* The bucket of v, and the range [low, high] of values a bucket holds. */
unsigned hdr_bucket(uint64_t v);
uint64_t hdr_bucket_low(unsigned b);
uint64_t hdr_bucket_high(unsigned b);

/* The value at quantile q in [0, 1] (0 for an empty histogram); see above. */
uint64_t hdr_quantile(const struct hdr_hist *h, double q);
static inline double hdr_mean(const struct hdr_hist *h)
{
	return h->count ? h->sum / (double)h->count : 0;
}

#endif
