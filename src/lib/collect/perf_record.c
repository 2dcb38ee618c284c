/* perf_record.c: decoding perf_event_open ring-buffer records, and reading the ring. */
#include "collect/perf_record.h"
#include "util/xalloc.h"
#include <linux/perf_event.h>
#include <string.h>

struct cursor {
	const unsigned char *p, *end;
	int bad;
};

static uint64_t take_u64(struct cursor *c)
{
	uint64_t v;
	if (c->end - c->p < 8) {
		c->bad = 1;
		c->p = c->end;
		return 0;
	}
	memcpy(&v, c->p, 8);
	c->p += 8;
	return v;
}

/* Two u32 packed in one u64 slot (pid/tid, cpu/res). */
static void take_u32x2(struct cursor *c, uint32_t *a, uint32_t *b)
{
	uint64_t v = take_u64(c);
	*a = (uint32_t)v;
	*b = (uint32_t)(v >> 32);
}

static const unsigned char *take_bytes(struct cursor *c, uint64_t n)
{
	const unsigned char *s = c->p;
	if ((uint64_t)(c->end - c->p) < n) {
		c->bad = 1;
		c->p = c->end;
		return NULL;
	}
	c->p += n;
	return s;
}

static int popcount64(uint64_t v)
{
	return __builtin_popcountll(v);
}

int kc_parse_sample(const struct kc_layout *l, const void *rec, size_t len, struct kc_sample *s)
{
	const struct perf_event_header *h = rec;
	struct cursor c = { (const unsigned char *)rec + sizeof(*h), (const unsigned char *)rec + len, 0 };
	uint64_t t = l->sample_type;
	uint32_t res;
	memset(s, 0, offsetof(struct kc_sample, regs));
	s->regs_mask = 0;
	s->stack = NULL;
	s->stack_size = 0;
	if (len < sizeof(*h) || h->size != len || h->type != PERF_RECORD_SAMPLE)
		return -1;
	s->misc = h->misc;
	if (t & PERF_SAMPLE_IDENTIFIER)
		s->id = take_u64(&c);
	if (t & PERF_SAMPLE_IP)
		s->ip = take_u64(&c);
	if (t & PERF_SAMPLE_TID)
		take_u32x2(&c, &s->pid, &s->tid);
	if (t & PERF_SAMPLE_TIME)
		s->time = take_u64(&c);
	if (t & PERF_SAMPLE_ADDR)
		take_u64(&c);
	if (t & PERF_SAMPLE_ID)
		s->id = take_u64(&c);
	if (t & PERF_SAMPLE_STREAM_ID)
		take_u64(&c);
	if (t & PERF_SAMPLE_CPU)
		take_u32x2(&c, &s->cpu, &res);
	if (t & PERF_SAMPLE_PERIOD)
		s->period = take_u64(&c);
	if (t & PERF_SAMPLE_READ)
		return -1; /* read_format is not used by kiln's events */
	if (t & PERF_SAMPLE_CALLCHAIN) {
		s->nr = take_u64(&c);
		if (s->nr > (uint64_t)(c.end - c.p) / 8)
			return -1;
		s->ips = (const uint64_t *)(const void *)c.p;
		c.p += s->nr * 8;
	}
	if (t & PERF_SAMPLE_RAW) {
		/* u32 size, then data, padded so the record stays 8-byte aligned */
		uint32_t sz;
		if (c.end - c.p < 4)
			return -1;
		memcpy(&sz, c.p, 4);
		if (!take_bytes(&c, 4 + (uint64_t)sz))
			return -1;
	}
	if (t & PERF_SAMPLE_BRANCH_STACK)
		return -1; /* not used by kiln's events */
	if (t & PERF_SAMPLE_REGS_USER) {
		s->regs_abi = take_u64(&c);
		if (s->regs_abi) {
			int n = popcount64(l->regs_user_mask);
			if ((uint64_t)(c.end - c.p) / 8 < (uint64_t)n)
				return -1;
			for (int bit = 0; bit < KC_MAX_REGS; bit++) {
				if (!(l->regs_user_mask & (1ull << bit)))
					continue;
				s->regs[bit] = take_u64(&c);
			}
			s->regs_mask = l->regs_user_mask;
		}
	}
	if (t & PERF_SAMPLE_STACK_USER) {
		uint64_t size = take_u64(&c);
		if (size) {
			const unsigned char *data = take_bytes(&c, size);
			uint64_t dyn = take_u64(&c);
			if (c.bad)
				return -1;
			s->stack = data;
			s->stack_size = dyn < size ? dyn : size;
		}
	}
	return c.bad ? -1 : 0;
}

/* Size of the sample_id trailer for this layout. */
static size_t sample_id_size(const struct kc_layout *l)
{
	uint64_t t = l->sample_type;
	size_t n = 0;
	if (!l->sample_id_all)
		return 0;
	n += (t & PERF_SAMPLE_TID) ? 8 : 0;
	n += (t & PERF_SAMPLE_TIME) ? 8 : 0;
	n += (t & PERF_SAMPLE_ID) ? 8 : 0;
	n += (t & PERF_SAMPLE_STREAM_ID) ? 8 : 0;
	n += (t & PERF_SAMPLE_CPU) ? 8 : 0;
	n += (t & PERF_SAMPLE_IDENTIFIER) ? 8 : 0;
	return n;
}

static void parse_sample_id(const struct kc_layout *l, const unsigned char *p, size_t n,
			    struct kc_sample_id *sid)
{
	struct cursor c = { p, p + n, 0 };
	uint64_t t = l->sample_type;
	uint32_t res;
	if (t & PERF_SAMPLE_TID)
		take_u32x2(&c, &sid->pid, &sid->tid);
	if (t & PERF_SAMPLE_TIME)
		sid->time = take_u64(&c);
	if (t & PERF_SAMPLE_ID)
		sid->id = take_u64(&c);
	if (t & PERF_SAMPLE_STREAM_ID)
		take_u64(&c);
	if (t & PERF_SAMPLE_CPU)
		take_u32x2(&c, &sid->cpu, &res);
	if (t & PERF_SAMPLE_IDENTIFIER)
		sid->id = take_u64(&c);
}

/* A NUL-terminated string inside [p, end); NULL when it has no terminator. */
static const char *take_string(struct cursor *c)
{
	const unsigned char *nul = memchr(c->p, '\0', (size_t)(c->end - c->p));
	const char *s = (const char *)c->p;
	if (!nul) {
		c->bad = 1;
		return NULL;
	}
	c->p = nul + 1;
	return s;
}

int kc_parse_sideband(const struct kc_layout *l, const void *rec, size_t len, struct kc_sideband *r)
{
	const struct perf_event_header *h = rec;
	size_t idsz = sample_id_size(l);
	struct cursor c;
	memset(r, 0, sizeof(*r));
	if (len < sizeof(*h) || h->size != len || len < sizeof(*h) + idsz)
		return -1;
	r->type = h->type;
	r->misc = h->misc;
	c.p = (const unsigned char *)rec + sizeof(*h);
	c.end = (const unsigned char *)rec + len - idsz;
	c.bad = 0;
	if (idsz)
		parse_sample_id(l, c.end, idsz, &r->sid);
	switch (h->type) {
	case PERF_RECORD_COMM:
		take_u32x2(&c, &r->u.comm.pid, &r->u.comm.tid);
		r->u.comm.comm = take_string(&c);
		r->u.comm.exec = !!(h->misc & PERF_RECORD_MISC_COMM_EXEC);
		break;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		take_u32x2(&c, &r->u.task.pid, &r->u.task.ppid);
		take_u32x2(&c, &r->u.task.tid, &r->u.task.ptid);
		r->u.task.time = take_u64(&c);
		break;
	case PERF_RECORD_MMAP2: {
		take_u32x2(&c, &r->u.mmap2.pid, &r->u.mmap2.tid);
		r->u.mmap2.addr = take_u64(&c);
		r->u.mmap2.len = take_u64(&c);
		r->u.mmap2.pgoff = take_u64(&c);
		const unsigned char *u = take_bytes(&c, 24);
		if (u && (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
			r->u.mmap2.build_id_size = u[0] <= 20 ? u[0] : 20;
			r->u.mmap2.build_id = r->u.mmap2.build_id_size ? u + 4 : NULL;
		}
		take_u32x2(&c, &r->u.mmap2.prot, &r->u.mmap2.flags);
		r->u.mmap2.filename = take_string(&c);
		break;
	}
	case PERF_RECORD_LOST:
		r->u.lost.id = take_u64(&c);
		r->u.lost.lost = take_u64(&c);
		break;
	case PERF_RECORD_LOST_SAMPLES:
		r->u.lost_samples.lost = take_u64(&c);
		break;
	case PERF_RECORD_SWITCH:
		r->u.sw.out = !!(h->misc & PERF_RECORD_MISC_SWITCH_OUT);
		r->u.sw.preempt = !!(h->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT);
		break;
	case PERF_RECORD_SWITCH_CPU_WIDE:
		r->u.sw.out = !!(h->misc & PERF_RECORD_MISC_SWITCH_OUT);
		r->u.sw.preempt = !!(h->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT);
		take_u32x2(&c, &r->u.sw.next_prev_pid, &r->u.sw.next_prev_tid);
		break;
	case PERF_RECORD_THROTTLE:
	case PERF_RECORD_UNTHROTTLE:
		r->u.throttle.time = take_u64(&c);
		r->u.throttle.id = take_u64(&c);
		r->u.throttle.stream_id = take_u64(&c);
		break;
	default:
		return 1;
	}
	return c.bad ? -1 : 0;
}

uint64_t kc_record_time(const struct kc_layout *l, const void *rec, size_t len)
{
	const struct perf_event_header *h = rec;
	uint64_t t = l->sample_type, v;
	if (!(t & PERF_SAMPLE_TIME) || len < sizeof(*h))
		return 0;
	if (h->type == PERF_RECORD_SAMPLE) {
		size_t off = sizeof(*h);
		off += (t & PERF_SAMPLE_IDENTIFIER) ? 8 : 0;
		off += (t & PERF_SAMPLE_IP) ? 8 : 0;
		off += (t & PERF_SAMPLE_TID) ? 8 : 0;
		if (off + 8 > len)
			return 0;
		memcpy(&v, (const char *)rec + off, 8);
		return v;
	}
	size_t idsz = sample_id_size(l);
	if (!idsz || len < sizeof(*h) + idsz)
		return 0;
	size_t off = len - idsz + ((t & PERF_SAMPLE_TID) ? 8 : 0);
	memcpy(&v, (const char *)rec + off, 8);
	return v;
}

/* ---- ring ---- */

void kc_ring_init(struct kc_ring *r, void *base, size_t map_size, size_t page_size)
{
	struct perf_event_mmap_page *pg = base;
	memset(r, 0, sizeof(*r));
	r->base = base;
	r->map_size = map_size;
	if (pg->data_offset && pg->data_size) {
		r->data = (unsigned char *)base + pg->data_offset;
		r->data_size = pg->data_size;
	} else {
		r->data = (unsigned char *)base + page_size;
		r->data_size = map_size - page_size;
	}
}

void kc_ring_release(struct kc_ring *r)
{
	free(r->scratch);
	r->scratch = NULL;
	r->scratch_size = 0;
}

long kc_ring_read(struct kc_ring *r, kc_record_fn fn, void *ctx)
{
	struct perf_event_mmap_page *pg = r->base;
	uint64_t head = __atomic_load_n(&pg->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = pg->data_tail;
	uint64_t mask = r->data_size - 1;
	long n = 0;
	if (head - tail > r->data_size) {
		/* the kernel never overruns a writable ring; treat this as damage */
		__atomic_store_n(&pg->data_tail, head, __ATOMIC_RELEASE);
		return -1;
	}
	while (tail < head) {
		struct perf_event_header h;
		uint64_t off = tail & mask;
		const void *rec;
		if (off + sizeof(h) <= r->data_size) {
			memcpy(&h, r->data + off, sizeof(h));
		} else {
			size_t first = (size_t)(r->data_size - off);
			memcpy(&h, r->data + off, first);
			memcpy((char *)&h + first, r->data, sizeof(h) - first);
		}
		if (h.size < sizeof(h) || (h.size & 7) || h.size > head - tail) {
			__atomic_store_n(&pg->data_tail, head, __ATOMIC_RELEASE);
			return -1;
		}
		if (off + h.size <= r->data_size) {
			rec = r->data + off;
		} else {
			size_t first = (size_t)(r->data_size - off);
			if (r->scratch_size < h.size) {
				free(r->scratch);
				r->scratch = xmalloc(h.size);
				r->scratch_size = h.size;
			}
			memcpy(r->scratch, r->data + off, first);
			memcpy(r->scratch + first, r->data, h.size - first);
			rec = r->scratch;
		}
		fn(ctx, rec, h.size);
		tail += h.size;
		n++;
	}
	__atomic_store_n(&pg->data_tail, tail, __ATOMIC_RELEASE);
	return n;
}
