/* test_heap_py.c: Python frames of heap stacks: line numbers from CPython 3.11 location
 * tables (fixtures made by CPython 3.11 itself), the merge of Python frames into native
 * stacks, and HP_C_PYCODE / HP_C_PYSTACK records read by a session from a hand-made
 * session file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "heap/heap_agg.h"
#include "heap/heap_proto.h"
#include "heap/heap_py.h"
#include "heap/heap_session.h"
#include "profile/profile.h"
#include "render/flame.h"
#include "report/report.h"
#include "unit.h"

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;
	for (; s[0] && s[1]; s += 2) {
		unsigned v;
		sscanf(s, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* CPython 3.11.7, for:
 *   1 def f(a, b):
 *   2     x = [a] * 3
 *   3     if a > b:
 *   4         y = {
 *   5             "k": a,
 *   6         }
 *   7         return y
 *   8     for i in range(b):
 *   9         x.append(i *
 *  10                  2)
 *  11     return x
 * f.__code__.co_linetable.hex(), and co_lines() as (start, end, line) in code units */
static const char f_linetable[] =
	"8000d8090a8803886189078041d80708883182758075e00c0f9011f003020d0a8801f0060010118808dd0d12903189588c58f00"
	"0020514f0000205148801d808098f088a089011d81112f103011213f100010914f400010914f000010914f000010914e00b0c8048";
static const int f_lines[][3] = {
	{ 0, 1, 1 },   { 1, 6, 2 },   { 6, 7, 2 },   { 7, 13, 3 },  { 13, 15, 5 }, { 15, 17, 4 },
	{ 17, 19, 7 }, { 19, 36, 8 }, { 36, 49, 9 }, { 49, 50, 10 }, { 50, 61, 9 }, { 61, 63, 11 },
};

static void test_line_numbers(void **state)
{
	uint8_t lt[256];
	size_t n = unhex(f_linetable, lt);
	(void)state;
	for (size_t k = 0; k < sizeof(f_lines) / sizeof(f_lines[0]); k++)
		for (int i = f_lines[k][0]; i < f_lines[k][1]; i++)
			assert_int_equal(heap_py_line(lt, n, 1, i), f_lines[k][2]);
	assert_int_equal(heap_py_line(lt, n, 1, -1), 1);  /* not started: the first line */
	assert_int_equal(heap_py_line(lt, n, 1, 63), 0);  /* past the table */
	assert_int_equal(heap_py_line(lt, n, 40, 36), 48); /* lines count from co_firstlineno */
	assert_int_equal(heap_py_line(NULL, 0, 7, 3), 0);
	/* the decoded table gives the same lines */
	{
		struct heap_py_range *r;
		size_t nr = heap_py_ranges(lt, n, 1, &r);
		assert_true(nr > 0 && nr <= 12);
		for (int i = -1; i < 70; i++)
			assert_int_equal(heap_py_range_line(r, nr, 1, i), heap_py_line(lt, n, 1, i));
		free(r);
		assert_int_equal(heap_py_ranges(NULL, 0, 1, &r), 0);
		assert_int_equal(heap_py_range_line(NULL, 0, 5, 2), 0);
		assert_int_equal(heap_py_range_line(NULL, 0, 5, -1), 5);
	}
	/* a "no location" entry (code 15) and a long-form entry going backwards */
	{
		const uint8_t t[] = { 0x80 | 15 << 3 | 1, 0x80 | 14 << 3 | 0, 3, 0, 1, 1, 0x80 | 13 << 3 | 0, 5 };
		assert_int_equal(heap_py_line(t, sizeof(t), 10, 0), 0);
		assert_int_equal(heap_py_line(t, sizeof(t), 10, 1), 0);
		assert_int_equal(heap_py_line(t, sizeof(t), 10, 2), 9);  /* svarint 3: -1 */
		assert_int_equal(heap_py_line(t, sizeof(t), 10, 3), 7);  /* svarint 5: -2 */
	}
	/* damaged tables end without reading past their end */
	{
		const uint8_t t[] = { 0x80 | 14 << 3, 0x7f };
		assert_int_equal(heap_py_line(t, sizeof(t), 10, 5), 0);
	}
}

static void test_merge(void **state)
{
	int32_t out[32];
	size_t k;
	(void)state;
	/* root first: _start, main, eval(outer), PyObject_Call (interp), eval(inner), list_append
	 * (interp); Python frames innermost first: g (in the inner loop, is_entry), f, <module>
	 * (is_entry) */
	const struct heap_py_nat nat[] = { { 0, 0, 1 }, { 0, 1, 0 }, { 1, 1, 0 }, { 0, 1, 0 }, { 1, 1, 0 }, { 0, 1, 0 } };
	const uint8_t entry[] = { 1, 0, 1 };
	k = heap_py_merge(nat, 6, entry, 3, 1, out);
	assert_int_equal(k, 3);
	assert_int_equal(out[0], -3); /* <module> */
	assert_int_equal(out[1], -2); /* f */
	assert_int_equal(out[2], -1); /* g */
	k = heap_py_merge(nat, 6, entry, 3, 0, out);
	{
		const int32_t want[] = { 0, 1, 2, -3, -2, 3, 4, -1, 5 };
		assert_int_equal(k, 9);
		assert_memory_equal(out, want, sizeof(want));
	}
	/* a program embedding Python: its own frames rootward of Python stay, the system
	 * library's and the interpreter's go */
	{
		const struct heap_py_nat emb[] = { { 0, 0, 1 }, { 0, 0, 0 }, { 0, 1, 0 }, { 1, 1, 0 }, { 0, 0, 1 } };
		const uint8_t e1[] = { 0, 1 };
		const int32_t want[] = { 1, -2, -1, 4 };
		k = heap_py_merge(emb, 5, e1, 2, 1, out);
		assert_int_equal(k, 4);
		assert_memory_equal(out, want, sizeof(want));
	}
	/* a native stack cut before the outer loop: the outer segment goes to the root */
	{
		const struct heap_py_nat cut[] = { { 0, 1, 0 }, { 1, 1, 0 }, { 0, 0, 0 } };
		const int32_t want[] = { -3, -2, -1, 2 };
		k = heap_py_merge(cut, 3, entry, 3, 1, out);
		assert_int_equal(k, 4);
		assert_memory_equal(out, want, sizeof(want));
	}
	/* no loop found at all: Python frames at the root, the native frames kept */
	{
		const struct heap_py_nat none[] = { { 0, 0, 0 }, { 0, 0, 0 } };
		const int32_t want[] = { -3, -2, -1, 0, 1 };
		k = heap_py_merge(none, 2, entry, 3, 1, out);
		assert_int_equal(k, 5);
		assert_memory_equal(out, want, sizeof(want));
	}
	/* no Python frames: the native stack as it is */
	k = heap_py_merge(nat, 6, NULL, 0, 1, out);
	assert_int_equal(k, 6);
	/* more loops than segments (a C thread entering Python later): extra loops stay */
	{
		const uint8_t one[] = { 1 };
		const int32_t want[] = { -1 };
		k = heap_py_merge(nat, 6, one, 1, 1, out);
		assert_int_equal(k, 1);
		assert_memory_equal(out, want, sizeof(want));
	}
}

/* ---- the records, through a session ---- */
static uint64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct fake {
	char path[512];
	struct hp_header *h;
	size_t size;
	uint64_t *ring[2];
	struct hp_slot_ctl *ctl[2];
	uint64_t mask[2];
};

static void fake_open(struct fake *f, const char *dir, uint64_t created)
{
	struct hp_header proto;
	memset(&proto, 0, sizeof(proto));
	proto.max_slots = 2;
	proto.ring_bytes = 64 * 1024;
	f->size = hp_file_size(&proto);
	snprintf(f->path, sizeof(f->path), "%s/%d-%llu.kh", dir, (int)getpid(), (unsigned long long)created);
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
	f->h->pid = getpid();
	f->h->ppid = 1;
	f->h->created_ns = created;
	f->h->ring_bytes = proto.ring_bytes;
	f->h->max_slots = 2;
	snprintf(f->h->comm, sizeof(f->h->comm), "python3");
	f->h->slot_hwm = 2;
	f->h->slot_state[0] = HP_SLOT_ACTIVE;
	f->h->slot_state[1] = HP_SLOT_ACTIVE;
	for (uint32_t i = 0; i < 2; i++) {
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

static void fake_pycode(struct fake *f, uint64_t addr, int first, const char *q, const char *file,
			const uint8_t *lt, size_t nl)
{
	uint64_t w[64];
	size_t nq = strlen(q), nf = strlen(file), n;
	memset(w, 0, sizeof(w));
	memcpy((char *)&w[6], q, nq);
	memcpy((char *)&w[6] + nq, file, nf);
	if (nl)
		memcpy((char *)&w[6] + nq + nf, lt, nl);
	n = 6 + (nq + nf + nl + 7) / 8;
	w[0] = HP_C_PYCODE | n << 8;
	w[1] = addr;
	w[2] = (uint32_t)first;
	w[3] = nq;
	w[4] = nf;
	w[5] = nl;
	fake_put(f, 0, w, n);
}

static const struct kp_frame *leaf_of(const struct kp_profile *p, kp_stack_t st)
{
	return &p->frames[p->stacks[st].frame];
}

static void test_records(void **state)
{
	char dir[300];
	struct kp_profile p;
	struct fake f;
	uint64_t start = mono();
	uint8_t lt[256];
	size_t nl = unhex(f_linetable, lt);
	(void)state;
	snprintf(dir, sizeof(dir), "%s/py", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	kp_profile_init(&p);
	struct heap_session *s = heap_session_new(dir, &p, 0, start);
	assert_non_null(s);
	fake_open(&f, dir, start + 1000);
	{
		uint64_t info[3] = { HP_C_PYINFO | 3u << 8, 0x030b07f0, 1 };
		fake_put(&f, 0, info, 3);
	}
	fake_pycode(&f, 0x7000, 1, "f", "/srv/app/app.py", lt, nl);
	fake_pycode(&f, 0x8000, 1, "<module>", "/srv/app/app.py", NULL, 0);
	/* stack 5: one native address (unknown here), then f at code unit 40 (line 9)
	 * (node 2) called by <module> (node 1); the native part has no evaluation loop, so
	 * the Python frames come first (root side) */
	{
		uint64_t n1[] = { HP_C_PYFRAME | 5u << 8, 1, 0, 0x8000, 3 | 1ull << 32 | 0x7ull << 40 }; /* tag: ignored */
		uint64_t n2[] = { HP_C_PYFRAME | 5u << 8, 2, 1, 0x7000, 40 | 0x5eedull << 33 };
		uint64_t w[] = { HP_C_PYSTACK | 4u << 8, 5, 1 | 2ull << 32, 0x1234 };
		fake_put(&f, 0, n1, 5);
		fake_put(&f, 0, n2, 5);
		fake_put(&f, 0, w, 4);
	}
	/* stack 6: the same Python frames over another native stack (two addresses) */
	{
		uint64_t w[] = { HP_C_PYSTACK | 5u << 8, 6, 2 | 2ull << 32, 0x4444, 0x4445 };
		fake_put(&f, 0, w, 5);
	}
	{
		uint64_t a[3] = { 0x5000 << 4 | HP_ALLOC, 4096, 5 };
		fake_put(&f, 1, a, 3);
		uint64_t b[3] = { 0x6000 << 4 | HP_ALLOC, 777, 6 };
		fake_put(&f, 1, b, 3);
	}
	heap_session_scan(s, mono());
	heap_session_poll(s, mono());
	heap_session_finish(s, mono());
	heap_agg_emit(heap_session_agg(s), 1000000);
	{
		int found = 0, found_ref = 0;
		for (size_t i = 0; i < p.nsamples; i++) {
			kp_frame_t fr[8];
			uint32_t d = kp_stack_frames(&p, p.sample_stack[i], fr, 8);
			if (d < 3 || strcmp(kp_str_get(&p, p.frames[fr[0]].name), "<module> (app.py:1)"))
				continue;
			const struct kp_frame *m = &p.frames[fr[0]], *fn = &p.frames[fr[1]];
			assert_string_equal(kp_str_get(&p, fn->name), "f (app.py:1)");
			assert_string_equal(kp_str_get(&p, fn->module), "[python]");
			assert_string_equal(kp_str_get(&p, fn->file), "/srv/app/app.py");
			assert_int_equal(fn->line, 9);
			assert_true(fn->flags & KP_FRAME_PY);
			assert_int_equal(m->line, 0); /* no line table sent: line unknown */
			(void)leaf_of;
			/* the 777-byte block is stack 6's: the same Python frames, 2 native ones */
			if (kp_sample_value(&p, i, (uint32_t)kp_find_value_type(&p, "alloc_bytes")) == 777) {
				assert_int_equal(d, 4);
				found_ref = 1;
			} else {
				assert_int_equal(d, 3);
				found = 1;
			}
		}
		assert_true(found);
		assert_true(found_ref);
	}
	assert_string_equal(kp_meta_get(&p, "heap.python"), "3.11.7");
	assert_string_equal(kp_meta_get(&p, "heap.python_frames"), "yes");
	munmap(f.h, f.size);
	heap_session_cleanup(s);
	heap_session_free(s);
	kp_profile_release(&p);
}

/* A Python stack record claiming more native frames than it holds, one naming a frame
 * node never sent, and a node whose caller was never sent mark the file damaged
 * instead of reading past the record or inventing frames. */
static void test_damaged_record(void **state)
{
	/* each case: node 1 (outermost), then one bad record */
	static const uint64_t bad[3][5] = {
		{ HP_C_PYSTACK | 5u << 8, 5, 9 | 1ull << 32, 0x7000, 1 }, /* 9 native frames in 2 words */
		{ HP_C_PYSTACK | 4u << 8, 6, 1 | 99ull << 32, 0x4444 },    /* node 99 never sent */
		{ HP_C_PYFRAME | 5u << 8, 3, 77, 0x7000, 1 },              /* its caller 77 never sent */
	};
	static const unsigned words[3] = { 5, 4, 5 };
	(void)state;
	for (int c = 0; c < 3; c++) {
		char dir[300];
		struct kp_profile p;
		struct fake f;
		struct heap_session_info info;
		uint64_t start = mono();
		uint64_t n1[] = { HP_C_PYFRAME | 5u << 8, 1, 0, 0x7000, 1 };
		snprintf(dir, sizeof(dir), "%s/bad%d", tmpdir, c);
		assert_int_equal(mkdir(dir, 0700), 0);
		kp_profile_init(&p);
		struct heap_session *s = heap_session_new(dir, &p, 0, start);
		fake_open(&f, dir, start + 1000);
		fake_put(&f, 0, n1, 5);
		fake_put(&f, 0, bad[c], words[c]);
		heap_session_scan(s, mono());
		heap_session_poll(s, mono());
		heap_session_finish(s, mono());
		heap_session_get_info(s, &info);
		assert_int_equal(info.bad, 1);
		munmap(f.h, f.size);
		heap_session_cleanup(s);
		heap_session_free(s);
		kp_profile_release(&p);
	}
}

/* A CPU profile with Python frames (as py-cpu's record writes them): kiln report's
 * JSON flags them, and one function is one row whatever its lines. */
static void test_report_python_frames(void **state)
{
	struct kp_profile p;
	struct kr_opts o;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	double one[1] = { 1 };
	struct kp_frame fr;
	kp_frame_t m, a1, a2;
	(void)state;
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	memset(&fr, 0, sizeof(fr));
	fr.name = kp_strz(&p, "main");
	fr.module = kp_strz(&p, "/usr/bin/python3.11");
	m = kp_frame(&p, &fr);
	fr.name = kp_strz(&p, "Worker.run (app.py:12)");
	fr.module = kp_strz(&p, "[python]");
	fr.file = kp_strz(&p, "/srv/app.py");
	fr.flags = KP_FRAME_PY;
	fr.line = 14;
	a1 = kp_frame(&p, &fr);
	fr.line = 15;
	a2 = kp_frame(&p, &fr);
	kp_add_sample(&p, kp_stack_push(&p, kp_stack_push(&p, 0, m), a1), 0, 0, one);
	kp_add_sample(&p, kp_stack_push(&p, kp_stack_push(&p, 0, m), a2), 0, 0, one);
	memset(&o, 0, sizeof(o));
	f = open_memstream(&buf, &len);
	assert_int_equal(kr_print_json(&p, &o, 0, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "{\"name\":\"Worker.run (app.py:12)\",\"module\":\"[python]\",\"self\":2,"));
	assert_non_null(strstr(buf, "\"jit\":false,\"python\":true}"));
	assert_non_null(strstr(buf, "\"name\":\"main\""));
	free(buf);
	kp_profile_release(&p);
}

static void test_python_names(void **state)
{
	static const char *const yes[] = { "f (app.py:1)", "Worker.run (/srv/a b/app.py:120)",
					   "<module> (<frozen importlib._bootstrap>:1002)", "g (<string>:1)" };
	static const char *const no[] = { "f (app.c:1)", "f(app.py:1)", "f (app.py:)", "f (app.py:1", "(app.py:1)",
					  "main", "x (notes.txt:4)", "" };
	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(kf_is_python_name(yes[i], strlen(yes[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(kf_is_python_name(no[i], strlen(no[i])));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_numbers),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_damaged_record),
		cmocka_unit_test(test_report_python_frames),
		cmocka_unit_test(test_python_names),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
