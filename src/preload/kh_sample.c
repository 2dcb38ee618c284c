/* kh_sample.c: sampling mode (--sample BYTES). Allocations are sampled as points of a
 * Poisson process over allocated bytes, mean BYTES apart (as tcmalloc and jemalloc do):
 * a block of n bytes is sampled with probability 1 - exp(-n/BYTES), which the reader
 * undoes by weighting. free() must recognise sampled blocks cheaply: a 64 Ki-bit
 * filter says "maybe" for few addresses, and only those look at the exact set (hash
 * buckets, under kh_sample_lock). */
#include "preload/kh.h"
#include <stdint.h>

#define NBUCKETS (1u << KH_FILTER_BITS)

struct sblock {
	uint64_t addr;
	struct sblock *next;
};

uint64_t kh_sample_filter[NBUCKETS / 64] = { [0 ... NBUCKETS / 64 - 1] = ~0ull };
int kh_free_all = 1;
#define filter kh_sample_filter
static uint64_t sticky[NBUCKETS / 64]; /* buckets whose filter bit stays set */
static struct sblock **buckets;
static struct sblock *free_list;

#define bucket_of kh_sample_bucket

void kh_sample_insert(uint64_t addr)
{
	uint32_t b = bucket_of(addr);
	struct sblock *s;
	kh_lock(&kh_sample_lock);
	if (!buckets)
		buckets = kh_map_anon(NBUCKETS * sizeof(*buckets));
	if (!buckets) {
		kh_unlock(&kh_sample_lock);
		return;
	}
	s = free_list;
	if (s)
		free_list = s->next;
	else
		s = kh_arena_alloc(sizeof(*s));
	if (s) {
		s->addr = addr;
		s->next = buckets[b];
		buckets[b] = s;
		__atomic_or_fetch(&filter[b / 64], 1ull << (b % 64), __ATOMIC_RELEASE);
	}
	kh_unlock(&kh_sample_lock);
}

int kh_sample_remove(struct kh_thread *t, uint64_t addr)
{
	uint32_t b = bucket_of(addr);
	struct sblock **pp, *s;
	int found = 0;
	if (KH_LIKELY(!kh_sample_maybe(addr)))
		return 0;
	KH_CRIT_BEGIN(t);
	kh_lock(&kh_sample_lock);
	for (pp = buckets ? &buckets[b] : NULL; pp && (s = *pp); pp = &s->next) {
		if (s->addr == addr) {
			*pp = s->next;
			s->next = free_list;
			free_list = s;
			found = 1;
			break;
		}
	}
	if (found && !buckets[b] && !(sticky[b / 64] & (1ull << (b % 64))))
		__atomic_and_fetch(&filter[b / 64], ~(1ull << (b % 64)), __ATOMIC_RELEASE);
	kh_unlock(&kh_sample_lock);
	KH_CRIT_END(t);
	return found;
}

/* Leaves set only the sticky bits (NULL and the given addresses): word by word, so
 * that a concurrent free never sees a sticky bit clear. */
void kh_sample_filter_init(const uint64_t *sticky_addrs, size_t n)
{
	uint32_t b = bucket_of(0);
	sticky[b / 64] |= 1ull << (b % 64);
	for (size_t i = 0; i < n; i++) {
		b = bucket_of(sticky_addrs[i]);
		sticky[b / 64] |= 1ull << (b % 64);
	}
	for (uint32_t w = 0; w < NBUCKETS / 64; w++)
		__atomic_store_n(&filter[w], sticky[w], __ATOMIC_RELEASE);
	__atomic_store_n(&kh_free_all, 0, __ATOMIC_RELEASE);
}

/* -ln(u) for u in (0, 1], without libm: u = m * 2^e, ln m by the atanh series. */
static double neg_log(double u)
{
	union {
		double d;
		uint64_t b;
	} v = { u };
	int e = (int)((v.b >> 52) & 0x7ff) - 1023;
	v.b = (v.b & ~(0x7ffull << 52)) | (1023ull << 52); /* m in [1, 2) */
	double m = v.d, z = (m - 1) / (m + 1), z2 = z * z, term = z, sum = 0;
	for (int k = 1; k < 40; k += 2) {
		sum += term / k;
		term *= z2;
	}
	return -(e * 0.69314718055994530942 + 2 * sum);
}

int64_t kh_sample_next(struct kh_thread *t)
{
	uint64_t x = t->rng;
	double u, d;
	if (!x)
		x = (uint64_t)(uintptr_t)t ^ kh_now_ns() ^ 0x9E3779B97F4A7C15ull;
	/* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	u = (double)((x * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
	if (u <= 0)
		u = 1.0 / 9007199254740992.0;
	d = neg_log(u) * (double)kh_p.sample_bytes;
	if (d < 1)
		d = 1;
	if (d > 1e15)
		d = 1e15;
	return (int64_t)d;
}
