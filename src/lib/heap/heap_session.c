/* heap_session.c: reading the preload library's session files (see heap_session.h and
 * heap_proto.h). */
#include "heap/heap_session.h"
#include "heap/heap_proto.h"
#include "heap/heap_sym.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/u64map.h"
#include "util/xalloc.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct hs_ring {
	struct hp_slot_ctl *ctl;
	uint64_t *data;
	uint64_t mask;
	uint64_t tail;
	uint64_t epoch; /* epoch of the records at tail */
	uint32_t seq;   /* sequence number of the last event (multithreaded processes) */
	uint64_t snap;  /* the head seen before this round's check of HP_F_MT */
};

struct hs_proc {
	char *path;
	int fd;
	struct hp_header *hdr;
	int32_t pid;
	uint64_t created;
	uint32_t max_slots;
	uint64_t ring_bytes;
	struct hs_ring control;
	struct hs_ring *rings;  /* [max_slots], rings[0] unused */
	uint32_t nrings;        /* rings mapped up to here */
	uint64_t cur_epoch;
	uint64_t start_t;       /* ns since the session start */
	struct heap_proc *agg;
	int pidfd;
	uint64_t exit_ns;       /* from the header, once exit() ran */
	int finished;
	int corrupt;
	struct hs_proc *parent;
	/* the tree of Python frames (HP_C_PYFRAME): node id -> index in pyn */
	struct u64map pyid;
	struct hs_pynode {
		uint64_t code, w;
		uint32_t parent; /* index in pyn + 1; 0: the outermost frame */
		uint32_t depth;
	} *pyn;
	size_t npyn, pyn_alloc;
};

struct heap_session {
	char *dir;
	struct kp_profile *p;
	struct heap_agg *agg;
	struct heap_sym *sym;
	uint64_t start_ns;
	uint64_t sample_bytes;
	uint64_t epoch, prev_epoch;
	uint64_t last_scan;
	heap_progress_fn progress;
	void *progress_ctx;
	struct hs_proc **procs;
	size_t nprocs, procs_alloc;
	unsigned bad;
	unsigned long long events;
	uint64_t *tmp;
	size_t tmp_alloc;
	struct merge_cand *cands;
	size_t cands_alloc;
	kp_stack_t unknown_stack;
	/* the heartbeat thread: procs (their hdr) are read under beat_lock */
	pthread_t beat_thread;
	pthread_mutex_t beat_lock;
	pthread_cond_t beat_cond;
	int beat_running, beat_stop;
};

/* Moves every live header's heartbeat, so that the library knows kiln is alive even
 * while the main thread spends seconds symbolizing. */
static void *heartbeat_main(void *arg)
{
	struct heap_session *s = arg;
	uint64_t beat = 0;
	pthread_mutex_lock(&s->beat_lock);
	while (!s->beat_stop) {
		struct timespec ts;
		beat++;
		for (size_t i = 0; i < s->nprocs; i++)
			if (s->procs[i]->hdr)
				__atomic_store_n(&s->procs[i]->hdr->heartbeat, beat, __ATOMIC_RELEASE);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)HP_HEARTBEAT_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->beat_cond, &s->beat_lock, &ts);
	}
	pthread_mutex_unlock(&s->beat_lock);
	return NULL;
}

struct heap_session *heap_session_new(const char *dir, struct kp_profile *p, uint64_t sample_bytes,
				      uint64_t start_ns)
{
	struct heap_session *s;
	struct heap_agg *a = heap_agg_new(p, sample_bytes);
	if (!a)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->dir = xstrdup(dir);
	s->p = p;
	s->agg = a;
	s->sym = heap_sym_new(p);
	s->start_ns = start_ns;
	s->sample_bytes = sample_bytes;
	pthread_mutex_init(&s->beat_lock, NULL);
	pthread_cond_init(&s->beat_cond, NULL);
	{
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old); /* signals stay with the main thread */
		s->beat_running = pthread_create(&s->beat_thread, NULL, heartbeat_main, s) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	return s;
}

struct heap_agg *heap_session_agg(struct heap_session *s)
{
	return s->agg;
}

static uint64_t rel_ns(const struct heap_session *s, uint64_t mono)
{
	return mono > s->start_ns ? mono - s->start_ns : 0;
}

/* ---- mapping ---- */
static int map_ring(struct hs_proc *pr, uint32_t slot, struct hs_ring *r)
{
	uint64_t bytes = hp_slot_ring_bytes(pr->hdr, slot);
	void *m = mmap(NULL, HP_SLOT_CTL + bytes, PROT_READ | PROT_WRITE, MAP_SHARED, pr->fd,
		       (off_t)hp_slot_offset(pr->hdr, slot));
	if (m == MAP_FAILED)
		return -1;
	r->ctl = m;
	r->data = (uint64_t *)((char *)m + HP_SLOT_CTL);
	r->mask = bytes / 8 - 1;
	r->tail = __atomic_load_n(&r->ctl->tail, __ATOMIC_ACQUIRE);
	r->epoch = 0;
	return 0;
}

static void unmap_proc(struct hs_proc *pr)
{
	for (uint32_t i = 1; i < pr->nrings; i++)
		if (pr->rings[i].ctl)
			munmap(pr->rings[i].ctl, HP_SLOT_CTL + pr->ring_bytes);
	if (pr->control.ctl)
		munmap(pr->control.ctl, HP_SLOT_CTL + HP_CONTROL_RING_BYTES);
	if (pr->hdr)
		munmap(pr->hdr, HP_HEADER_SIZE);
	if (pr->fd >= 0)
		close(pr->fd);
	if (pr->pidfd >= 0)
		close(pr->pidfd);
	free(pr->rings);
	pr->rings = NULL;
	pr->nrings = 0;
	u64map_release(&pr->pyid);
	free(pr->pyn);
	pr->pyn = NULL;
	pr->npyn = pr->pyn_alloc = 0;
	pr->control.ctl = NULL;
	pr->hdr = NULL;
	pr->fd = -1;
	pr->pidfd = -1;
}

static struct hs_proc *find_proc(struct heap_session *s, int32_t pid, uint64_t created)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i]->pid == pid && s->procs[i]->created == created)
			return s->procs[i];
	return NULL;
}

void heap_session_py_internals(struct heap_session *s, int keep)
{
	heap_sym_py_internals(s->sym, keep);
}

/* ---- control records ---- */
/* Adds node id of the tree of Python frames (parent 0: the outermost frame): 0, or -1
 * for a record no writer makes (an id seen before, a caller never sent, a path deeper
 * than a stack's Python frames go). A node's caller comes before it, so a path to the
 * root ends. */
static int add_pynode(struct hs_proc *pr, uint64_t id, uint64_t parent, uint64_t code, uint64_t w)
{
	uint32_t at = 0, depth = 1, *slot;
	int found;
	if (!id || id > UINT32_MAX || parent > UINT32_MAX)
		return -1;
	if (parent) {
		if (!u64map_get(&pr->pyid, parent, &at))
			return -1;
		depth = pr->pyn[at].depth + 1;
		at++;
	}
	if (depth > HP_PY_MAX_DEPTH)
		return -1;
	slot = u64map_slot(&pr->pyid, id, &found);
	if (found)
		return -1;
	*slot = (uint32_t)pr->npyn;
	ALLOC_GROW(pr->pyn, pr->npyn + 1, pr->pyn_alloc);
	pr->pyn[pr->npyn].code = code;
	pr->pyn[pr->npyn].w = w;
	pr->pyn[pr->npyn].parent = at;
	pr->pyn[pr->npyn++].depth = depth;
	return 0;
}

/* The Python frames of node leaf, innermost first, as pairs (code, word) into py: how
 * many, or 0 when no node has that id. */
static size_t pynode_frames(const struct hs_proc *pr, uint64_t leaf, uint64_t py[2 * HP_PY_MAX_DEPTH])
{
	uint32_t at;
	size_t n = 0;
	if (!u64map_get(&pr->pyid, leaf, &at))
		return 0;
	for (uint32_t i = at + 1; i && n < HP_PY_MAX_DEPTH; i = pr->pyn[i - 1].parent) {
		py[2 * n] = pr->pyn[i - 1].code;
		py[2 * n + 1] = pr->pyn[i - 1].w;
		n++;
	}
	return n;
}

static void control_record(struct heap_session *s, struct hs_proc *pr, const uint64_t *w, size_t n)
{
	unsigned type = (unsigned)(w[0] & 0xff);
	if (type == HP_C_MODULE && n >= 7) {
		uint64_t bl = w[5], nl = w[6];
		char path[4200];
		if (bl > 64 || nl > 4096 || 7 + (bl + nl + 7) / 8 > n) {
			pr->corrupt = 1;
			return;
		}
		memcpy(path, (const char *)&w[7] + bl, nl);
		path[nl] = '\0';
		heap_sym_module(s->sym, pr->pid, w[1], w[2], w[3], path, (const unsigned char *)&w[7], bl,
				(int)w[4]);
	} else if (type == HP_C_STACK && n >= 3) {
		uint64_t id = w[1], depth = w[2];
		if (depth > HP_MAX_DEPTH || depth + 3 > n || id == 0 || id > UINT32_MAX) {
			pr->corrupt = 1;
			return;
		}
		heap_agg_pend_stack(pr->agg, (uint32_t)id);
		heap_sym_stack(s->sym, pr, (uint32_t)id, pr->pid, w + 3, depth);
	} else if (type == HP_C_PYFRAME && n >= 5) {
		if (add_pynode(pr, w[1], w[2], w[3], w[4]) < 0)
			pr->corrupt = 1;
	} else if (type == HP_C_PYSTACK && n >= 3) {
		uint64_t id = w[1], nd = w[2] & 0xffffffffu, py[2 * HP_PY_MAX_DEPTH];
		size_t np;
		if (nd > HP_MAX_DEPTH || 3 + nd > n || id == 0 || id > UINT32_MAX ||
		    !(np = pynode_frames(pr, w[2] >> 32, py))) {
			pr->corrupt = 1;
			return;
		}
		heap_agg_pend_stack(pr->agg, (uint32_t)id);
		heap_sym_pystack(s->sym, pr, (uint32_t)id, pr->pid, w + 3, nd, py, np);
	} else if (type == HP_C_PYCODE && n >= 6) {
		uint64_t nq = w[3], nf = w[4], nl = w[5];
		const char *b = (const char *)&w[6];
		if (nq > HP_PY_MAX_NAME || nf > HP_PY_MAX_FILE || nl > HP_PY_MAX_LINETABLE ||
		    6 + (nq + nf + nl + 7) / 8 > n) {
			pr->corrupt = 1;
			return;
		}
		heap_sym_pycode(s->sym, pr->pid, w[1], (int)(int32_t)(uint32_t)w[2], b, nq, b + nq, nf,
				(const uint8_t *)b + nq + nf, nl);
	} else if (type == HP_C_PYINFO && n >= 3) {
		char v[64];
		snprintf(v, sizeof(v), "%u.%u.%u", (unsigned)(w[1] >> 24 & 0xff), (unsigned)(w[1] >> 16 & 0xff),
			 (unsigned)(w[1] >> 8 & 0xff));
		kp_meta_set(s->p, "heap.python", v);
		if (!w[2])
			kp_meta_set(s->p, "heap.python_frames", "no");
		else if (w[2] == 2)
			kp_meta_set(s->p, "heap.python_frames", "off");
		else if (!kp_meta_get(s->p, "heap.python_frames"))
			kp_meta_set(s->p, "heap.python_frames", "yes");
		if (n >= 4 && w[3] && w[3] <= HP_PY_MAX_FILE && 4 + (w[3] + 7) / 8 <= n)
			heap_sym_pyinfo(s->sym, pr->pid, (const char *)&w[4], w[3]);
	}
	/* other types: from a newer library; skipped by their length */
}

/* Reads control records up to word count upto (UINT64_MAX: all that is there). */
static void drain_control(struct heap_session *s, struct hs_proc *pr, uint64_t upto)
{
	struct hs_ring *r = &pr->control;
	uint64_t head;
	if (!r->ctl || pr->corrupt)
		return;
	head = __atomic_load_n(&r->ctl->head, __ATOMIC_ACQUIRE);
	if (head > upto)
		head = upto;
	while (r->tail < head && !pr->corrupt) {
		uint64_t w0 = r->data[r->tail & r->mask];
		uint64_t n = (w0 >> 8) & 0xffffff;
		if (n == 0 || r->tail + n > head || n > r->mask + 1) {
			if (n == 0 || n > r->mask + 1)
				pr->corrupt = 1;
			break;
		}
		ALLOC_GROW(s->tmp, n, s->tmp_alloc);
		for (uint64_t i = 0; i < n; i++)
			s->tmp[i] = r->data[(r->tail + i) & r->mask];
		control_record(s, pr, s->tmp, n);
		r->tail += n;
	}
	__atomic_store_n(&r->ctl->tail, r->tail, __ATOMIC_RELEASE);
}

/* ---- events ---- */
static uint32_t check_stack(struct heap_session *s, struct hs_proc *pr, uint64_t id)
{
	if (id > UINT32_MAX)
		id = 0;
	if (heap_agg_has_stack(pr->agg, (uint32_t)id))
		return (uint32_t)id;
	drain_control(s, pr, UINT64_MAX); /* defined after we last looked */
	if (heap_agg_has_stack(pr->agg, (uint32_t)id))
		return (uint32_t)id;
	if (!s->unknown_stack) {
		kp_frame_t f = kp_frame_named(s->p, "[unknown stack]", 15, KP_FRAME_UNKNOWN);
		s->unknown_stack = kp_stack_push(s->p, 0, f);
	}
	heap_agg_define_stack(pr->agg, (uint32_t)id, s->unknown_stack);
	return (uint32_t)id;
}

static uint64_t epoch_time(const struct hs_proc *pr, uint64_t epoch)
{
	uint64_t t = epoch ? (epoch - 1) * 1000 : 0;
	return t > pr->start_t ? t : pr->start_t;
}

/* A TEMPS record at the ring's tail (len words, checked by the caller). */
static void temps_record(struct heap_session *s, struct hs_proc *pr, const struct hs_ring *r, uint64_t t)
{
	uint64_t w = r->data[r->tail & r->mask], at = r->tail + 1;
	unsigned nr = (unsigned)(w >> 8) & 0xff, nb = (unsigned)(w >> 16) & 0xff;
	for (unsigned i = 0; i < nr; i++, at += 3) {
		uint64_t ic = r->data[at & r->mask];
		heap_agg_temp_run(pr->agg, ic >> 32, r->data[(at + 1) & r->mask], r->data[(at + 2) & r->mask],
				  check_stack(s, pr, ic & 0xffffffffu), t);
	}
	for (unsigned i = 0; i < nb; i++, at++) {
		uint64_t hb = r->data[at & r->mask];
		heap_agg_hist_add(s->agg, (unsigned)(hb >> 56), hb & ((1ull << 56) - 1));
	}
}

static inline uint64_t temps_len(uint64_t w)
{
	return 1 + 3 * ((w >> 8) & 0xff) + ((w >> 16) & 0xff);
}

#define HS_PREFETCH 16 /* ring words: about eight events ahead */

/* Processes ring records up to a change of epoch; returns events processed. */
static unsigned long long drain_ring_segment(struct heap_session *s, struct hs_proc *pr, uint32_t slot,
					     struct hs_ring *r, uint64_t head)
{
	unsigned long long n = 0;
	uint64_t t = epoch_time(pr, r->epoch), last_id = 0, pf = r->tail;
	uint32_t last_st = 0;
	int last_ok = 0;
	while (r->tail < head) {
		uint64_t w = r->data[r->tail & r->mask];
		/* the live-block slots of the events a few ahead are loaded into the cache
		 * while this one is processed (pf: the first record not looked at yet) */
		if (pf < r->tail)
			pf = r->tail;
		while (pf < head && pf < r->tail + HS_PREFETCH) {
			uint64_t x = r->data[pf & r->mask];
			unsigned ty = (unsigned)(x & HP_TYPE_MASK);
			if (ty == HP_ALLOC || ty == HP_ALLOC2 || ty == HP_FREE || ty == HP_FREE_SEQ)
				heap_agg_prefetch(pr->agg, x >> 4);
			pf += ty == HP_ALLOC ? 3 : ty == HP_ALLOC2 || ty == HP_FREE_SEQ ? 2 : ty == HP_TEMPS ? temps_len(x) : 1;
		}
		switch (w & HP_TYPE_MASK) {
		case HP_EPOCH:
			if ((w >> 4) != r->epoch) {
				r->epoch = w >> 4;
				r->tail++;
				return n;
			}
			r->tail++;
			break;
		case HP_ALLOC:
		case HP_ALLOC2: {
			uint64_t size, id, next, len = (w & HP_TYPE_MASK) == HP_ALLOC ? 3 : 2;
			uint32_t st;
			if (r->tail + len > head)
				goto bad;
			size = r->data[(r->tail + 1) & r->mask];
			if (len == 3) {
				id = r->data[(r->tail + 2) & r->mask] & 0xffffffffu;
			} else {
				id = size >> 40;
				size &= (1ull << 40) - 1;
			}
			if (id != last_id || !last_ok) {
				st = check_stack(s, pr, id);
				last_id = id;
				last_st = st;
				last_ok = 1;
			}
			st = last_st;
			/* freed at once by this thread: the pair needs no live-block lookups */
			if (r->tail + len < head &&
			    (next = r->data[(r->tail + len) & r->mask]) == ((w & ~(uint64_t)HP_TYPE_MASK) | HP_FREE | HP_FREE_TEMP)) {
				heap_agg_temp_pair(pr->agg, size, st, t);
				r->tail += len + 1;
				n += 2;
				break;
			}
			heap_agg_alloc(pr->agg, slot, w >> 4, size, st, t);
			r->tail += len;
			n++;
			break;
		}
		case HP_FREE:
			heap_agg_free_ev(pr->agg, slot, w >> 4, (w & HP_FREE_TEMP) != 0, t);
			r->tail++;
			n++;
			break;
		case HP_TEMPS: {
			uint64_t len = temps_len(w);
			if (r->tail + len > head)
				goto bad;
			temps_record(s, pr, r, t);
			r->tail += len;
			n++;
			break;
		}
		case HP_FREE_SEQ:
			if (r->tail + 2 > head)
				goto bad;
			heap_agg_free_ev(pr->agg, slot, w >> 4, (w & HP_FREE_TEMP) != 0, t);
			r->tail += 2;
			n++;
			break;
		default:
			goto bad;
		}
	}
	return n;
bad:
	pr->corrupt = 1;
	r->tail = head;
	return n;
}

/* drain_ring_segment for a single-threaded process, whose events are processed
 * epoch by epoch: moving to the ring's epoch ends the one before. */
static unsigned long long drain_epoch_segment(struct heap_session *s, struct hs_proc *pr, uint32_t slot,
					      struct hs_ring *r, uint64_t head)
{
	if (r->epoch != pr->cur_epoch) {
		heap_agg_end_epoch(pr->agg);
		pr->cur_epoch = r->epoch;
	}
	return drain_ring_segment(s, pr, slot, r, head);
}

/* Skips EPOCH records at the ring's tail; returns 1 when an event follows below limit. */
static int ring_ready(struct hs_ring *r, uint64_t head, uint64_t limit)
{
	while (r->tail < head && (r->data[r->tail & r->mask] & HP_TYPE_MASK) == HP_EPOCH) {
		r->epoch = r->data[r->tail & r->mask] >> 4;
		r->tail++;
	}
	return r->tail < head && r->epoch < limit;
}

/* The sequence number of the event at the ring's tail (events written before the
 * process had a second thread have none: they follow the ring's previous one). */
static uint32_t ring_seq(const struct hs_ring *r, uint64_t head)
{
	uint64_t w = r->data[r->tail & r->mask];
	switch (w & HP_TYPE_MASK) {
	case HP_ALLOC:
		if (r->tail + 3 <= head)
			return (uint32_t)(r->data[(r->tail + 2) & r->mask] >> 32);
		break;
	case HP_FREE_SEQ:
		if (r->tail + 2 <= head)
			return (uint32_t)r->data[(r->tail + 1) & r->mask];
		break;
	}
	return r->seq;
}

struct merge_cand {
	struct hs_ring *r;
	uint32_t slot;
	uint32_t seq;
	uint64_t head;
};

/* A binary min-heap of rings by the sequence number of their next event (compared
 * with wrap-around), so that merging many threads costs O(log threads) per event. */
static inline int seq_before(const struct merge_cand *a, const struct merge_cand *b)
{
	return (int32_t)(a->seq - b->seq) < 0;
}

static void heap_down(struct merge_cand *c, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && seq_before(&c[l], &c[m]))
			m = l;
		if (l + 1 < n && seq_before(&c[l + 1], &c[m]))
			m = l + 1;
		if (m == i)
			return;
		struct merge_cand t = c[i];
		c[i] = c[m];
		c[m] = t;
		i = m;
	}
}

/* Multithreaded processes: every ring's events below limit, merged by sequence. */
static unsigned long long drain_merged(struct heap_session *s, struct hs_proc *pr, uint64_t limit)
{
	struct merge_cand *c;
	size_t nc = 0;
	unsigned long long n = 0;
	ALLOC_GROW(s->cands, pr->nrings, s->cands_alloc);
	c = s->cands;
	for (uint32_t i = 1; i < pr->nrings; i++) {
		struct hs_ring *r = &pr->rings[i];
		uint64_t head = __atomic_load_n(&r->ctl->head, __ATOMIC_ACQUIRE);
		if (!ring_ready(r, head, limit))
			continue;
		c[nc].r = r;
		c[nc].slot = i;
		c[nc].head = head;
		c[nc].seq = ring_seq(r, head);
		nc++;
	}
	for (size_t i = nc / 2; i-- > 0;)
		heap_down(c, nc, i);
	while (nc && !pr->corrupt) {
		struct merge_cand *b = &c[0];
		struct hs_ring *r = b->r;
		uint64_t w = r->data[r->tail & r->mask], t = epoch_time(pr, r->epoch);
		switch (w & HP_TYPE_MASK) {
		case HP_ALLOC:
			if (r->tail + 3 > b->head)
				goto bad;
			heap_agg_alloc(pr->agg, b->slot, w >> 4, r->data[(r->tail + 1) & r->mask],
				       check_stack(s, pr, r->data[(r->tail + 2) & r->mask] & 0xffffffffu), t);
			r->tail += 3;
			break;
		case HP_ALLOC2: {
			uint64_t sz;
			if (r->tail + 2 > b->head)
				goto bad;
			sz = r->data[(r->tail + 1) & r->mask];
			heap_agg_alloc(pr->agg, b->slot, w >> 4, sz & ((1ull << 40) - 1), check_stack(s, pr, sz >> 40), t);
			r->tail += 2;
			break;
		}
		case HP_FREE:
		case HP_FREE_SEQ: {
			unsigned len = (w & HP_TYPE_MASK) == HP_FREE ? 1 : 2;
			if (r->tail + len > b->head)
				goto bad;
			heap_agg_free_ev(pr->agg, b->slot, w >> 4, (w & HP_FREE_TEMP) != 0, t);
			r->tail += len;
			break;
		}
		case HP_TEMPS: {
			uint64_t len = temps_len(w);
			if (r->tail + len > b->head)
				goto bad;
			temps_record(s, pr, r, t);
			r->tail += len;
			break;
		}
		default:
			goto bad;
		}
		r->seq = b->seq;
		n++;
		if (ring_ready(r, b->head, limit)) {
			b->seq = ring_seq(r, b->head);
		} else {
			__atomic_store_n(&r->ctl->tail, r->tail, __ATOMIC_RELEASE);
			c[0] = c[--nc];
		}
		heap_down(c, nc, 0);
		continue;
bad:
		pr->corrupt = 1;
		r->tail = b->head;
		break;
	}
	for (size_t i = 0; i < nc; i++)
		__atomic_store_n(&c[i].r->ctl->tail, c[i].r->tail, __ATOMIC_RELEASE);
	heap_agg_end_epoch(pr->agg);
	return n;
}

static void map_new_rings(struct hs_proc *pr)
{
	uint32_t hwm = __atomic_load_n(&pr->hdr->slot_hwm, __ATOMIC_ACQUIRE);
	if (hwm > pr->max_slots)
		hwm = pr->max_slots;
	for (uint32_t i = pr->nrings ? pr->nrings : 1; i < hwm; i++) {
		if (map_ring(pr, i, &pr->rings[i]) < 0)
			break;
		pr->nrings = i + 1;
	}
}

/* Drains the event rings of pr, epoch by epoch, for epochs below limit. */
static unsigned long long drain_events(struct heap_session *s, struct hs_proc *pr, uint64_t limit)
{
	unsigned long long n = 0;
	if (pr->corrupt || !pr->hdr)
		return 0;
	map_new_rings(pr);
	/* The heads first, then the flag: a thread writes events with sequence numbers
	 * only after it saw the process become multithreaded, which the writer marks in
	 * the header before it tells the threads, so when the flag is still clear no
	 * event up to these heads has one (a free of a block allocated in another thread
	 * must not be taken ahead of that allocation, in a ring read alone). */
	for (uint32_t i = 1; i < pr->nrings; i++)
		pr->rings[i].snap = __atomic_load_n(&pr->rings[i].ctl->head, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&pr->hdr->flags, __ATOMIC_ACQUIRE) & HP_F_MT) {
		n = drain_merged(s, pr, limit);
		goto recycle;
	}
	for (;;) {
		struct hs_ring *best = NULL;
		uint32_t best_slot = 0;
		uint64_t best_head = 0;
		for (uint32_t i = 1; i < pr->nrings; i++) {
			struct hs_ring *r = &pr->rings[i];
			uint64_t head = r->snap;
			/* leading EPOCH records only move the ring's epoch */
			if (!ring_ready(r, head, limit))
				continue;
			if (!best || r->epoch < best->epoch) {
				best = r;
				best_slot = i;
				best_head = head;
			}
		}
		if (!best)
			break;
		n += drain_epoch_segment(s, pr, best_slot, best, best_head);
		__atomic_store_n(&best->ctl->tail, best->tail, __ATOMIC_RELEASE);
		if (pr->corrupt)
			break;
	}
recycle:
	/* slots whose thread exited and whose ring is empty can be reused */
	for (uint32_t i = 1; i < pr->nrings; i++) {
		struct hs_ring *r = &pr->rings[i];
		uint32_t expect = HP_SLOT_RETIRED;
		if (__atomic_load_n(&pr->hdr->slot_state[i], __ATOMIC_ACQUIRE) == HP_SLOT_RETIRED &&
		    r->tail == __atomic_load_n(&r->ctl->head, __ATOMIC_ACQUIRE))
			__atomic_compare_exchange_n(&pr->hdr->slot_state[i], &expect, HP_SLOT_FREE, 0,
						    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	}
	return n;
}

/* What the threads still held back when the process image ended (heap_proto.h,
 * "Pending events"): read under the writer's sequence count and processed like ring
 * records. A state torn by a writer killed while changing it is dropped. */
static void drain_pending(struct heap_session *s, struct hs_proc *pr)
{
	enum { FAKE_WORDS = 128 };
	_Static_assert(FAKE_WORDS >= HP_PEND_WORDS + 4, "pending records do not fit");
	if (pr->corrupt || !pr->hdr)
		return;
	for (uint32_t i = 1; i < pr->nrings; i++) {
		struct hs_ring *r = &pr->rings[i], fr;
		const struct hp_pend *src = &r->ctl->pend;
		struct hp_pend q;
		uint64_t buf[FAKE_WORDS], n = 0;
		int ok = 0;
		for (int k = 0; k < 1000 && !ok; k++) {
			uint64_t s1 = __atomic_load_n(&src->seq, __ATOMIC_ACQUIRE);
			if (s1 & 1) {
				if (k > 10)
					break; /* a writer that died while changing it */
				sched_yield();
				continue;
			}
			memcpy(&q, src, sizeof(q));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			ok = __atomic_load_n(&src->seq, __ATOMIC_RELAXED) == s1;
		}
		if (!ok || (!q.alloc_w0 && !q.win_pairs))
			continue;
		if (q.win_pairs) {
			buf[n++] = q.win_epoch << 4 | HP_EPOCH;
			n += hp_pend_window(&q, buf + n);
		}
		if (q.alloc_w0) {
			buf[n++] = q.alloc_epoch << 4 | HP_EPOCH;
			buf[n++] = q.alloc_w0;
			buf[n++] = q.alloc_w1;
		}
		fr = *r;
		fr.data = buf;
		fr.mask = FAKE_WORDS - 1;
		fr.tail = 0;
		while (!pr->corrupt && ring_ready(&fr, n, UINT64_MAX)) {
			s->events += drain_epoch_segment(s, pr, i, &fr, n);
		}
	}
}

static void end_proc(struct heap_session *s, struct hs_proc *pr, uint64_t now_ns)
{
	if (pr->finished)
		return;
	drain_control(s, pr, UINT64_MAX);
	s->events += drain_events(s, pr, UINT64_MAX);
	drain_control(s, pr, UINT64_MAX);
	drain_pending(s, pr);
	/* the end: when exit() ran, if it did (kiln may see the exit much later) */
	if (pr->hdr && (__atomic_load_n(&pr->hdr->flags, __ATOMIC_ACQUIRE) & HP_F_EXITING) && pr->hdr->exit_ns &&
	    pr->hdr->exit_ns < now_ns) {
		pr->exit_ns = pr->hdr->exit_ns;
		now_ns = pr->hdr->exit_ns;
	}
	heap_agg_proc_end(pr->agg, rel_ns(s, now_ns));
	if (pr->hdr)
		__atomic_store_n(&pr->hdr->reader_done, 1, __ATOMIC_RELEASE);
	pr->finished = 1;
	pthread_mutex_lock(&s->beat_lock);
	unmap_proc(pr);
	pthread_mutex_unlock(&s->beat_lock);
	/* the file is no longer needed: free its memory now */
	unlink(pr->path);
}

/* ---- discovery ---- */
static int pidfd_open_(int32_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

static int proc_exited(struct hs_proc *pr)
{
	if (pr->pidfd >= 0) {
		struct pollfd pfd = { pr->pidfd, POLLIN, 0 };
		return poll(&pfd, 1, 0) > 0;
	}
	/* no pidfd: the pid is gone, or a zombie */
	if (kill(pr->pid, 0) != 0 && errno == ESRCH)
		return 1;
	{
		char path[64], buf[256];
		int fd;
		ssize_t n;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pr->pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 1;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			char *e = strrchr(buf, ')');
			if (e && e[1] == ' ' && (e[2] == 'Z' || e[2] == 'X'))
				return 1;
		}
	}
	return 0;
}

static int cmp_created(const void *a, const void *b)
{
	const struct hs_proc *x = *(struct hs_proc *const *)a, *y = *(struct hs_proc *const *)b;
	return x->created < y->created ? -1 : x->created > y->created;
}

static struct hs_proc *open_file(struct heap_session *s, const char *name)
{
	struct hs_proc *pr;
	char *path = xasprintf("%s/%s", s->dir, name);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct hp_header *h;
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_size < HP_HEADER_SIZE) {
		if (fd >= 0)
			close(fd);
		free(path);
		return NULL;
	}
	h = mmap(NULL, HP_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		close(fd);
		free(path);
		return NULL;
	}
	if (memcmp(h->magic, HP_MAGIC, 8) || h->version != HP_VERSION || h->header_size != HP_HEADER_SIZE ||
	    h->max_slots < 2 || h->max_slots > HP_MAX_SLOTS || h->ring_bytes < 4096 ||
	    (h->ring_bytes & (h->ring_bytes - 1)) || (uint64_t)st.st_size < hp_file_size(h)) {
		munmap(h, HP_HEADER_SIZE);
		close(fd);
		s->bad++;
		unlink(path);
		free(path);
		return NULL;
	}
	pr = xcalloc(1, sizeof(*pr));
	pr->path = path;
	pr->fd = fd;
	pr->hdr = h;
	pr->pid = h->pid;
	pr->created = h->created_ns;
	pr->max_slots = h->max_slots;
	pr->ring_bytes = h->ring_bytes;
	pr->pidfd = -1;
	pr->rings = xcalloc(pr->max_slots, sizeof(*pr->rings));
	if (map_ring(pr, 0, &pr->control) < 0) {
		unmap_proc(pr);
		free(pr->path);
		free(pr);
		return NULL;
	}
	return pr;
}

static void adopt(struct heap_session *s, struct hs_proc *pr, uint64_t now_ns)
{
	struct hp_header *h = pr->hdr;
	struct hs_proc *parent = NULL;
	uint32_t thread;
	char comm[sizeof(h->comm) + 1];
	/* an older image of the same pid has exec'd into this one */
	for (size_t i = 0; i < s->nprocs; i++) {
		struct hs_proc *o = s->procs[i];
		if (!o->finished && o->pid == pr->pid && o->created < pr->created)
			end_proc(s, o, now_ns);
	}
	if (h->flags & HP_F_FORKED)
		parent = find_proc(s, h->ppid, h->parent_created_ns);
	if (parent && !parent->finished) {
		drain_control(s, parent, h->inherited_control);
		heap_sym_fork(s->sym, parent->pid, pr->pid);
	} else if (parent) {
		heap_sym_fork(s->sym, parent->pid, pr->pid); /* its maps are still known */
	} else {
		heap_sym_exec(s->sym, pr->pid);
	}
	memcpy(comm, h->comm, sizeof(h->comm));
	comm[sizeof(h->comm)] = '\0';
	if (!comm[0]) {
		const char *b = strrchr(h->exe, '/');
		size_t l;
		b = b ? b + 1 : h->exe;
		l = strnlen(b, sizeof(comm) - 1);
		memcpy(comm, b, l);
		comm[l] = '\0';
	}
	thread = kp_add_thread(s->p, pr->pid, pr->pid, comm);
	pr->start_t = rel_ns(s, pr->created);
	pr->parent = parent;
	pr->agg = heap_agg_proc(s->agg, thread, pr->pid, pr->start_t, parent ? parent->agg : NULL,
				parent ? (uint32_t)h->inherited_stacks : 0);
	pr->pidfd = pidfd_open_(pr->pid);
	if (pr->pidfd < 0 && errno == ESRCH)
		pr->pidfd = -2; /* already gone */
	pthread_mutex_lock(&s->beat_lock);
	ALLOC_GROW(s->procs, s->nprocs + 1, s->procs_alloc);
	s->procs[s->nprocs++] = pr;
	pthread_mutex_unlock(&s->beat_lock);
	__atomic_store_n(&h->epoch, s->epoch, __ATOMIC_RELEASE);
}

static int known_path(const struct heap_session *s, const char *name)
{
	size_t dl = strlen(s->dir);
	for (size_t i = 0; i < s->nprocs; i++) {
		const char *p = s->procs[i]->path;
		if (!strncmp(p, s->dir, dl) && p[dl] == '/' && !strcmp(p + dl + 1, name))
			return 1;
	}
	return 0;
}

static void scan_dir(struct heap_session *s, uint64_t now_ns)
{
	DIR *d = opendir(s->dir);
	struct dirent *de;
	struct hs_proc **found = NULL;
	size_t nfound = 0, alloc = 0;
	size_t sl = strlen(HP_FILE_SUFFIX);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l <= sl || strcmp(de->d_name + l - sl, HP_FILE_SUFFIX))
			continue;
		if (known_path(s, de->d_name))
			continue;
		struct hs_proc *pr = open_file(s, de->d_name);
		if (!pr)
			continue;
		ALLOC_GROW(found, nfound + 1, alloc);
		found[nfound++] = pr;
	}
	closedir(d);
	if (nfound > 1)
		qsort(found, nfound, sizeof(*found), cmp_created);
	for (size_t i = 0; i < nfound; i++)
		adopt(s, found[i], now_ns);
	free(found);
}

/* Events of one epoch can be merged across rings once no thread can still write to
 * it: the epoch before the previous one is safe. With a single thread ring there is
 * nothing to merge, and everything can be read at once. */
static uint64_t events_limit(const struct heap_session *s, const struct hs_proc *pr)
{
	uint32_t hwm = __atomic_load_n(&pr->hdr->slot_hwm, __ATOMIC_ACQUIRE), active = 0;
	if (hwm > pr->max_slots)
		hwm = pr->max_slots;
	for (uint32_t i = 1; i < hwm && active < 2; i++)
		if (__atomic_load_n(&pr->hdr->slot_state[i], __ATOMIC_ACQUIRE) != HP_SLOT_FREE)
			active++;
	return active <= 1 ? UINT64_MAX : s->prev_epoch;
}

void heap_session_scan(struct heap_session *s, uint64_t now_ns)
{
	scan_dir(s, now_ns);
	s->last_scan = now_ns;
}

static void stack_done(void *ctx, void *owner, uint32_t id, kp_stack_t st)
{
	struct hs_proc *pr = owner;
	(void)ctx;
	heap_agg_define_stack(pr->agg, id, st);
}

unsigned long long heap_session_poll(struct heap_session *s, uint64_t now_ns)
{
	unsigned long long n = 0;
	uint64_t e = rel_ns(s, now_ns) / 1000 + 1;
	if (e <= s->epoch)
		e = s->epoch + 1;
	s->prev_epoch = s->epoch;
	s->epoch = e;
	for (size_t i = 0; i < s->nprocs; i++)
		if (!s->procs[i]->finished)
			__atomic_store_n(&s->procs[i]->hdr->epoch, e, __ATOMIC_RELEASE);
	/* new processes: their rings hold their events meanwhile, so looking every few
	 * milliseconds is enough */
	if (!s->last_scan || now_ns - s->last_scan >= 4000000ull) {
		scan_dir(s, now_ns);
		s->last_scan = now_ns;
	}
	for (size_t i = 0; i < s->nprocs; i++) {
		struct hs_proc *pr = s->procs[i];
		int exited;
		if (pr->finished)
			continue;
		exited = pr->pidfd == -2 || proc_exited(pr);
		drain_control(s, pr, UINT64_MAX);
		if (exited) {
			unsigned long long before = s->events;
			end_proc(s, pr, now_ns);
			n += s->events - before;
			continue;
		}
		n += drain_events(s, pr, events_limit(s, pr));
	}
	heap_sym_collect(s->sym, 0, stack_done, s);
	s->events += n;
	return n;
}

void heap_session_finish(struct heap_session *s, uint64_t now_ns)
{
	scan_dir(s, now_ns);
	for (size_t i = 0; i < s->nprocs; i++)
		end_proc(s, s->procs[i], now_ns);
	for (;;) {
		size_t left = heap_sym_collect(s->sym, 0, stack_done, s);
		if (!left)
			break;
		if (s->progress)
			s->progress(s->progress_ctx, left);
		heap_sym_wait(s->sym, 100);
	}
	heap_sym_collect(s->sym, 1, stack_done, s);
}

void heap_session_set_progress(struct heap_session *s, heap_progress_fn fn, void *ctx)
{
	s->progress = fn;
	s->progress_ctx = ctx;
}

uint64_t heap_session_exit_time(const struct heap_session *s, int32_t pid)
{
	const struct hs_proc *last = NULL;
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i]->pid == pid && (!last || s->procs[i]->created > last->created))
			last = s->procs[i];
	if (!last)
		return 0;
	return last->exit_ns ? rel_ns(s, last->exit_ns) : 0;
}

kp_stack_t heap_session_stack(struct heap_session *s, int32_t pid, uint64_t created_ns, uint32_t id)
{
	struct hs_proc *pr = find_proc(s, pid, created_ns);
	return pr && pr->agg ? heap_agg_stack(pr->agg, id) : 0;
}

void heap_session_get_info(const struct heap_session *s, struct heap_session_info *info)
{
	memset(info, 0, sizeof(*info));
	info->processes = (unsigned)s->nprocs;
	info->bad = s->bad;
	info->events = s->events;
	for (size_t i = 0; i < s->nprocs; i++) {
		const struct hs_proc *pr = s->procs[i];
		if (!pr->finished)
			info->running++;
		if (pr->hdr && (pr->hdr->flags & HP_F_GAVE_UP))
			info->gave_up++;
		if (pr->corrupt)
			info->bad++;
	}
}

void heap_session_cleanup(struct heap_session *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *de;
	if (d) {
		while ((de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *p = xasprintf("%s/%s", s->dir, de->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(s->dir);
}

void heap_session_free(struct heap_session *s)
{
	if (!s)
		return;
	if (s->beat_running) {
		pthread_mutex_lock(&s->beat_lock);
		s->beat_stop = 1;
		pthread_cond_signal(&s->beat_cond);
		pthread_mutex_unlock(&s->beat_lock);
		pthread_join(s->beat_thread, NULL);
	}
	pthread_mutex_destroy(&s->beat_lock);
	pthread_cond_destroy(&s->beat_cond);
	for (size_t i = 0; i < s->nprocs; i++) {
		unmap_proc(s->procs[i]);
		free(s->procs[i]->path);
		free(s->procs[i]);
	}
	free(s->procs);
	heap_agg_free(s->agg);
	heap_sym_free(s->sym);
	free(s->tmp);
	free(s->cands);
	free(s->dir);
	free(s);
}
