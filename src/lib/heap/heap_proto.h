/* heap_proto.h: the shared-memory protocol between the heap preload library
 * (src/preload, runs inside the traced program) and `kiln heap` (the reader).
 *
 * Rendezvous: `kiln heap` creates a session directory and passes it in KILN_HEAP_DIR.
 * Every process image that loads the library (the program, each fork child, each exec)
 * creates one file "<pid>-<created_ns>.kh" there (O_EXCL, then renamed into place once
 * its header is complete, so the reader never sees a half-made header) and maps it
 * MAP_SHARED. The reader maps the same file. No file descriptor stays open in the
 * program, so closing every descriptor or changing directory changes nothing, and a
 * program killed by SIGKILL loses no event it had finished writing.
 *
 * File layout:
 *   [0, HP_HEADER_SIZE)           struct hp_header (the slot table is in it)
 *   slot i at HP_HEADER_SIZE + i * (HP_SLOT_CTL + ring_bytes):
 *     [HP_SLOT_CTL) struct hp_slot_ctl: head (writer), tail (reader), on separate lines
 *     [ring_bytes)  ring of 64-bit words
 * Slot 0 is the control ring (modules, stack definitions), written by any thread under
 * the library's control lock. Slots 1.. are per-thread event rings: a thread claims a
 * FREE slot (compare-and-swap to ACTIVE), writes only there, and marks it RETIRED when
 * it exits; the reader drains a RETIRED slot and sets it FREE again.
 *
 * head and tail count words since the slot was created (they never wrap); word n lives
 * at ring[n % ring_words]. The writer stores a record's words, then publishes head with
 * a release store; the reader loads head with acquire, reads, then stores tail. A
 * writer whose ring is full waits; the reader bumps hdr.heartbeat every
 * HP_HEARTBEAT_NS (from a thread of its own, so that long symbolization does not
 * stop it), and when the heartbeat stays still for HP_READER_TIMEOUT_NS the writer
 * stops recording (the reader is gone) instead of blocking the program.
 *
 * Time: the reader stores a new epoch (microseconds since the session started) into
 * the header every round. Before writing an event, a thread that sees a new epoch
 * writes an EPOCH record; events are dated by the epoch they follow.
 *
 * Order across threads: while a process has one recording thread its ring is the
 * order. From the moment a second thread records (the writer sets HP_F_MT), every
 * event carries the low 32 bits of a process-wide sequence number, and the reader
 * merges the rings by it (comparing with wrap-around), so that a block allocated in
 * one thread and freed in another is seen in the order it happened.
 *
 * Event records (thread rings), the low 3 bits of the first word are the type:
 *   ALLOC  w0 = addr << 4 | HP_ALLOC, w1 = size, w2 = stack id | seq << 32
 *   ALLOC2 (no sequence number, size < 2^40, stack id < 2^24: the common case)
 *          w0 = addr << 4 | HP_ALLOC2, w1 = size | stack id << 40
 *   FREE   w0 = addr << 4 | HP_FREE | (HP_FREE_TEMP when no other allocation of this
 *          thread came between this block's allocation and this free)
 *   FREE_SEQ  the same as FREE with HP_FREE_SEQ, then w1 = seq
 *   EPOCH  w0 = epoch << 4 | HP_EPOCH
 *   TEMPS  temporary pairs (allocated, then freed with nothing in between) held back and
 *          summed, all from one epoch: w0 = HP_TEMPS | nr << 8 | nb << 16, then nr
 *          runs of 3 words (stack id | count << 32, bytes, largest size), then nb words
 *          of their size histogram: bucket << 56 | count (bucket b > 0 holds sizes in
 *          [2^(b-1), 2^b), bucket 0 size 0)
 *
 * Pending events (full mode, one recording thread): a thread keeps its latest
 * allocation out of the ring until its next event shows whether it is temporary, and
 * sums runs of temporary pairs (struct hp_pend in its slot's control page). Its next
 * other event first writes the run (TEMPS, dated by the run's epoch) and then the
 * allocation (ALLOC2, dated by its own epoch), so the ring stays in order. The state is
 * in the shared file, so what a thread killed by SIGKILL, _exit or exec left pending is
 * read by the reader when the process image ends (hp_pend.seq is odd while the writer
 * changes it: an odd value then means "torn: drop it"). A thread flushes its pending
 * events before it exits, and when the process creates a second thread the creator
 * flushes and pending stops for the process image (its events get sequence numbers).  * Control records: w0 = type | nwords << 8 (nwords counts w0), then:
 *   HP_C_MODULE  start, len, pgoff, prot, build_id_len, path_len, then build id and
 *                path bytes packed into words (path without NUL)
 *   HP_C_STACK   id, depth, then depth return addresses, innermost first (the first is
 *                the return address into the function that called the allocator)
 *   HP_C_LOST    count of events not recorded (reentrant calls from signal handlers)
 *   HP_C_PYINFO  (version 3) the process runs CPython: Py_Version (0xMMmmuu.., as
 *                Python packs it), then 1 when the library reads its frames, 0 when
 *                it does not know that version (its stacks are native only), 2 when
 *                KILN_HEAP_PYTHON=0 turned them off, then
 *                the byte length of the path of the module holding the interpreter
 *                (_PyRuntime: the executable or libpython) and the path, packed
 *   HP_C_PYCODE  (version 3) a Python code object, sent before the first frame node
 *                that uses it (and again when a new code object took the address of a
 *                freed one): address, co_firstlineno, then the byte lengths of
 *                co_qualname (UTF-8), co_filename (UTF-8) and co_linetable, then
 *                those bytes packed into words, one after the other
 *   HP_C_PYFRAME (version 4) a node of the tree of Python frames, sent before the
 *                first stack that uses it: the node's id (from 1, its own series), its
 *                caller's node id (0: the outermost frame), the code object's address
 *                and (uint32)lasti | is_entry << 32 | tag << 33 (tag: bits the writer
 *                uses to tell code objects at one address apart; readers ignore it),
 *                where lasti is the index of the frame's current instruction in code
 *                units (-1: not started) and is_entry marks the outermost frame one
 *                C-level evaluation loop runs (_PyEval_EvalFrameDefault): the merge
 *                points with the native stack. A node's caller was sent before it.
 *   HP_C_PYSTACK (version 4) a stack with Python frames: id, native depth | the
 *                innermost frame's node id << 32, then the native return addresses as
 *                in HP_C_STACK; its Python frames are that node's path to the root.
 *                A fork child sends its own nodes (the parent's are not its).
 * Stack ids start at 1 and are never reused within a process image; a fork child keeps
 * its parent's ids below hdr.inherited_stacks. */
#ifndef KILN_HEAP_PROTO_H
#define KILN_HEAP_PROTO_H
#include <stdint.h>

#define HP_MAGIC "KILNHEAP"
#define HP_VERSION 4 /* 3: Python records (HP_C_PY*); 4: Python frames as a tree */
#define HP_HEADER_SIZE (64u * 1024)
#define HP_SLOT_CTL 4096u
#define HP_MAX_SLOTS 4096u
#define HP_RING_BYTES_DEFAULT (4u << 20)
#define HP_CONTROL_RING_BYTES (4u << 20)
#define HP_HEARTBEAT_NS (50ull * 1000000ull)
#define HP_READER_TIMEOUT_NS (2ull * 1000000000ull)
#define HP_MAX_DEPTH 128
#define HP_ENV_DIR "KILN_HEAP_DIR"
#define HP_ENV_SAMPLE "KILN_HEAP_SAMPLE"
#define HP_ENV_RING "KILN_HEAP_RING"
#define HP_ENV_PYTHON "KILN_HEAP_PYTHON" /* "0": no Python frames (native stacks only) */
/* "1" (--python-internals): native stacks of Python code are walked whole; otherwise the
 * walk stops at the innermost _PyEval_EvalFrameDefault, whose Python frames stand for
 * everything below it */
#define HP_ENV_PYTHON_INTERNALS "KILN_HEAP_PYTHON_INTERNALS"
#define HP_FILE_SUFFIX ".kh"

enum hp_event {
	HP_ALLOC = 1,
	HP_FREE = 2,
	HP_EPOCH = 3,
	HP_FREE_SEQ = 4,
	HP_ALLOC2 = 5,
	HP_TEMPS = 6,
};
#define HP_HIST_BUCKETS 64
#define HP_TYPE_MASK 7u
#define HP_FREE_TEMP 8u

enum hp_control {
	HP_C_MODULE = 1,
	HP_C_STACK = 2,
	HP_C_LOST = 3,
	HP_C_PYINFO = 4,
	HP_C_PYCODE = 5,
	HP_C_PYSTACK = 6,
	HP_C_PYFRAME = 7,
};
#define HP_PY_MAX_DEPTH 128      /* Python frames per stack (deeper: the outermost are cut) */
#define HP_PY_MAX_NAME 1024      /* bytes of co_qualname kept */
#define HP_PY_MAX_FILE 4096      /* bytes of co_filename kept */
#define HP_PY_MAX_LINETABLE 65536 /* bytes of co_linetable kept (lines past it: 0) */

enum hp_slot_state {
	HP_SLOT_FREE = 0,
	HP_SLOT_ACTIVE = 1,
	HP_SLOT_RETIRED = 2,
};

enum hp_flags {
	HP_F_FORKED = 1,    /* a fork child: inherits modules and stack ids from ppid's file */
	HP_F_EXITING = 2,   /* the library's destructor ran (exit() is under way) */
	HP_F_GAVE_UP = 4,   /* the writer stopped recording (reader gone or out of space) */
	HP_F_MT = 8,        /* events carry sequence numbers (a second thread recorded) */
};

struct hp_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	int32_t pid;
	int32_t ppid;
	uint64_t created_ns;      /* CLOCK_MONOTONIC when this image started recording */
	uint64_t sample_bytes;    /* 0: every allocation; else mean bytes between samples */
	uint64_t ring_bytes;      /* ring size of thread slots (slot 0 uses HP_CONTROL_RING_BYTES) */
	uint32_t max_slots;
	uint32_t flags;           /* enum hp_flags, set by the writer */
	/* fork children: the parent image's file and what the child inherits from it */
	uint64_t parent_created_ns;
	uint64_t inherited_stacks;  /* ids < this are the parent's */
	uint64_t inherited_control; /* parent's control head at fork */
	uint64_t exit_ns;         /* CLOCK_MONOTONIC when exit() ran the library's destructor */
	char exe[4096];           /* the program (readlink /proc/self/exe) */
	char comm[32];
	/* written by the writer, read by the reader */
	uint32_t slot_hwm __attribute__((aligned(64))); /* slots 0..slot_hwm-1 were ever used */
	uint32_t slot_state[HP_MAX_SLOTS];
	uint32_t slot_tid[HP_MAX_SLOTS];
	/* written by the reader */
	uint64_t epoch __attribute__((aligned(64)));
	uint64_t heartbeat;       /* moves every HP_HEARTBEAT_NS while the reader lives */
	uint32_t reader_done __attribute__((aligned(64))); /* reader finished: stop recording */
};

/* Events a thread holds back (see "Pending events" above); written by the writer only.
 * The temporary pairs held (the window) all happened while no other block of the
 * thread was pending, so they saw the same live heap and their order does not matter:
 * they are summed per stack (up to HP_PEND_RUNS stacks) with one size histogram. */
#define HP_PEND_RUNS 4
struct hp_pend_run {
	uint64_t id_count;      /* stack id | count << 32; 0: unused */
	uint64_t bytes;
	uint64_t max;           /* largest size */
};
struct hp_pend {
	uint64_t seq;           /* odd while the writer changes the fields below */
	uint64_t alloc_w0;      /* the latest allocation as an ALLOC2 record; 0: none */
	uint64_t alloc_w1;
	uint64_t alloc_epoch;
	uint64_t win_pairs;     /* temporary pairs held, over all runs; 0: none */
	uint64_t win_epoch;     /* the epoch they all happened in */
	uint64_t win_addr;      /* address of the first (a lone pair is written as ALLOC2 + FREE) */
	uint64_t win_mask;      /* histogram buckets in use */
	struct hp_pend_run run[HP_PEND_RUNS];
	uint32_t hist[HP_HIST_BUCKETS];
};
#define HP_PEND_WORDS (1 + 3 * HP_PEND_RUNS + HP_HIST_BUCKETS)

static inline int hp_hist_bucket(uint64_t size)
{
	return size ? 64 - __builtin_clzll(size) : 0;
}

/* The held temporary pairs of q as ring records (a TEMPS record, or ALLOC2 + FREE for
 * a lone pair) into w[HP_PEND_WORDS]; returns the number of words (0: none). */
static inline unsigned hp_pend_window(const struct hp_pend *q, uint64_t *w)
{
	unsigned n = 1, nr = 0, nb = 0;
	uint64_t m = q->win_mask;
	if (!q->win_pairs)
		return 0;
	if (q->win_pairs == 1) {
		for (int i = 0; i < HP_PEND_RUNS; i++) {
			if (q->run[i].id_count) {
				w[0] = q->win_addr << 4 | HP_ALLOC2;
				w[1] = q->run[i].bytes | (q->run[i].id_count & 0xffffffffu) << 40;
				w[2] = q->win_addr << 4 | HP_FREE | HP_FREE_TEMP;
				return 3;
			}
		}
		return 0;
	}
	for (int i = 0; i < HP_PEND_RUNS; i++) {
		if (!q->run[i].id_count)
			continue;
		w[n++] = q->run[i].id_count;
		w[n++] = q->run[i].bytes;
		w[n++] = q->run[i].max;
		nr++;
	}
	while (m) {
		int b = __builtin_ctzll(m);
		m &= m - 1;
		w[n++] = (uint64_t)b << 56 | q->hist[b];
		nb++;
	}
	w[0] = HP_TEMPS | (uint64_t)nr << 8 | (uint64_t)nb << 16;
	return n;
}

struct hp_slot_ctl {
	uint64_t head __attribute__((aligned(64)));
	uint64_t tail __attribute__((aligned(64)));
	struct hp_pend pend __attribute__((aligned(64)));
};

_Static_assert(sizeof(struct hp_header) <= HP_HEADER_SIZE, "hp_header too large");
_Static_assert(sizeof(struct hp_slot_ctl) <= HP_SLOT_CTL, "hp_slot_ctl too large");

static inline uint64_t hp_slot_offset(const struct hp_header *h, uint32_t slot)
{
	return HP_HEADER_SIZE + (slot ? HP_SLOT_CTL + HP_CONTROL_RING_BYTES : 0) +
	       (slot ? (uint64_t)(slot - 1) * (HP_SLOT_CTL + h->ring_bytes) : 0);
}
static inline uint64_t hp_slot_ring_bytes(const struct hp_header *h, uint32_t slot)
{
	return slot ? h->ring_bytes : HP_CONTROL_RING_BYTES;
}
static inline uint64_t hp_file_size(const struct hp_header *h)
{
	return hp_slot_offset(h, h->max_slots - 1) + HP_SLOT_CTL + h->ring_bytes;
}

/* ---- lock mode (`kiln lock`), protocol version HP_LOCK_VERSION ----
 * With KILN_LOCK=1 in the environment the library also times pthread mutexes, rwlocks,
 * spinlocks and condition-variable waits (mutrace's method: try-lock first, EBUSY means
 * contended, then the blocking call is timed; hold time runs from the acquisition to the
 * release). It keeps the figures in a table file beside the image's .kh file,
 * "<pid>-<created_ns>.kl" (created_ns of that .kh file, whose stack ids it uses), mapped
 * MAP_SHARED and updated in place, so the reader finds everything up to the last
 * operation even after SIGKILL. Layout: struct hp_lock_header, then max_locks struct
 * hp_lock_entry (open addressing on the lock's address), then max_sites struct
 * hp_lock_site (open addressing on the key). A reader that sees another version skips
 * the file. */
#define HP_LOCK_MAGIC "KILNLOCK"
#define HP_LOCK_VERSION 1
#define HP_LOCK_SUFFIX ".kl"
#define HP_ENV_LOCK "KILN_LOCK"
#define HP_ENV_LOCK_HOLD "KILN_LOCK_HOLD_NS" /* holds at least this long keep their stack */
#define HP_LOCK_MAX 16384u
#define HP_LOCK_SITES 16384u
#define HP_LOCK_HOLD_NS_DEFAULT 10000u

enum hp_lock_kind {
	HP_LK_MUTEX = 1,
	HP_LK_RWLOCK = 2,
	HP_LK_SPIN = 3,
};

enum hp_lock_what {
	HP_LW_WAIT = 1,     /* a contended acquisition: its wait */
	HP_LW_HOLD = 2,     /* a hold of at least the hold threshold (stack at the release) */
	HP_LW_COND = 3,     /* a condition-variable wait that released the mutex */
};

struct hp_lock_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;     /* offset of the first entry */
	int32_t pid;
	uint32_t max_locks;
	uint64_t created_ns;      /* the .kh file's */
	uint32_t max_sites;
	uint32_t entry_size, site_size;
	uint32_t pad_;
	uint64_t hold_threshold_ns;
	uint64_t dropped_locks;   /* operations on locks the full table could not take */
	uint64_t dropped_sites;
	uint64_t untracked_holds; /* holds not timed because the thread held 32 already */
};

struct hp_lock_entry {
	uint64_t addr;            /* the lock's address; 0: free slot */
	uint32_t kind;            /* enum hp_lock_kind; 0 while being claimed */
	uint32_t first_stack;     /* stack id where it was initialized or first taken */
	uint64_t acquisitions;    /* successful acquisitions (readers included) */
	uint64_t contended;       /* of them, those that found it taken */
	uint64_t wait_ns, wait_max;
	uint64_t hold_ns, hold_max;
	uint64_t cond_waits, cond_wait_ns; /* condition-variable waits on this mutex */
	uint64_t timeouts;        /* timed acquisitions that gave up */
	uint64_t read_acquisitions; /* rwlocks: shared acquisitions */
	uint64_t hold_timed;      /* holds timed (hold_ns sums those): all, except for a hot
				   * lock held briefly and never contended, whose holds are
				   * timed one in 8 after its first 4096 */
};

struct hp_lock_site {
	uint64_t key;             /* (lock index + 1) << 34 | what << 32 | stack id; 0: free */
	uint64_t count, total_ns, max_ns;
};

static inline uint64_t hp_lock_file_size(void)
{
	return 4096 + (uint64_t)HP_LOCK_MAX * sizeof(struct hp_lock_entry) +
	       (uint64_t)HP_LOCK_SITES * sizeof(struct hp_lock_site);
}

#endif
