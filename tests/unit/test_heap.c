/* test_heap.c: the heap profiler's reader side: aggregation (against a brute-force
 * model), the session protocol (hand-written session files, damaged ones), and the
 * report, chart and histogram views. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "heap/heap_agg.h"
#include "heap/heap_proto.h"
#include "heap/heap_report.h"
#include "heap/heap_session.h"
#include "heap/heap_suppress.h"
#include "heap/heap_view.h"
#include "profile/profile.h"
#include "util/error.h"
#include "util/xalloc.h"

#include "unit.h"

/* Sums of each value per profile stack over all samples. */
static double stack_sum(const struct kp_profile *p, kp_stack_t s, int v)
{
	double t = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->sample_stack[i] == s)
			t += kp_sample_value(p, i, (uint32_t)v);
	return t;
}

static kp_stack_t named_stack(struct kp_profile *p, const char *name)
{
	kp_frame_t f = kp_frame_named(p, name, strlen(name), 0);
	return kp_stack_push(p, 0, f);
}

/* ---- aggregation ---- */
static void test_agg_basic_values(void **state)
{
	struct kp_profile p;
	kp_profile_init(&p);
	struct heap_agg *a = heap_agg_new(&p, 0);
	assert_non_null(a);
	assert_int_equal(p.nvalues, HEAP_NV);
	assert_int_equal(p.default_value, HEAP_V_PEAK_BYTES);
	kp_stack_t s1 = named_stack(&p, "one"), s2 = named_stack(&p, "two");
	struct heap_proc *pr = heap_agg_proc(a, 0, 42, 0, NULL, 0);
	heap_agg_define_stack(pr, 1, s1);
	heap_agg_define_stack(pr, 2, s2);
	assert_true(heap_agg_has_stack(pr, 1));
	assert_false(heap_agg_has_stack(pr, 3));
	heap_agg_alloc(pr, 1, 0x1000, 100, 1, 10);  /* live 100 */
	heap_agg_alloc(pr, 1, 0x2000, 50, 2, 20);   /* live 150: peak */
	heap_agg_free_ev(pr, 1, 0x2000, 1, 30);     /* temp: last alloc of the ring */
	heap_agg_alloc(pr, 1, 0x3000, 20, 2, 40);   /* live 120 */
	heap_agg_free_ev(pr, 1, 0x1000, 0, 50);     /* live 20 */
	heap_agg_free_ev(pr, 1, 0x9000, 0, 60);     /* unknown */
	heap_agg_end_epoch(pr);
	assert_int_equal(heap_agg_emit(a, 100), 2);
	assert_int_equal(heap_agg_emit(a, 110), 0); /* nothing changed */
	heap_agg_proc_end(pr, 200);
	assert_true(stack_sum(&p, s1, HEAP_V_ALLOC_COUNT) == 1);
	assert_true(stack_sum(&p, s1, HEAP_V_ALLOC_BYTES) == 100);
	assert_true(stack_sum(&p, s1, HEAP_V_PEAK_BYTES) == 100);
	assert_true(stack_sum(&p, s1, HEAP_V_LEAKED_COUNT) == 0);
	assert_true(stack_sum(&p, s2, HEAP_V_ALLOC_COUNT) == 2);
	assert_true(stack_sum(&p, s2, HEAP_V_ALLOC_BYTES) == 70);
	assert_true(stack_sum(&p, s2, HEAP_V_PEAK_BYTES) == 50);
	assert_true(stack_sum(&p, s2, HEAP_V_LEAKED_COUNT) == 1);
	assert_true(stack_sum(&p, s2, HEAP_V_LEAKED_BYTES) == 20);
	assert_true(stack_sum(&p, s2, HEAP_V_TEMP_COUNT) == 1);
	struct heap_proc_stats st;
	heap_agg_stats(a, &st);
	assert_true(st.peak_bytes == 150);
	assert_int_equal(st.peak_time_ns, 20);
	assert_int_equal(st.unknown_frees, 1);
	assert_true(st.allocs == 3 && st.temps == 1);
	assert_int_equal(st.end_ns, 200);
	const double *h = heap_agg_histogram(a);
	assert_true(h[7] == 1 && h[6] == 1 && h[5] == 1); /* 100 in [64,128), 50 in [32,64), 20 in [16,32) */
	heap_agg_free(a);
	kp_profile_release(&p);
}

/* A brute-force model: live blocks in an array, a full copy of per-stack live bytes at
 * every new peak. heap_agg must agree on every value, whatever the event sequence. */
#define MODEL_STACKS 12
#define MODEL_SLOTS 64
static void run_model(unsigned seed, int use_pairs)
{
	struct kp_profile p;
	kp_stack_t ks[MODEL_STACKS + 1];
	uint64_t addr[MODEL_SLOTS] = { 0 }, size[MODEL_SLOTS];
	int stk[MODEL_SLOTS];
	double m_count[MODEL_STACKS + 1] = { 0 }, m_bytes[MODEL_STACKS + 1] = { 0 };
	double m_live[MODEL_STACKS + 1] = { 0 }, m_livec[MODEL_STACKS + 1] = { 0 };
	double m_peak[MODEL_STACKS + 1] = { 0 }, m_temp[MODEL_STACKS + 1] = { 0 };
	double total = 0, peak = 0;
	uint64_t last_alloc = 0, next_addr = 0x10000;
	char name[16];
	srand(seed);
	kp_profile_init(&p);
	struct heap_agg *a = heap_agg_new(&p, 0);
	struct heap_proc *pr = heap_agg_proc(a, 0, 1, 0, NULL, 0);
	for (int s = 1; s <= MODEL_STACKS; s++) {
		snprintf(name, sizeof(name), "s%d", s);
		ks[s] = named_stack(&p, name);
		heap_agg_define_stack(pr, (uint32_t)s, ks[s]);
	}
	for (int step = 0; step < 4000; step++) {
		int slot = rand() % MODEL_SLOTS;
		if (!addr[slot]) {
			int s = 1 + rand() % MODEL_STACKS;
			uint64_t sz = (uint64_t)(rand() % 5000);
			/* addresses are reused sometimes, as allocators do */
			uint64_t ad = (rand() % 4 == 0 && last_alloc == 0) ? 0x10000 + (uint64_t)slot * 16 : (next_addr += 16);
			for (int busy = 1; busy;) {
				busy = 0;
				for (int k = 0; k < MODEL_SLOTS; k++)
					if (addr[k] == ad)
						busy = 1;
				if (busy)
					ad = (next_addr += 16);
			}
			int pair = use_pairs && rand() % 3 == 0;
			m_count[s]++;
			m_bytes[s] += (double)sz;
			total += (double)sz;
			m_live[s] += (double)sz;
			if (total > peak) {
				peak = total;
				memcpy(m_peak, m_live, sizeof(m_peak));
			}
			if (pair) {
				/* allocated and freed at once by the same thread */
				m_live[s] -= (double)sz;
				total -= (double)sz;
				m_temp[s]++;
				heap_agg_temp_pair(pr, sz, (uint32_t)s, (uint64_t)step);
				last_alloc = 0;
			} else {
				heap_agg_alloc(pr, 1, ad, sz, (uint32_t)s, (uint64_t)step);
				addr[slot] = ad;
				size[slot] = sz;
				stk[slot] = s;
				m_livec[s]++;
				last_alloc = ad;
			}
		} else {
			int s = stk[slot], temp = addr[slot] == last_alloc;
			m_live[s] -= (double)size[slot];
			m_livec[s]--;
			total -= (double)size[slot];
			if (temp)
				m_temp[s]++;
			heap_agg_free_ev(pr, 1, addr[slot], temp, (uint64_t)step);
			if (temp)
				last_alloc = 0;
			addr[slot] = 0;
		}
		if (step % 500 == 0)
			heap_agg_emit(a, (uint64_t)step);
	}
	heap_agg_end_epoch(pr);
	heap_agg_emit(a, 5000);
	for (int s = 1; s <= MODEL_STACKS; s++) {
		assert_true(stack_sum(&p, ks[s], HEAP_V_ALLOC_COUNT) == m_count[s]);
		assert_true(stack_sum(&p, ks[s], HEAP_V_ALLOC_BYTES) == m_bytes[s]);
		assert_true(stack_sum(&p, ks[s], HEAP_V_LEAKED_COUNT) == m_livec[s]);
		assert_true(stack_sum(&p, ks[s], HEAP_V_LEAKED_BYTES) == m_live[s]);
		if (stack_sum(&p, ks[s], HEAP_V_TEMP_COUNT) != m_temp[s])
			fail_msg("seed %u pairs %d stack %d: temp %f, model %f", seed, use_pairs, s,
				 stack_sum(&p, ks[s], HEAP_V_TEMP_COUNT), m_temp[s]);
		if (stack_sum(&p, ks[s], HEAP_V_PEAK_BYTES) != m_peak[s])
			fail_msg("seed %u stack %d: peak %f, model %f", seed, s, stack_sum(&p, ks[s], HEAP_V_PEAK_BYTES),
				 m_peak[s]);
	}
	struct heap_proc_stats st;
	heap_agg_stats(a, &st);
	assert_true(st.peak_bytes == peak);
	assert_int_equal(st.unknown_frees + st.missed_frees, 0);
	heap_agg_free(a);
	kp_profile_release(&p);
}

static void test_agg_matches_model(void **state)
{
	for (unsigned seed = 1; seed <= 20; seed++) {
		run_model(seed, 0);
		run_model(seed, 1);
	}
}

static void test_agg_cross_ring_order(void **state)
{
	struct kp_profile p;
	kp_profile_init(&p);
	struct heap_agg *a = heap_agg_new(&p, 0);
	kp_stack_t sa = named_stack(&p, "a"), sb = named_stack(&p, "b");
	struct heap_proc *pr = heap_agg_proc(a, 0, 1, 0, NULL, 0);
	heap_agg_define_stack(pr, 1, sa);
	heap_agg_define_stack(pr, 2, sb);
	/* ring 2 frees what ring 1 allocated, but ring 2 is read first in the epoch */
	heap_agg_free_ev(pr, 2, 0x100, 0, 5);
	heap_agg_alloc(pr, 1, 0x100, 10, 1, 5);
	/* ring 1 allocates at an address still live (ring 2 frees it later in the epoch) */
	heap_agg_alloc(pr, 2, 0x200, 30, 2, 6);
	heap_agg_alloc(pr, 1, 0x200, 40, 1, 6);
	heap_agg_free_ev(pr, 2, 0x200, 0, 6);
	heap_agg_end_epoch(pr);
	heap_agg_emit(a, 10);
	assert_true(stack_sum(&p, sa, HEAP_V_ALLOC_COUNT) == 2);
	assert_true(stack_sum(&p, sa, HEAP_V_LEAKED_COUNT) == 1);
	assert_true(stack_sum(&p, sa, HEAP_V_LEAKED_BYTES) == 40);
	assert_true(stack_sum(&p, sb, HEAP_V_LEAKED_COUNT) == 0);
	struct heap_proc_stats st;
	heap_agg_stats(a, &st);
	assert_int_equal(st.unknown_frees, 0);
	assert_int_equal(st.missed_frees, 0);
	/* an allocation at a live address with no free anywhere: a missed free */
	heap_agg_alloc(pr, 1, 0x200, 8, 1, 7);
	heap_agg_end_epoch(pr);
	heap_agg_stats(a, &st);
	assert_int_equal(st.missed_frees, 1);
	/* a free of a block never seen: unknown once the epoch is over */
	heap_agg_free_ev(pr, 1, 0x777, 0, 8);
	heap_agg_end_epoch(pr);
	heap_agg_stats(a, &st);
	assert_int_equal(st.unknown_frees, 1);
	heap_agg_free(a);
	kp_profile_release(&p);
}

static void test_agg_sampling_weights(void **state)
{
	struct kp_profile p;
	kp_profile_init(&p);
	struct heap_agg *a = heap_agg_new(&p, 1000);
	double prev = 1e300;
	assert_true(heap_agg_weight(a, 0) == 0);
	for (uint64_t sz = 1; sz < 100000; sz = sz * 3 + 1) {
		double w = heap_agg_weight(a, sz);
		assert_true(w >= 1 && w <= prev);
		prev = w;
	}
	/* small blocks stand for about sample_bytes / size blocks; large ones for one */
	assert_true(fabs(heap_agg_weight(a, 10) - 100.5) < 0.1);
	assert_true(heap_agg_weight(a, 1000000) == 1);
	assert_null(heap_agg_new(&p, 0)); /* value types exist already */
	heap_agg_free(a);
	kp_profile_release(&p);
}

/* Several processes: the session's peak is the memory live in all of them at one
 * moment (a process that ended gave its memory back), each keeps its own peak, and the
 * peak_bytes values sum to the session's peak. */
static void test_agg_session_peak(void **state)
{
	struct kp_profile p;
	struct heap_proc_stats st, one, two;
	kp_profile_init(&p);
	struct heap_agg *a = heap_agg_new(&p, 0);
	kp_stack_t s8 = named_stack(&p, "eight"), s4 = named_stack(&p, "four"), sl = named_stack(&p, "leak");
	struct heap_proc *pa = heap_agg_proc(a, 0, 10, 0, NULL, 0);
	struct heap_proc *pb = heap_agg_proc(a, 0, 11, 0, NULL, 0);
	heap_agg_define_stack(pa, 1, s8);
	heap_agg_define_stack(pa, 2, sl);
	heap_agg_define_stack(pb, 1, s4);
	/* apart: a holds 800 and leaks 5, ends; then b holds 400 */
	heap_agg_alloc(pa, 1, 0x100, 800, 1, 10);
	heap_agg_alloc(pa, 1, 0x900, 5, 2, 11);
	heap_agg_free_ev(pa, 1, 0x100, 0, 20);
	heap_agg_emit(a, 21);
	heap_agg_proc_end(pa, 30);
	heap_agg_alloc(pb, 1, 0x100, 400, 1, 40);
	heap_agg_emit(a, 41);
	heap_agg_stats(a, &st);
	assert_true(st.peak_bytes == 805);
	assert_int_equal(st.peak_time_ns, 11);
	assert_true(st.proc_peak_bytes == 805 && st.pid == 10);
	heap_agg_proc_stats_at(a, 0, &one);
	heap_agg_proc_stats_at(a, 1, &two);
	assert_true(one.peak_bytes == 805 && two.peak_bytes == 400);
	assert_true(stack_sum(&p, s8, HEAP_V_PEAK_BYTES) == 800);
	assert_true(stack_sum(&p, sl, HEAP_V_PEAK_BYTES) == 5);
	assert_true(stack_sum(&p, s4, HEAP_V_PEAK_BYTES) == 0);
	/* then b goes to 900 while a is gone (its leak freed by the system): 900 is the
	 * new peak, and a's stacks count nothing in it */
	heap_agg_alloc(pb, 1, 0x200, 500, 1, 50);
	heap_agg_emit(a, 51);
	heap_agg_stats(a, &st);
	assert_true(st.peak_bytes == 900);
	assert_true(stack_sum(&p, s8, HEAP_V_PEAK_BYTES) == 0);
	assert_true(stack_sum(&p, sl, HEAP_V_PEAK_BYTES) == 0);
	assert_true(stack_sum(&p, s4, HEAP_V_PEAK_BYTES) == 900);
	assert_true(stack_sum(&p, sl, HEAP_V_LEAKED_BYTES) == 5); /* still a leak */
	/* a third process holding 300 while b holds 900: together 1200 */
	struct heap_proc *pc = heap_agg_proc(a, 0, 12, 60, NULL, 0);
	heap_agg_define_stack(pc, 1, s8);
	heap_agg_alloc(pc, 1, 0x100, 300, 1, 60);
	heap_agg_emit(a, 61);
	heap_agg_stats(a, &st);
	assert_true(st.peak_bytes == 1200);
	assert_true(stack_sum(&p, s8, HEAP_V_PEAK_BYTES) + stack_sum(&p, s4, HEAP_V_PEAK_BYTES) == 1200);
	heap_agg_free(a);
	kp_profile_release(&p);
}

/* LeakSanitizer's template matching and the suppressions file format. */
static void test_suppress_match_and_parse(void **state)
{
	struct heap_supp sp;
	assert_true(heap_supp_template_match("pool", "my_pool_alloc"));
	assert_false(heap_supp_template_match("^pool", "my_pool_alloc"));
	assert_true(heap_supp_template_match("^my_", "my_pool_alloc"));
	assert_true(heap_supp_template_match("alloc$", "my_pool_alloc"));
	assert_false(heap_supp_template_match("pool$", "my_pool_alloc"));
	assert_true(heap_supp_template_match("^my*alloc$", "my_pool_alloc"));
	assert_true(heap_supp_template_match("my*pool*c", "xmy_pool_alloc"));
	assert_false(heap_supp_template_match("pool*my", "my_pool_alloc"));
	assert_true(heap_supp_template_match("^my_pool_alloc$", "my_pool_alloc"));
	assert_false(heap_supp_template_match("^my_pool_allo$", "my_pool_alloc"));
	assert_true(heap_supp_template_match("*", "anything"));
	assert_true(heap_supp_template_match("a*a", "aba"));
	assert_false(heap_supp_template_match("a*a", "a")); /* pieces do not overlap */
	assert_false(heap_supp_template_match("x", NULL));
	heap_supp_init(&sp);
	size_t builtin = sp.n;
	assert_int_equal(heap_supp_add_text(&sp, "# c\n\n  leak:foo  \r\nleak:^bar$\n", "t.supp"), 0);
	assert_int_equal(sp.n, builtin + 2);
	assert_string_equal(sp.rules[builtin].pattern, "foo");
	assert_string_equal(sp.rules[builtin].origin, "t.supp:3");
	assert_string_equal(sp.rules[builtin + 1].pattern, "^bar$");
	assert_int_equal(heap_supp_add_text(&sp, "leak:ok\nrace:x\n", "u.supp"), -1);
	assert_int_equal(heap_supp_add_text(&sp, "leak:\n", "v.supp"), -1);
	heap_supp_release(&sp);
}

/* A stack deeper than any buffer (recursion 300 deep, then the allocation): rules see
 * its allocation site and every frame (the innermost frames were once cut at 256). */
static void test_suppress_deep_stack(void **state)
{
	struct kp_profile p;
	struct heap_supp sp;
	kp_profile_init(&p);
	kp_stack_t st = kp_stack_push(&p, 0, kp_frame_named(&p, "main", 4, 0));
	kp_frame_t rec = kp_frame_named(&p, "recurse", 7, 0);
	for (int i = 0; i < 300; i++)
		st = kp_stack_push(&p, st, rec);
	kp_stack_t pool = kp_stack_push(&p, st, kp_frame_named(&p, "my_pool_alloc", 13, 0));
	kp_stack_t io = kp_stack_push(&p, st, kp_frame_named(&p, "_IO_file_doallocate", 19, 0));
	heap_supp_init(&sp);
	size_t builtin = sp.n;
	assert_int_equal(heap_supp_match(&sp, &p, pool), -1);
	assert_int_equal(heap_supp_match(&sp, &p, io), 0); /* the built-in stdio rule: its site */
	assert_int_equal(heap_supp_add_text(&sp, "leak:^my_pool_alloc$\nleak:^main$\n", "t.supp"), 0);
	assert_int_equal(heap_supp_match(&sp, &p, pool), (int)builtin);
	assert_int_equal(heap_supp_match(&sp, &p, st), (int)builtin + 1); /* the root frame too */
	assert_int_equal(heap_supp_match(&sp, &p, 0), -1);
	heap_supp_release(&sp);
	kp_profile_release(&p);
}

/* Values of a stack still being symbolized are written on a stand-in stack and moved
 * to the real one once it is named: a profile cut short holds them, a finished one
 * sums to zero on the stand-in. */
static void test_agg_unnamed_stand_in(void **state)
{
	struct kp_profile p;
	kp_profile_init(&p);
	struct heap_agg *a = heap_agg_new(&p, 0);
	kp_stack_t real = named_stack(&p, "real_site");
	struct heap_proc *pr = heap_agg_proc(a, 0, 7, 0, NULL, 0);
	heap_agg_pend_stack(pr, 1);
	heap_agg_alloc(pr, 1, 0x100, 300, 1, 10);
	heap_agg_end_epoch(pr);
	assert_int_equal(heap_agg_emit(a, 20), 1);
	kp_frame_t f = kp_frame_named(&p, "[call stack not yet named]", strlen("[call stack not yet named]"), 0);
	kp_stack_t stand_in = kp_stack_push(&p, 0, f);
	assert_true(stack_sum(&p, stand_in, HEAP_V_LEAKED_BYTES) == 300);
	assert_true(stack_sum(&p, real, HEAP_V_LEAKED_BYTES) == 0);
	heap_agg_define_stack(pr, 1, real);
	assert_int_equal(heap_agg_emit(a, 30), 2); /* off the stand-in, onto the stack */
	assert_true(stack_sum(&p, stand_in, HEAP_V_LEAKED_BYTES) == 0);
	assert_true(stack_sum(&p, stand_in, HEAP_V_ALLOC_COUNT) == 0);
	assert_true(stack_sum(&p, real, HEAP_V_LEAKED_BYTES) == 300);
	assert_true(stack_sum(&p, real, HEAP_V_PEAK_BYTES) == 300);
	assert_int_equal(heap_agg_emit(a, 40), 0);
	heap_agg_free(a);
	kp_profile_release(&p);
}

static void test_agg_fork_inherits_stacks(void **state)
{
	struct kp_profile p;
	kp_profile_init(&p);
	struct heap_agg *a = heap_agg_new(&p, 0);
	kp_stack_t s1 = named_stack(&p, "parent_site"), s5 = named_stack(&p, "child_site");
	struct heap_proc *parent = heap_agg_proc(a, 0, 10, 0, NULL, 0);
	heap_agg_define_stack(parent, 1, s1);
	heap_agg_define_stack(parent, 2, s5);
	struct heap_proc *child = heap_agg_proc(a, 0, 11, 5, parent, 2);
	assert_true(heap_agg_has_stack(child, 1));
	assert_false(heap_agg_has_stack(child, 2)); /* id 2 came after the fork */
	heap_agg_alloc(child, 1, 0x10, 7, 1, 6);
	heap_agg_emit(a, 7);
	assert_true(stack_sum(&p, s1, HEAP_V_LEAKED_BYTES) == 7);
	heap_agg_free(a);
	kp_profile_release(&p);
}

static void test_agg_memory_bounded(void **state)
{
	struct kp_profile p;
	kp_profile_init(&p);
	struct heap_agg *a = heap_agg_new(&p, 0);
	struct heap_proc *pr = heap_agg_proc(a, 0, 1, 0, NULL, 0);
	heap_agg_define_stack(pr, 1, named_stack(&p, "x"));
	for (int i = 0; i < 1000; i++) {
		heap_agg_alloc(pr, 1, 0x1000 + (uint64_t)(i % 7) * 64, 32, 1, 0);
		heap_agg_free_ev(pr, 1, 0x1000 + (uint64_t)(i % 7) * 64, 1, 0);
	}
	size_t m1 = heap_agg_memory(a);
	for (int i = 0; i < 200000; i++) {
		heap_agg_alloc(pr, 1, 0x1000 + (uint64_t)(i % 7) * 64, 32, 1, 0);
		heap_agg_free_ev(pr, 1, 0x1000 + (uint64_t)(i % 7) * 64, 1, 0);
		heap_agg_temp_pair(pr, 32, 1, 0);
	}
	assert_int_equal(heap_agg_memory(a), m1);
	heap_agg_free(a);
	kp_profile_release(&p);
}

/* ---- the session protocol, with hand-made session files ---- */
struct fake {
	char path[512];
	struct hp_header *h;
	size_t size;
	uint64_t *ring[3];
	struct hp_slot_ctl *ctl[3];
	uint64_t mask[3];
};

static void fake_open(struct fake *f, const char *dir, int32_t pid, uint64_t created, uint32_t flags)
{
	struct hp_header proto;
	memset(&proto, 0, sizeof(proto));
	proto.max_slots = 3;
	proto.ring_bytes = 64 * 1024;
	f->size = hp_file_size(&proto);
	snprintf(f->path, sizeof(f->path), "%s/%d-%llu.kh", dir, (int)pid, (unsigned long long)created);
	int fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)f->size), 0);
	void *m = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(m != MAP_FAILED);
	f->h = m;
	memcpy(f->h->magic, HP_MAGIC, 8);
	f->h->version = HP_VERSION;
	f->h->header_size = HP_HEADER_SIZE;
	f->h->pid = pid;
	f->h->ppid = 1;
	f->h->created_ns = created;
	f->h->ring_bytes = proto.ring_bytes;
	f->h->max_slots = 3;
	f->h->flags = flags;
	snprintf(f->h->comm, sizeof(f->h->comm), "fake");
	f->h->slot_hwm = 2;
	f->h->slot_state[0] = HP_SLOT_ACTIVE;
	f->h->slot_state[1] = HP_SLOT_ACTIVE;
	for (uint32_t i = 0; i < 3; i++) {
		char *base = (char *)m + hp_slot_offset(f->h, i);
		f->ctl[i] = (struct hp_slot_ctl *)base;
		f->ring[i] = (uint64_t *)(base + HP_SLOT_CTL);
		f->mask[i] = hp_slot_ring_bytes(f->h, i) / 8 - 1;
	}
}

static void fake_put(struct fake *f, int slot, const uint64_t *w, size_t n)
{
	uint64_t head = f->ctl[slot]->head;
	for (size_t i = 0; i < n; i++)
		f->ring[slot][(head + i) & f->mask[slot]] = w[i];
	__atomic_store_n(&f->ctl[slot]->head, head + n, __ATOMIC_RELEASE);
}

static void fake_stack(struct fake *f, uint64_t id, uint64_t ip)
{
	uint64_t w[4] = { HP_C_STACK | 4u << 8, id, 1, ip };
	fake_put(f, 0, w, 4);
}

static void fake_alloc(struct fake *f, int slot, uint64_t addr, uint64_t size, uint64_t id)
{
	uint64_t w[3] = { addr << 4 | HP_ALLOC, size, id };
	fake_put(f, slot, w, 3);
}

static void fake_alloc2(struct fake *f, int slot, uint64_t addr, uint64_t size, uint64_t id)
{
	uint64_t w[2] = { addr << 4 | HP_ALLOC2, size | id << 40 };
	fake_put(f, slot, w, 2);
}

static void fake_free(struct fake *f, int slot, uint64_t addr, int temp)
{
	uint64_t w = addr << 4 | HP_FREE | (temp ? HP_FREE_TEMP : 0);
	fake_put(f, slot, &w, 1);
}

static uint64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The sum of value v over the samples of the stacks whose leaf is "[unknown]" or named
 * by any frame: here all stacks are one frame deep, so sum over all samples. */
static double total(const struct kp_profile *p, int v)
{
	return kp_total(p, (uint32_t)v);
}

static void test_session_reads_fake_files(void **state)
{
	char dir[300];
	struct kp_profile p;
	struct fake f;
	struct heap_session_info info;
	uint64_t start = mono();
	snprintf(dir, sizeof(dir), "%s/s1", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	kp_profile_init(&p);
	struct heap_session *s = heap_session_new(dir, &p, 0, start);
	assert_non_null(s);
	fake_open(&f, dir, getpid(), start + 1000, 0);
	fake_stack(&f, 1, 0x401000);
	fake_stack(&f, 2, 0x402000);
	fake_alloc2(&f, 1, 0x5000, 100, 1);
	fake_free(&f, 1, 0x5000, 1);           /* a temporary pair */
	fake_alloc(&f, 1, 0x6000, 300, 2);     /* leaked */
	fake_alloc(&f, 1, 0x7000, 50, 3);      /* stack 3 never defined */
	heap_session_scan(s, mono());
	heap_session_poll(s, mono());
	heap_session_get_info(s, &info);
	assert_int_equal(info.processes, 1);
	assert_int_equal(info.running, 1);
	/* many more events than the 64 KiB ring holds: the ring wraps */
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 1000; i++) {
			if (i % 2)
				fake_alloc(&f, 1, 0x100000 + (uint64_t)i * 16, 8, 1);
			else
				fake_alloc2(&f, 1, 0x100000 + (uint64_t)i * 16, 8, 1);
			fake_free(&f, 1, 0x100000 + (uint64_t)i * 16, 0);
		}
		heap_session_poll(s, mono());
		assert_true(f.ctl[1]->tail == f.ctl[1]->head);
	}
	heap_session_finish(s, mono());
	heap_agg_emit(heap_session_agg(s), 1000000);
	assert_true(total(&p, HEAP_V_ALLOC_COUNT) == 3 + 20000);
	assert_true(total(&p, HEAP_V_TEMP_COUNT) == 1);
	assert_true(total(&p, HEAP_V_LEAKED_COUNT) == 2);
	assert_true(total(&p, HEAP_V_LEAKED_BYTES) == 350);
	assert_int_equal(p.nthreads, 2);
	assert_string_equal(kp_str_get(&p, p.threads[1].comm), "fake");
	/* the undefined stack id became "[unknown stack]" */
	int found = 0;
	for (uint32_t i = 1; i < p.nframes; i++)
		if (!strcmp(kp_str_get(&p, p.frames[i].name), "[unknown stack]"))
			found = 1;
	assert_true(found);
	/* the reader told the writer it is done, and freed the file */
	assert_int_equal(f.h->reader_done, 1);
	assert_int_equal(access(f.path, F_OK), -1);
	munmap(f.h, f.size);
	heap_session_cleanup(s);
	heap_session_free(s);
	assert_int_equal(access(dir, F_OK), -1);
	kp_profile_release(&p);
}

/* TEMPS records (summed temporary pairs) and the events a writer still held back when
 * its process ended (hp_pend in the slot's control page), read back post-mortem; a
 * held state torn by a writer that died while changing it is dropped. */
static void temps_session(int torn)
{
	char dir[300];
	struct kp_profile p;
	struct fake f;
	struct hp_pend q;
	uint64_t w[HP_PEND_WORDS], start = mono();
	unsigned n;
	snprintf(dir, sizeof(dir), "%s/temps%d", tmpdir, torn);
	assert_int_equal(mkdir(dir, 0400), 0);
	kp_profile_init(&p);
	struct heap_session *s = heap_session_new(dir, &p, 0, start);
	assert_non_null(s);
	fake_open(&f, dir, getpid(), start + 1000, 0);
	fake_stack(&f, 1, 0x401000);
	fake_stack(&f, 2, 0x402000);
	/* 5 pairs of stack 1 (sizes 100, 100, 100, 100, 200) and 3 of stack 2 (10 each) */
	memset(&q, 0, sizeof(q));
	q.win_pairs = 8;
	q.run[0] = (struct hp_pend_run){ 1 | 5ull << 32, 600, 200 };
	q.run[2] = (struct hp_pend_run){ 2 | 3ull << 32, 30, 10 };
	q.hist[hp_hist_bucket(100)] = 4;
	q.hist[hp_hist_bucket(200)] = 1;
	q.hist[hp_hist_bucket(10)] = 3;
	q.win_mask = 1ull << hp_hist_bucket(100) | 1ull << hp_hist_bucket(200) | 1ull << hp_hist_bucket(10);
	n = hp_pend_window(&q, w);
	assert_int_equal(n, 1 + 2 * 3 + 3);
	assert_int_equal(w[0] & HP_TYPE_MASK, HP_TEMPS);
	fake_put(&f, 1, w, n);
	/* a lone pair comes out as ALLOC2 + FREE */
	memset(&q, 0, sizeof(q));
	q.win_pairs = 1;
	q.win_addr = 0x9000;
	q.run[1] = (struct hp_pend_run){ 2 | 1ull << 32, 40, 40 };
	q.hist[hp_hist_bucket(40)] = 1;
	q.win_mask = 1ull << hp_hist_bucket(40);
	assert_int_equal(hp_pend_window(&q, w), 3);
	assert_true(w[0] == (0x9000ull << 4 | HP_ALLOC2) && w[1] == (40 | 2ull << 40) &&
		    w[2] == (0x9000ull << 4 | HP_FREE | HP_FREE_TEMP));
	heap_session_scan(s, mono());
	heap_session_poll(s, mono());
	/* held back at the end: that lone pair, then a block of 1000 bytes never freed */
	q.alloc_w0 = 0xa000ull << 4 | HP_ALLOC2;
	q.alloc_w1 = 1000 | 1ull << 40;
	q.seq = torn ? 7 : 8;
	f.ctl[1]->pend = q;
	heap_session_finish(s, mono());
	heap_agg_emit(heap_session_agg(s), 1000000);
	const double *h = heap_agg_histogram(heap_session_agg(s));
	if (torn) {
		assert_true(total(&p, HEAP_V_ALLOC_COUNT) == 8);
		assert_true(total(&p, HEAP_V_LEAKED_COUNT) == 0);
		assert_true(total(&p, HEAP_V_PEAK_BYTES) == 200);
	} else {
		assert_true(total(&p, HEAP_V_ALLOC_COUNT) == 10);
		assert_true(total(&p, HEAP_V_ALLOC_BYTES) == 600 + 30 + 40 + 1000);
		assert_true(total(&p, HEAP_V_TEMP_COUNT) == 9);
		assert_true(total(&p, HEAP_V_LEAKED_COUNT) == 1);
		assert_true(total(&p, HEAP_V_LEAKED_BYTES) == 1000);
		assert_true(total(&p, HEAP_V_PEAK_BYTES) == 1000);
		assert_true(h[hp_hist_bucket(40)] == 1 && h[hp_hist_bucket(1000)] == 1);
	}
	assert_true(h[hp_hist_bucket(100)] == 4 && h[hp_hist_bucket(200)] == 1 && h[hp_hist_bucket(10)] == 3);
	munmap(f.h, f.size);
	heap_session_cleanup(s);
	heap_session_free(s);
	kp_profile_release(&p);
}

static void test_session_temps_and_pending(void **state)
{
	temps_session(0);
	temps_session(1);
}

static void test_session_damaged_files(void **state)
{
	char dir[300], path[400];
	struct kp_profile p;
	struct fake f, g;
	struct heap_session_info info;
	uint64_t start = mono();
	snprintf(dir, sizeof(dir), "%s/s2", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	/* garbage with the right name, a short file, a header of a newer version */
	snprintf(path, sizeof(path), "%s/%d-1.kh", dir, (int)getpid());
	FILE *fp = fopen(path, "w");
	for (int i = 0; i < 100000; i++)
		fputc(i * 7, fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/%d-2.kh", dir, (int)getpid());
	fp = fopen(path, "w");
	fputs("KILNHEAP", fp);
	fclose(fp);
	fake_open(&g, dir, getpid(), start + 3, 0);
	g.h->version = HP_VERSION + 1;
	/* a good header whose rings hold nonsense */
	fake_open(&f, dir, getpid(), start + 10, 0);
	uint64_t bad_ctl[2] = { 0, 0 }; /* a control record of length 0 */
	fake_stack(&f, 1, 0x1234);
	fake_alloc(&f, 1, 0x10, 10, 1);
	uint64_t junk = 7; /* an unknown event type */
	fake_put(&f, 1, &junk, 1);
	kp_profile_init(&p);
	struct heap_session *s = heap_session_new(dir, &p, 0, start);
	heap_session_scan(s, mono());
	heap_session_poll(s, mono());
	fake_put(&f, 0, bad_ctl, 2);
	heap_session_scan(s, mono());
	heap_session_poll(s, mono());
	heap_session_get_info(s, &info);
	assert_int_equal(info.processes, 1);
	assert_true(info.bad >= 2);
	heap_session_finish(s, mono());
	heap_agg_emit(heap_session_agg(s), 10);
	assert_true(total(&p, HEAP_V_ALLOC_COUNT) == 1); /* what came before the damage */
	munmap(f.h, f.size);
	munmap(g.h, g.size);
	heap_session_cleanup(s);
	heap_session_free(s);
	kp_profile_release(&p);
}

static void test_session_fork_exec_and_threads(void **state)
{
	char dir[300];
	struct kp_profile p;
	struct fake parent, child, exec_img;
	uint64_t start = mono();
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0); /* a pid that is gone: its process ends at once */
	snprintf(dir, sizeof(dir), "%s/s3", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	kp_profile_init(&p);
	struct heap_session *s = heap_session_new(dir, &p, 0, start);
	fake_open(&parent, dir, getpid(), start + 10, HP_F_MT);
	parent.h->slot_hwm = 3;
	parent.h->slot_state[2] = HP_SLOT_ACTIVE;
	fake_stack(&parent, 1, 0x1000);
	/* two threads: ring 2 frees what ring 1 allocated; sequence numbers give the order */
	uint64_t a1[3] = { 0x40 << 4 | HP_ALLOC, 64, 1 | (uint64_t)1 << 32 };
	uint64_t f2[2] = { 0x40 << 4 | HP_FREE_SEQ, 2 };
	uint64_t a2[3] = { 0x40 << 4 | HP_ALLOC, 32, 1 | (uint64_t)3 << 32 };
	fake_put(&parent, 2, f2, 2);
	fake_put(&parent, 2, a2, 3);
	fake_put(&parent, 1, a1, 3);
	heap_session_scan(s, mono());
	heap_session_poll(s, mono());
	/* a fork child of the parent: inherits stack 1 */
	fake_open(&child, dir, dead, start + 20, HP_F_FORKED);
	child.h->ppid = getpid();
	child.h->parent_created_ns = start + 10;
	child.h->inherited_stacks = 2;
	child.h->inherited_control = parent.ctl[0]->head;
	fake_alloc(&child, 1, 0x80, 5, 1);
	heap_session_scan(s, mono());
	heap_session_poll(s, mono());
	/* the parent execs: a newer image with the same pid ends the older */
	fake_open(&exec_img, dir, getpid(), start + 30, 0);
	fake_stack(&exec_img, 1, 0x2000);
	fake_alloc(&exec_img, 1, 0x90, 9, 1);
	heap_session_scan(s, mono());
	heap_session_poll(s, mono());
	struct heap_session_info info;
	heap_session_get_info(s, &info);
	assert_int_equal(info.processes, 3);
	assert_int_equal(info.running, 1);
	heap_session_finish(s, mono());
	heap_agg_emit(heap_session_agg(s), 100);
	assert_true(total(&p, HEAP_V_ALLOC_COUNT) == 4);
	/* live at the end: 32 (parent, ring 2), 5 (child), 9 (exec'd image) */
	assert_true(total(&p, HEAP_V_LEAKED_BYTES) == 46);
	assert_true(total(&p, HEAP_V_LEAKED_COUNT) == 3);
	struct heap_proc_stats st;
	heap_agg_stats(heap_session_agg(s), &st);
	assert_int_equal(st.unknown_frees + st.missed_frees, 0);
	munmap(parent.h, parent.size);
	munmap(child.h, child.size);
	munmap(exec_img.h, exec_img.size);
	heap_session_cleanup(s);
	heap_session_free(s);
	kp_profile_release(&p);
}

/* ---- views ---- */
static void make_heap_profile(struct kp_profile *p)
{
	kp_profile_init(p);
	struct heap_agg *a = heap_agg_new(p, 0);
	kp_frame_t m = kp_frame_named(p, "main", 4, 0);
	kp_stack_t root = kp_stack_push(p, 0, m);
	kp_stack_t big = kp_stack_push(p, root, kp_frame_named(p, "make_big", 8, 0));
	kp_stack_t leak = kp_stack_push(p, root, kp_frame_named(p, "leaky", 5, 0));
	kp_stack_t tmp = kp_stack_push(p, root, kp_frame_named(p, "churn", 5, 0));
	struct heap_proc *pr = heap_agg_proc(a, kp_add_thread(p, 5, 5, "prog"), 5, 0, NULL, 0);
	heap_agg_define_stack(pr, 1, big);
	heap_agg_define_stack(pr, 2, leak);
	heap_agg_define_stack(pr, 3, tmp);
	for (int i = 0; i < 4; i++)
		heap_agg_alloc(pr, 1, 0x100 + (uint64_t)i * 16, 1000, 2, 1000000);
	heap_agg_emit(a, 10000000);
	heap_agg_alloc(pr, 1, 0x9000, 1 << 20, 1, 20000000);
	heap_agg_emit(a, 30000000);
	heap_agg_free_ev(pr, 1, 0x9000, 0, 40000000);
	for (int i = 0; i < 100; i++)
		heap_agg_temp_pair(pr, 64, 3, 50000000);
	heap_agg_proc_end(pr, 60000000);
	heap_agg_emit(a, 60000000);
	kp_meta_set(p, "kind", "heap");
	kp_meta_set(p, "command", "./prog <arg>");
	kp_meta_set(p, "heap.mode", "full");
	kp_meta_set(p, "heap.peak_bytes", "1052576");
	kp_meta_set(p, "heap.peak_time_ns", "20000000");
	kp_meta_set(p, "heap.duration_ns", "60000000");
	kp_meta_set(p, "heap.processes", "1");
	kp_meta_set(p, "heap.exit", "exit 0");
	kp_meta_set(p, "heap.size_histogram", "7:100 10:4 21:1");
	heap_agg_free(a);
}

static char *capture(int (*fn)(const struct kp_profile *, const void *, FILE *), const struct kp_profile *p,
		     const void *o, int *rc)
{
	FILE *f = tmpfile();
	long len;
	char *buf;
	assert_non_null(f);
	*rc = fn(p, o, f);
	fflush(f);
	len = ftell(f);
	buf = xmalloc((size_t)len + 1);
	rewind(f);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static int report_fn(const struct kp_profile *p, const void *o, FILE *f)
{
	return heap_report_print(p, o, f);
}

static int chart_fn(const struct kp_profile *p, const void *o, FILE *f)
{
	return heap_chart_svg(p, o, f);
}

static int hist_fn(const struct kp_profile *p, const void *o, FILE *f)
{
	return heap_histogram_print(p, o != NULL, f);
}

static void test_report_text_and_json(void **state)
{
	struct kp_profile p;
	struct heap_report_opts o;
	int rc;
	make_heap_profile(&p);
	memset(&o, 0, sizeof(o));
	char *out = capture(report_fn, &p, &o, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "allocations   105 (1.01 MiB)"));
	assert_non_null(strstr(out, "temporary     100 (95.2% of allocations)"));
	assert_non_null(strstr(out, "peak heap     1.00 MiB at 0.020 s"));
	assert_non_null(strstr(out, "leaked        3.91 KiB in 4 blocks"));
	assert_non_null(strstr(out, "make_big < main"));
	/* each table's first row */
	assert_true(strstr(out, "PEAK:") < strstr(out, "make_big"));
	char *leaks = strstr(out, "LEAKS:");
	assert_non_null(leaks);
	assert_true(strstr(leaks, "leaky") < strstr(leaks, "MOST CALLS:"));
	free(out);
	/* --value and --top */
	o.value = "alloc_count";
	o.top = 1;
	out = capture(report_fn, &p, &o, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "alloc_count: by call stack (105)"));
	assert_non_null(strstr(out, "churn < main"));
	assert_non_null(strstr(out, "... 2 more stacks"));
	free(out);
	o.value = "nope";
	out = capture(report_fn, &p, &o, &rc);
	assert_int_equal(rc, -1);
	free(out);
	/* JSON parses and says the same */
	memset(&o, 0, sizeof(o));
	o.json = 1;
	out = capture(report_fn, &p, &o, &rc);
	assert_int_equal(rc, 0);
	json_error_t err;
	json_t *j = json_loads(out, 0, &err);
	assert_non_null(j);
	json_t *sum = json_object_get(j, "summary");
	assert_true(json_number_value(json_object_get(sum, "allocations")) == 105);
	assert_true(json_number_value(json_object_get(sum, "leaked_bytes")) == 4000);
	assert_string_equal(json_string_value(json_object_get(sum, "command")), "./prog <arg>");
	json_t *peak0 = json_array_get(json_object_get(j, "peak"), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(peak0, "stack"), 0), "name")),
			    "make_big");
	assert_int_equal(json_array_size(json_object_get(j, "temporary")), 1);
	json_decref(j);
	free(out);
	/* a profile of another kind is left to the generic report */
	kp_meta_set(&p, "kind", "cpu");
	out = capture(report_fn, &p, &o, &rc);
	assert_int_equal(rc, KILN_HEAP_REPORT_UNHANDLED);
	free(out);
	kp_profile_release(&p);
}

static void test_chart_and_histogram(void **state)
{
	struct kp_profile p;
	struct heap_chart_opts co;
	int rc;
	make_heap_profile(&p);
	memset(&co, 0, sizeof(co));
	char *svg = capture(chart_fn, &p, &co, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(svg, "<svg"));
	assert_non_null(strstr(svg, "</svg>"));
	assert_non_null(strstr(svg, "make_big"));
	assert_non_null(strstr(svg, "./prog &lt;arg&gt;")); /* escaped title */
	assert_non_null(strstr(svg, "peak 1.00 MiB at 0.020 s"));
	free(svg);
	co.top = 1;
	svg = capture(chart_fn, &p, &co, &rc);
	assert_non_null(strstr(svg, "other"));
	free(svg);
	char *h = capture(hist_fn, &p, NULL, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(h, "allocation sizes (105 allocations)"));
	assert_non_null(strstr(h, "64 B .. <128 B"));
	assert_non_null(strstr(h, "1.00 MiB .. <2.00 MiB"));
	free(h);
	h = capture(hist_fn, &p, (void *)1, &rc);
	json_error_t err;
	json_t *j = json_loads(h, 0, &err);
	assert_non_null(j);
	assert_true(json_number_value(json_object_get(j, "total")) == 105);
	json_decref(j);
	free(h);
	kp_meta_set(&p, "heap.size_histogram", "7:x");
	h = capture(hist_fn, &p, NULL, &rc);
	assert_int_equal(rc, -1);
	free(h);
	kp_profile_release(&p);
	/* no histogram at all */
	kp_profile_init(&p);
	h = capture(hist_fn, &p, NULL, &rc);
	assert_int_equal(rc, 1);
	free(h);
	kp_profile_release(&p);
}

static void test_formatting(void **state)
{
	char b[64];
	heap_fmt_bytes(0, b, sizeof(b));
	assert_string_equal(b, "0 B");
	heap_fmt_bytes(1023, b, sizeof(b));
	assert_string_equal(b, "1023 B");
	heap_fmt_bytes(1536, b, sizeof(b));
	assert_string_equal(b, "1.50 KiB");
	heap_fmt_bytes(8388608 + 10000, b, sizeof(b));
	assert_string_equal(b, "8.01 MiB");
	heap_fmt_bytes(300.0 * 1024 * 1024 * 1024, b, sizeof(b));
	assert_string_equal(b, "300 GiB");
	heap_fmt_count(0, b, sizeof(b));
	assert_string_equal(b, "0");
	heap_fmt_count(1234567.4, b, sizeof(b));
	assert_string_equal(b, "1,234,567");
	heap_fmt_count(-1000, b, sizeof(b));
	assert_string_equal(b, "-1,000");
	heap_fmt_count(999, b, sizeof(b));
	assert_string_equal(b, "999");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agg_basic_values),
		cmocka_unit_test(test_agg_matches_model),
		cmocka_unit_test(test_agg_cross_ring_order),
		cmocka_unit_test(test_agg_sampling_weights),
		cmocka_unit_test(test_agg_session_peak),
		cmocka_unit_test(test_agg_unnamed_stand_in),
		cmocka_unit_test(test_suppress_match_and_parse),
		cmocka_unit_test(test_suppress_deep_stack),
		cmocka_unit_test(test_agg_fork_inherits_stacks),
		cmocka_unit_test(test_agg_memory_bounded),
		cmocka_unit_test(test_session_reads_fake_files),
		cmocka_unit_test(test_session_temps_and_pending),
		cmocka_unit_test(test_session_damaged_files),
		cmocka_unit_test(test_session_fork_exec_and_threads),
		cmocka_unit_test(test_report_text_and_json),
		cmocka_unit_test(test_chart_and_histogram),
		cmocka_unit_test(test_formatting),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
