/* test_perf_record.c: decoding perf_event_open records and reading the ring buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <asm/perf_regs.h>
#include <linux/perf_event.h>
#include "collect/collector.h"
#include "collect/perf_record.h"

#define SAMPLE_TYPE (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | \
		     PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN |               \
		     PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER)
#define REGS_MASK ((1ull << PERF_REG_X86_BP) | (1ull << PERF_REG_X86_SP) | (1ull << PERF_REG_X86_IP))

static const struct kc_layout layout = { SAMPLE_TYPE, REGS_MASK, 1 };

/* A record under construction: u64 words after the header. */
struct rec {
	uint64_t w[512];
	size_t n; /* words used, the header included */
};

static void rec_start(struct rec *r, uint32_t type, uint16_t misc)
{
	struct perf_event_header h = { type, misc, 0 };
	memset(r, 0, sizeof(*r));
	memcpy(&r->w[0], &h, sizeof(h));
	r->n = 1;
}

static void put(struct rec *r, uint64_t v)
{
	r->w[r->n++] = v;
}

static void put2(struct rec *r, uint32_t a, uint32_t b)
{
	put(r, (uint64_t)a | (uint64_t)b << 32);
}

/* Appends a NUL-terminated string padded to 8 bytes. */
static void put_str(struct rec *r, const char *s)
{
	size_t len = strlen(s) + 1, words = (len + 7) / 8;
	memset(&r->w[r->n], 0, words * 8);
	memcpy(&r->w[r->n], s, len);
	r->n += words;
}

static size_t rec_end(struct rec *r)
{
	struct perf_event_header h;
	memcpy(&h, &r->w[0], sizeof(h));
	h.size = (uint16_t)(r->n * 8);
	memcpy(&r->w[0], &h, sizeof(h));
	return r->n * 8;
}

/* sample_id trailer: TID, TIME, CPU, IDENTIFIER (in the kernel's order) */
static void put_sample_id(struct rec *r, uint32_t pid, uint32_t tid, uint64_t time, uint32_t cpu, uint64_t id)
{
	put2(r, pid, tid);
	put(r, time);
	put2(r, cpu, 0);
	put(r, id);
}

static size_t make_sample(struct rec *r, uint64_t stack_size, uint64_t dyn_size)
{
	rec_start(r, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
	put(r, 77);                  /* identifier */
	put(r, 0x401000);            /* ip */
	put2(r, 100, 101);           /* pid, tid */
	put(r, 123456789);           /* time */
	put2(r, 1, 0);               /* cpu */
	put(r, 1001001);             /* period */
	put(r, 4);                   /* callchain nr */
	put(r, (uint64_t)PERF_CONTEXT_USER);
	put(r, 0x401000);
	put(r, 0x402000);
	put(r, 0x403000);
	put(r, PERF_SAMPLE_REGS_ABI_64);
	put(r, 0x7ff0); /* BP (bit 6) */
	put(r, 0x7f00); /* SP (bit 7) */
	put(r, 0x401000); /* IP (bit 8) */
	put(r, stack_size);
	for (uint64_t i = 0; i < stack_size / 8; i++)
		put(r, 0x1111111111111111ull * (i + 1));
	if (stack_size)
		put(r, dyn_size);
	return rec_end(r);
}

static void test_sample_decodes(void **state)
{
	struct rec r;
	struct kc_sample s;
	size_t len = make_sample(&r, 32, 24);
	assert_int_equal(kc_parse_sample(&layout, r.w, len, &s), 0);
	assert_int_equal(s.id, 77);
	assert_int_equal(s.ip, 0x401000);
	assert_int_equal(s.pid, 100);
	assert_int_equal(s.tid, 101);
	assert_int_equal(s.time, 123456789);
	assert_int_equal(s.cpu, 1);
	assert_int_equal(s.period, 1001001);
	assert_int_equal(s.nr, 4);
	assert_true(s.ips[0] == (uint64_t)PERF_CONTEXT_USER);
	assert_int_equal(s.ips[3], 0x403000);
	assert_int_equal(s.regs_abi, PERF_SAMPLE_REGS_ABI_64);
	assert_int_equal(s.regs[PERF_REG_X86_BP], 0x7ff0);
	assert_int_equal(s.regs[PERF_REG_X86_SP], 0x7f00);
	assert_int_equal(s.regs[PERF_REG_X86_IP], 0x401000);
	assert_int_equal(s.regs_mask, REGS_MASK);
	assert_non_null(s.stack);
	assert_int_equal(s.stack_size, 24); /* dyn_size, not the reserved size */
	uint64_t first;
	memcpy(&first, s.stack, 8);
	assert_int_equal(first, 0x1111111111111111ull);
	assert_int_equal(kc_record_time(&layout, r.w, len), 123456789);
}

static void test_sample_without_user_regs_or_stack(void **state)
{
	struct rec r;
	struct kc_sample s;
	rec_start(&r, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL);
	put(&r, 1);
	put(&r, 0xffffffff81000000ull);
	put2(&r, 0, 0);
	put(&r, 5);
	put2(&r, 0, 0);
	put(&r, 1);
	put(&r, 0); /* no call chain */
	put(&r, PERF_SAMPLE_REGS_ABI_NONE); /* a kernel thread: no registers follow */
	put(&r, 0); /* stack size 0: no data, no dyn_size */
	size_t len = rec_end(&r);
	assert_int_equal(kc_parse_sample(&layout, r.w, len, &s), 0);
	assert_int_equal(s.regs_mask, 0);
	assert_null(s.stack);
	assert_int_equal(s.nr, 0);
}

static void test_sample_truncations_rejected(void **state)
{
	struct rec r;
	struct kc_sample s;
	size_t len = make_sample(&r, 64, 64);
	/* every shorter length (as the header says) is rejected, never read past */
	for (size_t cut = 8; cut < len; cut += 8) {
		struct rec t = r;
		struct perf_event_header h;
		memcpy(&h, &t.w[0], sizeof(h));
		h.size = (uint16_t)cut;
		memcpy(&t.w[0], &h, sizeof(h));
		assert_int_equal(kc_parse_sample(&layout, t.w, cut, &s), -1);
	}
	/* a header size that disagrees with the length */
	assert_int_equal(kc_parse_sample(&layout, r.w, len - 8, &s), -1);
	/* an absurd call-chain length */
	struct rec big = r;
	big.w[7] = 1ull << 40;
	assert_int_equal(kc_parse_sample(&layout, big.w, len, &s), -1);
	/* an absurd stack size */
	size_t len2 = make_sample(&r, 16, 16);
	r.w[16] = 1ull << 40;
	assert_int_equal(kc_parse_sample(&layout, r.w, len2, &s), -1);
}

static void test_sideband_records(void **state)
{
	struct rec r;
	struct kc_sideband sb;
	size_t len;

	rec_start(&r, PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC);
	put2(&r, 200, 201);
	put_str(&r, "shares");
	put_sample_id(&r, 200, 201, 999, 0, 77);
	len = rec_end(&r);
	assert_int_equal(kc_parse_sideband(&layout, r.w, len, &sb), 0);
	assert_int_equal(sb.type, PERF_RECORD_COMM);
	assert_int_equal(sb.u.comm.pid, 200);
	assert_int_equal(sb.u.comm.tid, 201);
	assert_string_equal(sb.u.comm.comm, "shares");
	assert_true(sb.u.comm.exec);
	assert_int_equal(sb.sid.time, 999);
	assert_int_equal(sb.sid.id, 77);
	assert_int_equal(kc_record_time(&layout, r.w, len), 999);

	rec_start(&r, PERF_RECORD_FORK, 0);
	put2(&r, 300, 200);
	put2(&r, 300, 201);
	put(&r, 1234);
	put_sample_id(&r, 300, 300, 1234, 1, 77);
	len = rec_end(&r);
	assert_int_equal(kc_parse_sideband(&layout, r.w, len, &sb), 0);
	assert_int_equal(sb.u.task.pid, 300);
	assert_int_equal(sb.u.task.ppid, 200);
	assert_int_equal(sb.u.task.ptid, 201);
	assert_int_equal(sb.sid.cpu, 1);

	rec_start(&r, PERF_RECORD_MMAP2, PERF_RECORD_MISC_MMAP_BUILD_ID);
	put2(&r, 200, 200);
	put(&r, 0x400000);
	put(&r, 0x2000);
	put(&r, 0x1000);
	{
		unsigned char u[24] = { 20, 0, 0, 0 };
		for (int i = 0; i < 20; i++)
			u[4 + i] = (unsigned char)(0xa0 + i);
		memcpy(&r.w[r.n], u, 24);
		r.n += 3;
	}
	put2(&r, 5, 2); /* prot, flags */
	put_str(&r, "/usr/bin/true");
	put_sample_id(&r, 200, 200, 50, 0, 77);
	len = rec_end(&r);
	assert_int_equal(kc_parse_sideband(&layout, r.w, len, &sb), 0);
	assert_int_equal(sb.u.mmap2.addr, 0x400000);
	assert_int_equal(sb.u.mmap2.len, 0x2000);
	assert_int_equal(sb.u.mmap2.pgoff, 0x1000);
	assert_int_equal(sb.u.mmap2.build_id_size, 20);
	assert_int_equal(sb.u.mmap2.build_id[0], 0xa0);
	assert_int_equal(sb.u.mmap2.build_id[19], 0xa0 + 19);
	assert_int_equal(sb.u.mmap2.prot, 5);
	assert_string_equal(sb.u.mmap2.filename, "/usr/bin/true");

	/* MMAP2 without the build-id flag carries inode data: no build id */
	struct perf_event_header h;
	memcpy(&h, &r.w[0], sizeof(h));
	h.misc = 0;
	memcpy(&r.w[0], &h, sizeof(h));
	assert_int_equal(kc_parse_sideband(&layout, r.w, len, &sb), 0);
	assert_null(sb.u.mmap2.build_id);

	rec_start(&r, PERF_RECORD_LOST, 0);
	put(&r, 77);
	put(&r, 42);
	put_sample_id(&r, 0, 0, 60, 0, 77);
	len = rec_end(&r);
	assert_int_equal(kc_parse_sideband(&layout, r.w, len, &sb), 0);
	assert_int_equal(sb.u.lost.lost, 42);

	rec_start(&r, PERF_RECORD_SWITCH, PERF_RECORD_MISC_SWITCH_OUT | PERF_RECORD_MISC_SWITCH_OUT_PREEMPT);
	put_sample_id(&r, 200, 201, 70, 0, 77);
	len = rec_end(&r);
	assert_int_equal(kc_parse_sideband(&layout, r.w, len, &sb), 0);
	assert_true(sb.u.sw.out && sb.u.sw.preempt);
	assert_int_equal(sb.sid.tid, 201);

	/* an unknown type is reported as such, with its time */
	rec_start(&r, 200, 0);
	put_sample_id(&r, 1, 1, 80, 0, 77);
	len = rec_end(&r);
	assert_int_equal(kc_parse_sideband(&layout, r.w, len, &sb), 1);
	assert_int_equal(sb.sid.time, 80);
}

static void test_sideband_malformed(void **state)
{
	struct rec r;
	struct kc_sideband sb;
	/* a COMM whose name has no terminator before the trailer */
	rec_start(&r, PERF_RECORD_COMM, 0);
	put2(&r, 1, 1);
	memcpy(&r.w[r.n], "abcdefgh", 8);
	r.n++;
	put_sample_id(&r, 1, 1, 5, 0, 77);
	size_t len = rec_end(&r);
	assert_int_equal(kc_parse_sideband(&layout, r.w, len, &sb), -1);
	/* shorter than its trailer */
	rec_start(&r, PERF_RECORD_EXIT, 0);
	put(&r, 1);
	len = rec_end(&r);
	assert_int_equal(kc_parse_sideband(&layout, r.w, len, &sb), -1);
	/* a FORK cut before its fields end */
	rec_start(&r, PERF_RECORD_FORK, 0);
	put2(&r, 1, 1);
	put_sample_id(&r, 1, 1, 5, 0, 77);
	len = rec_end(&r);
	assert_int_equal(kc_parse_sideband(&layout, r.w, len, &sb), -1);
}

/* ---- ring ---- */

#define PAGE 4096
#define DATA 4096

struct seen {
	size_t n;
	uint64_t sums[64];
	size_t lens[64];
	int aligned;
};

static void collect(void *ctx, const void *rec, size_t len)
{
	struct seen *s = ctx;
	uint64_t sum = 0;
	const uint64_t *w = rec;
	if ((uintptr_t)rec & 7)
		s->aligned = 0;
	for (size_t i = 1; i < len / 8; i++)
		sum += w[i];
	s->sums[s->n] = sum;
	s->lens[s->n] = len;
	s->n++;
}

/* Writes a record of len bytes (words 1.. = value) into the ring at head, wrapping. */
static uint64_t ring_put(unsigned char *data, uint64_t head, size_t len, uint64_t value)
{
	uint64_t w[64];
	struct perf_event_header h = { PERF_RECORD_SAMPLE, 0, (uint16_t)len };
	memcpy(&w[0], &h, sizeof(h));
	for (size_t i = 1; i < len / 8; i++)
		w[i] = value;
	for (size_t i = 0; i < len; i++)
		data[(head + i) % DATA] = ((unsigned char *)w)[i];
	return head + len;
}

static void test_ring_reads_and_wraps(void **state)
{
	unsigned char *mem = aligned_alloc(PAGE, PAGE + DATA);
	struct perf_event_mmap_page *pg = (void *)mem;
	struct kc_ring ring;
	struct seen seen = { 0, { 0 }, { 0 }, 1 };
	memset(mem, 0, PAGE + DATA);
	kc_ring_init(&ring, mem, PAGE + DATA, PAGE);
	assert_ptr_equal(ring.data, mem + PAGE);
	assert_int_equal(ring.data_size, DATA);

	/* start near the end so that the second record straddles the wrap */
	uint64_t head = DATA - 40;
	pg->data_tail = head;
	head = ring_put(ring.data, head, 24, 1);
	head = ring_put(ring.data, head, 64, 2); /* wraps */
	head = ring_put(ring.data, head, 16, 3);
	pg->data_head = head;
	assert_int_equal(kc_ring_read(&ring, collect, &seen), 3);
	assert_int_equal(seen.n, 3);
	assert_true(seen.aligned);
	assert_int_equal(seen.lens[0], 24);
	assert_int_equal(seen.sums[0], 2 * 1);
	assert_int_equal(seen.lens[1], 64);
	assert_int_equal(seen.sums[1], 7 * 2); /* copied whole across the wrap */
	assert_int_equal(seen.sums[2], 1 * 3);
	assert_int_equal(pg->data_tail, head);
	/* nothing new: nothing read */
	assert_int_equal(kc_ring_read(&ring, collect, &seen), 0);

	/* a header that wraps itself (4 bytes before the end) */
	pg->data_tail = head = 2 * DATA - 4;
	head = ring_put(ring.data, head, 32, 9);
	pg->data_head = head;
	seen.n = 0;
	assert_int_equal(kc_ring_read(&ring, collect, &seen), 1);
	assert_int_equal(seen.sums[0], 3 * 9);

	/* a corrupt size ends the read and skips to the head */
	struct perf_event_header bad = { PERF_RECORD_SAMPLE, 0, 0 };
	uint64_t start = head;
	memcpy(ring.data + (head % DATA), &bad, sizeof(bad));
	head += 64;
	pg->data_head = head;
	assert_int_equal(kc_ring_read(&ring, collect, &seen), -1);
	assert_int_equal(pg->data_tail, head);
	(void)start;
	kc_ring_release(&ring);
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_decodes),
		cmocka_unit_test(test_sample_without_user_regs_or_stack),
		cmocka_unit_test(test_sample_truncations_rejected),
		cmocka_unit_test(test_sideband_records),
		cmocka_unit_test(test_sideband_malformed),
		cmocka_unit_test(test_ring_reads_and_wraps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
