/* kh_shm.c: the session file of this process image, its rings, and fork handling
 * (see heap_proto.h for the layout). Only async-signal-safe system calls are used on
 * the paths a fork child can take before exec. */
#include "preload/kh.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct kh_proc kh_p;

static size_t append(char *dst, size_t pos, size_t cap, const char *s, size_t n)
{
	if (pos + n >= cap)
		n = pos < cap ? cap - pos - 1 : 0;
	memcpy(dst + pos, s, n);
	dst[pos + n] = '\0';
	return pos + n;
}

static int read_small_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n'))
		buf[--n] = '\0';
	return 0;
}

static void unmap_all(void)
{
	struct hp_header *h = kh_p.hdr;
	if (!h)
		return;
	for (uint32_t i = 1; i < HP_MAX_SLOTS; i++) {
		if (kh_p.slot_map[i]) {
			munmap(kh_p.slot_map[i], HP_SLOT_CTL + kh_p.ring_bytes);
			kh_p.slot_map[i] = NULL;
		}
		kh_p.slot_reserved[i] = 0;
	}
	if (kh_p.control_ctl)
		munmap(kh_p.control_ctl, HP_SLOT_CTL + HP_CONTROL_RING_BYTES);
	munmap(h, HP_HEADER_SIZE);
	kh_p.hdr = NULL;
	kh_p.control = NULL;
	kh_p.control_ctl = NULL;
}

int kh_file_create(void)
{
	char name[64], tmp[1200];
	size_t n = 0, pos;
	uint64_t created = kh_now_ns();
	int32_t pid = (int32_t)getpid();
	struct hp_header *h;
	int fd;
	void *ctl;

	unmap_all();
	n += kh_fmt_u64(name + n, (uint64_t)pid);
	name[n++] = '-';
	n += kh_fmt_u64(name + n, created);
	pos = append(kh_p.path, 0, sizeof(kh_p.path), kh_p.dir, kh_strlen(kh_p.dir));
	pos = append(kh_p.path, pos, sizeof(kh_p.path), "/", 1);
	pos = append(kh_p.path, pos, sizeof(kh_p.path), name, n);
	append(kh_p.path, pos, sizeof(kh_p.path), HP_FILE_SUFFIX, sizeof(HP_FILE_SUFFIX) - 1);
	pos = append(tmp, 0, sizeof(tmp), kh_p.dir, kh_strlen(kh_p.dir));
	pos = append(tmp, pos, sizeof(tmp), "/.", 2);
	pos = append(tmp, pos, sizeof(tmp), name, n);
	append(tmp, pos, sizeof(tmp), ".tmp", 4);

	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	{
		struct hp_header proto;
		proto.max_slots = HP_MAX_SLOTS;
		proto.ring_bytes = kh_p.ring_bytes;
		if (ftruncate(fd, (off_t)hp_file_size(&proto)) != 0)
			goto fail;
		/* the file lives in memory (tmpfs): take the pages now, so that a full
		 * /dev/shm is an error here and not a SIGBUS in the program later */
		if (fallocate(fd, 0, 0, (off_t)(HP_HEADER_SIZE + HP_SLOT_CTL + HP_CONTROL_RING_BYTES)) != 0 &&
		    errno != EOPNOTSUPP)
			goto fail;
	}
	h = mmap(NULL, HP_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		goto fail;
	ctl = mmap(NULL, HP_SLOT_CTL + HP_CONTROL_RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   HP_HEADER_SIZE);
	if (ctl == MAP_FAILED) {
		munmap(h, HP_HEADER_SIZE);
		goto fail;
	}
	close(fd);
	h->version = HP_VERSION;
	h->header_size = HP_HEADER_SIZE;
	h->pid = pid;
	h->ppid = kh_p.inh_ppid ? kh_p.inh_ppid : (int32_t)getppid();
	h->created_ns = created;
	h->sample_bytes = kh_p.sample_bytes;
	h->ring_bytes = kh_p.ring_bytes;
	h->max_slots = HP_MAX_SLOTS;
	if (kh_p.inh_created) {
		h->flags |= HP_F_FORKED;
		h->parent_created_ns = kh_p.inh_created;
		h->inherited_stacks = kh_p.inh_stacks;
		h->inherited_control = kh_p.inh_control;
	}
	{
		ssize_t l = readlink("/proc/self/exe", h->exe, sizeof(h->exe) - 1);
		h->exe[l > 0 ? l : 0] = '\0';
		if (read_small_file("/proc/self/comm", h->comm, sizeof(h->comm)) < 0)
			h->comm[0] = '\0';
	}
	h->slot_hwm = 1;
	h->slot_state[0] = HP_SLOT_ACTIVE;
	memcpy(h->magic, HP_MAGIC, 8);
	kh_p.hdr = h;
	kh_p.control_ctl = ctl;
	kh_p.control = (uint64_t *)((char *)ctl + HP_SLOT_CTL);
	kh_p.control_head = 0;
	kh_p.control_tail = 0;
	kh_p.slot_hint = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (rename(tmp, kh_p.path) != 0) {
		unlink(tmp);
		unmap_all();
		return -1;
	}
	kh_p.need_file = 0;
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return -1;
}

void kh_give_up(void)
{
	kh_p.enabled = 0;
	if (kh_p.hdr)
		__atomic_or_fetch(&kh_p.hdr->flags, HP_F_GAVE_UP, __ATOMIC_RELAXED);
}

static void *map_slot(uint32_t slot)
{
	int fd;
	void *m;
	if (kh_p.slot_map[slot])
		return kh_p.slot_map[slot];
	fd = open(kh_p.path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* the control page now; the ring's pages as the ring is first filled */
	if (fallocate(fd, 0, (off_t)hp_slot_offset(kh_p.hdr, slot), HP_SLOT_CTL) != 0 && errno != EOPNOTSUPP) {
		close(fd);
		return NULL;
	}
	m = mmap(NULL, HP_SLOT_CTL + kh_p.ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)hp_slot_offset(kh_p.hdr, slot));
	close(fd);
	if (m == MAP_FAILED)
		return NULL;
	kh_p.slot_map[slot] = m;
	return m;
}

static pthread_key_t exit_key;
static int exit_key_ok;

static void thread_exit(void *arg)
{
	struct kh_thread *t = &kh_tls;
	(void)arg;
	KH_CRIT_BEGIN(t);
	kh_thread_detach(t);
	KH_CRIT_END(t);
}

void kh_thread_keys_init(void);
void kh_thread_keys_init(void)
{
	if (pthread_key_create(&exit_key, thread_exit) == 0)
		exit_key_ok = 1;
}

int kh_thread_attach(struct kh_thread *t)
{
	struct hp_header *h = kh_p.hdr;
	uint32_t i, n = h->max_slots, start = (uint32_t)kh_p.slot_hint;
	void *m;
	for (uint32_t k = 0; k < n - 1; k++) {
		i = 1 + (start - 1 + k) % (n - 1);
		uint32_t expect = HP_SLOT_FREE;
		if (__atomic_load_n(&h->slot_state[i], __ATOMIC_RELAXED) != HP_SLOT_FREE)
			continue;
		if (!__atomic_compare_exchange_n(&h->slot_state[i], &expect, HP_SLOT_ACTIVE, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		goto found;
	}
	return -1;
found:
	kh_p.slot_hint = (int)(i % (n - 1)) + 1;
	m = map_slot(i);
	if (!m) {
		__atomic_store_n(&h->slot_state[i], HP_SLOT_FREE, __ATOMIC_RELEASE);
		return -1;
	}
	h->slot_tid[i] = (uint32_t)syscall(SYS_gettid);
	{
		uint32_t hwm = __atomic_load_n(&h->slot_hwm, __ATOMIC_RELAXED);
		while (hwm < i + 1 &&
		       !__atomic_compare_exchange_n(&h->slot_hwm, &hwm, i + 1, 0, __ATOMIC_RELEASE,
						    __ATOMIC_RELAXED))
			;
	}
	if (!kh_p.slot_block[i]) {
		kh_p.slot_block[i] = kh_map_anon((sizeof(struct kh_tblock) + 4095) & ~(size_t)4095);
		if (!kh_p.slot_block[i]) {
			__atomic_store_n(&h->slot_state[i], HP_SLOT_FREE, __ATOMIC_RELEASE);
			return -1;
		}
	}
	t->blk = kh_p.slot_block[i];
	if (kh_py_on)
		kh_py_memo_pages(t->blk);
	for (uint32_t k = 0; k < KH_MEMO_SETS * KH_MEMO_WAYS; k++) {
		kh_memo_way(t->blk, 0, 0, k)->gen = 0;
		kh_memo_way(t->blk, 0, 0, k)->cap = KH_MEMO_READS;
	}
	for (uint32_t k = 0; k < KH_PMEMO; k++) {
		kh_memo_way(t->blk, 1, 0, k)->gen = 0;
		kh_memo_way(t->blk, 1, 0, k)->cap = KH_PMEMO_READS;
	}
	((struct kh_memo *)(void *)t->blk->nested_memo)->cap = KH_MEMO_READS;
	t->slot = i;
	t->reserved = kh_p.slot_reserved[i];
	t->ctl = m;
	t->ring = (uint64_t *)((char *)m + HP_SLOT_CTL);
	t->mask = kh_p.ring_bytes / 8 - 1;
	t->head = __atomic_load_n(&t->ctl->head, __ATOMIC_RELAXED);
	t->tail_cache = __atomic_load_n(&t->ctl->tail, __ATOMIC_ACQUIRE);
	t->epoch = 0;
	t->epoch_src = &h->epoch;
	t->last_alloc = 0;
	t->pend = &t->ctl->pend;
	memset(t->pend, 0, sizeof(*t->pend));
	if (!t->stack_hi)
		kh_thread_stack_bounds(t);
	if (exit_key_ok)
		pthread_setspecific(exit_key, (void *)1);
	if (__atomic_add_fetch(&kh_p.attached, 1, __ATOMIC_ACQ_REL) >= 2 && !kh_p.mt) {
		__atomic_store_n(&kh_pyfast, 0, __ATOMIC_SEQ_CST); /* events need their sequence now */
		__atomic_store_n(&kh_p.nopend, 1, __ATOMIC_SEQ_CST);
		__atomic_or_fetch(&h->flags, HP_F_MT, __ATOMIC_RELEASE);
		__atomic_store_n(&kh_p.mt, 1, __ATOMIC_RELEASE);
	}
	t->state = KH_T_ON;
	return 0;
}

/* The thread has no slot any more: its next allocator call takes the slow path and
 * attaches again. */
static void thread_unbind(struct kh_thread *t)
{
	t->state = KH_T_NEW;
	t->ring = NULL;
	t->pend = NULL;
	t->last_alloc = 0;
	t->sample_left = 0;
}

void kh_thread_detach(struct kh_thread *t)
{
	if (t->state == KH_T_ON && kh_p.hdr) {
		kh_pend_flush(t);
		__atomic_store_n(&kh_p.hdr->slot_state[t->slot], HP_SLOT_RETIRED, __ATOMIC_RELEASE);
	}
	thread_unbind(t);
}

/* Waits until n words fit in the thread's ring. When the reader's heartbeat stays
 * still for HP_READER_TIMEOUT_NS, or the reader says it is done, recording stops
 * rather than blocking the program forever. */
static int wait_ring(struct hp_slot_ctl *ctl, uint64_t head, uint64_t *tail_cache, uint64_t words,
		     unsigned n)
{
	struct hp_header *h = kh_p.hdr;
	uint64_t beat = __atomic_load_n(&h->heartbeat, __ATOMIC_RELAXED), since = 0;
	unsigned spins = 0;
	for (;;) {
		*tail_cache = __atomic_load_n(&ctl->tail, __ATOMIC_ACQUIRE);
		if (head + n - *tail_cache <= words)
			return 0;
		if (__atomic_load_n(&h->reader_done, __ATOMIC_RELAXED) || !kh_p.enabled)
			return -1;
		uint64_t b = __atomic_load_n(&h->heartbeat, __ATOMIC_RELAXED);
		uint64_t now = kh_now_ns();
		if (b != beat || !since) {
			beat = b;
			since = now;
		} else if (now - since > HP_READER_TIMEOUT_NS) {
			return -1;
		}
		if (++spins < 200) {
			sched_yield();
		} else {
			struct timespec ts = { 0, 50000 };
			nanosleep(&ts, NULL);
		}
	}
}

#define RESERVE_CHUNK (64u * 1024)

/* Takes the pages of a thread's Python chain memos at once, in a process whose Python
 * frames are read: they are probed (read) before they are written, so each would
 * fault twice, and a Python thread soon uses them all. Only a hint: on failure they
 * are faulted in as before. */
void kh_py_memo_pages(struct kh_tblock *b)
{
	madvise(b->pymemo, sizeof(b->pymemo) & ~(size_t)4095, MADV_POPULATE_WRITE);
}

/* Takes the tmpfs pages of the ring positions the first pass writes up to head + n
 * (MADV_POPULATE_WRITE fails where touching the page would raise SIGBUS). Returns 0,
 * or -1 when memory is short: the thread stops recording. */
int kh_ring_reserve(struct kh_thread *t, uint64_t upto)
{
	uint64_t words = t->mask + 1, target = upto >= words ? words : upto;
	while (t->reserved < target) {
		uint64_t bytes = words * 8 - t->reserved * 8;
		if (bytes > RESERVE_CHUNK)
			bytes = RESERVE_CHUNK;
		if (madvise((char *)(t->ring + t->reserved), bytes, MADV_POPULATE_WRITE) != 0 && errno != EINVAL) {
			kh_give_up();
			t->state = KH_T_OFF;
			t->sample_left = KH_LEFT_NEVER;
			return -1;
		}
		t->reserved += bytes / 8;
		kh_p.slot_reserved[t->slot] = t->reserved;
	}
	return 0;
}

int kh_ring_wait(struct kh_thread *t, unsigned n)
{
	if (wait_ring(t->ctl, t->head, &t->tail_cache, t->mask + 1, n) == 0)
		return 0;
	kh_give_up();
	t->state = KH_T_OFF;
	t->sample_left = KH_LEFT_NEVER;
	return -1;
}

int kh_control_write(const uint64_t *words, size_t n)
{
	uint64_t cap = HP_CONTROL_RING_BYTES / 8;
	int rc = 0;
	if (!kh_p.hdr || n > cap)
		return -1;
	kh_lock(&kh_control_lock);
	if (kh_p.control_head + n - kh_p.control_tail > cap &&
	    wait_ring(kh_p.control_ctl, kh_p.control_head, &kh_p.control_tail, cap, (unsigned)n) < 0) {
		kh_unlock(&kh_control_lock);
		kh_give_up();
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		kh_p.control[(kh_p.control_head + i) & (cap - 1)] = words[i];
	kh_p.control_head += n;
	__atomic_store_n(&kh_p.control_ctl->head, kh_p.control_head, __ATOMIC_RELEASE);
	kh_unlock(&kh_control_lock);
	return rc;
}

/* fork: the child must not write into its parent's shared rings. prepare takes every
 * lock so that the child starts with consistent tables; the child then drops the
 * parent's mappings and makes its own file at its first event. */
static int *const fork_locks[] = { &kh_stack_lock, &kh_module_lock, &kh_control_lock, &kh_sample_lock,
				   &kh_arena_lock };
#define NFORK_LOCKS (sizeof(fork_locks) / sizeof(fork_locks[0]))
static unsigned fork_held; /* which of fork_locks prepare took */

static int try_lock(int *l)
{
	for (int i = 0; i < 100000; i++) {
		if (!__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
			return 1;
		__builtin_ia32_pause();
	}
	return 0;
}

void kh_fork_prepare(void)
{
	/* A fork from a signal handler that interrupted this library may find its own
	 * locks held by the very thread that forks: then only try them (the child
	 * resets every lock anyway). */
	int reentered = kh_tls.busy > 0;
	KH_CRIT_BEGIN(&kh_tls);
	fork_held = 0;
	for (unsigned i = 0; i < NFORK_LOCKS; i++) {
		if (reentered ? try_lock(fork_locks[i]) : (kh_lock(fork_locks[i]), 1))
			fork_held |= 1u << i;
	}
}

void kh_fork_parent(void)
{
	for (unsigned i = NFORK_LOCKS; i-- > 0;)
		if (fork_held & (1u << i))
			kh_unlock(fork_locks[i]);
	KH_CRIT_END(&kh_tls);
}

void kh_fork_child(void)
{
	struct kh_thread *t = &kh_tls;
	kh_stack_lock = kh_module_lock = kh_control_lock = kh_sample_lock = kh_arena_lock = 0;
	kh_file_lock = kh_config_lock = kh_cache_lock = 0;
	if (kh_p.enabled && kh_p.hdr) {
		kh_p.inh_created = kh_p.hdr->created_ns;
		kh_p.inh_stacks = kh_stack_count();
		kh_p.inh_control = kh_p.control_head;
		kh_p.inh_ppid = kh_p.hdr->pid;
		kh_p.need_file = 1;
		kh_p.mt = 0;
		kh_p.nopend = kh_p.sample_bytes != 0;
		kh_p.attached = 0;
		unmap_all();
	} else if (kh_p.enabled && kh_p.need_file) {
		/* the parent never made a file: the child starts afresh */
		kh_p.inh_created = 0;
		kh_p.inh_ppid = 0;
	}
	thread_unbind(t);
	kh_lock_fork_child();
	kh_py_fork_child();
	kh_pyfast_update(); /* one thread again */
	KH_CRIT_END(t);
}
