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
 * Control records: w0 = type | nwords << 8 (nwords counts w0), then:
 *   HP_C_MODULE  start, len, pgoff, prot, build_id_len, path_len, then build id and
 *                path bytes packed into words (path without NUL)
 *   HP_C_STACK   id, depth, then depth return addresses, innermost first (the first is
 *                the return address into the function that called the allocator)
 *   HP_C_LOST    count of events not recorded (reentrant calls from signal handlers)
 * Stack ids start at 1 and are never reused within a process image; a fork child keeps
 * its parent's ids below hdr.inherited_stacks. */
#ifndef KILN_HEAP_PROTO_H
#define KILN_HEAP_PROTO_H
#include <stdint.h>

#define HP_MAGIC "KILNHEAP"
#define HP_VERSION 1
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
#define HP_FILE_SUFFIX ".kh"

enum hp_event {
	HP_ALLOC = 1,
	HP_FREE = 2,
	HP_EPOCH = 3,
	HP_FREE_SEQ = 4,
	HP_ALLOC2 = 5,
};
#define HP_TYPE_MASK 7u
#define HP_FREE_TEMP 8u

enum hp_control {
	HP_C_MODULE = 1,
	HP_C_STACK = 2,
	HP_C_LOST = 3,
};

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

struct hp_slot_ctl {
	uint64_t head __attribute__((aligned(64)));
	uint64_t tail __attribute__((aligned(64)));
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

#endif
