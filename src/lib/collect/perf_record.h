/* perf_record.h: decoding the records perf_event_open writes into its ring buffer
 * (PERF_RECORD_SAMPLE and the side-band records COMM, FORK, EXIT, MMAP2, LOST,
 * LOST_SAMPLES, SWITCH, SWITCH_CPU_WIDE, THROTTLE), and reading them out of the ring.
 *
 * The decoder is pure: it reads bytes and a layout (which sample fields the event asked
 * for) and never trusts a length it has not checked, so a damaged record is rejected,
 * never read past. Pointers in a decoded record point into the record's bytes. */
#ifndef KILN_COLLECT_PERF_RECORD_H
#define KILN_COLLECT_PERF_RECORD_H
#include <stddef.h>
#include <stdint.h>

/* What the event's attr asked for; it decides where each field sits. */
struct kc_layout {
	uint64_t sample_type;      /* PERF_SAMPLE_* bits */
	uint64_t regs_user_mask;   /* sample_regs_user */
	int sample_id_all;         /* side-band records end with a struct sample_id */
};

#define KC_MAX_REGS 64

/* A decoded PERF_RECORD_SAMPLE. Absent fields are 0 / NULL. */
struct kc_sample {
	uint64_t id;          /* PERF_SAMPLE_IDENTIFIER or _ID */
	uint64_t ip;
	uint32_t pid, tid;
	uint64_t time;
	uint32_t cpu;
	uint64_t period;
	uint16_t misc;        /* header.misc: PERF_RECORD_MISC_USER / _KERNEL / _EXACT_IP ... */
	uint64_t nr;          /* callchain entries (context markers included) */
	const uint64_t *ips;  /* nr entries, 8-byte aligned within the record */
	uint64_t regs_abi;    /* PERF_SAMPLE_REGS_ABI_*; 0 = no user registers (kernel thread) */
	uint64_t regs[KC_MAX_REGS]; /* indexed by register number (bits of regs_user_mask) */
	uint64_t regs_mask;   /* which regs[] are present */
	const unsigned char *stack; /* user stack copy starting at the user SP */
	uint64_t stack_size;  /* valid bytes in stack (dyn_size) */
};

/* The trailer of side-band records (with sample_id_all) */
struct kc_sample_id {
	uint32_t pid, tid;
	uint64_t time;
	uint64_t id;
	uint32_t cpu;
};

/* A decoded side-band record. */
struct kc_sideband {
	uint32_t type;        /* PERF_RECORD_* */
	uint16_t misc;
	struct kc_sample_id sid;
	union {
		struct { uint32_t pid, tid; const char *comm; int exec; } comm;
		struct { uint32_t pid, ppid, tid, ptid; uint64_t time; } task; /* FORK, EXIT */
		struct {
			uint32_t pid, tid;
			uint64_t addr, len, pgoff;
			const unsigned char *build_id; /* NULL when the kernel gave inode data */
			uint8_t build_id_size;
			uint32_t prot, flags;
			const char *filename;
		} mmap2;
		struct { uint64_t id, lost; } lost;   /* LOST */
		struct { uint64_t lost; } lost_samples; /* LOST_SAMPLES */
		struct { int out, preempt; uint32_t next_prev_pid, next_prev_tid; } sw; /* SWITCH(_CPU_WIDE) */
		struct { uint64_t time, id, stream_id; } throttle;
	} u;
};

/* Decodes a PERF_RECORD_SAMPLE of len bytes (header included; the record must be 8-byte
 * aligned). Returns 0, or -1 when the record is shorter than its fields say. */
int kc_parse_sample(const struct kc_layout *l, const void *rec, size_t len, struct kc_sample *s);

/* Decodes a side-band record of len bytes. Returns 0, 1 for a record type the decoder
 * does not know (sid is still filled when the layout allows), or -1 when malformed. */
int kc_parse_sideband(const struct kc_layout *l, const void *rec, size_t len, struct kc_sideband *r);

/* The time of any record (sample or side-band), or 0 when it carries none. */
uint64_t kc_record_time(const struct kc_layout *l, const void *rec, size_t len);

/* ---- the ring buffer ---- */

/* One perf mmap ring: a control page followed by data_size bytes (a power of two). */
struct kc_ring {
	void *base;               /* the mapping (control page first) */
	size_t map_size;
	unsigned char *data;
	uint64_t data_size;
	unsigned char *scratch;   /* holds a record that wraps around the end */
	size_t scratch_size;
};

/* Sets up ring over memory already mapped (or, in tests, allocated): base is the
 * control page (struct perf_event_mmap_page), data follows at data_offset (or one page
 * when the kernel leaves it 0). */
void kc_ring_init(struct kc_ring *r, void *base, size_t map_size, size_t page_size);
void kc_ring_release(struct kc_ring *r);

/* Calls fn for every complete record between the reader's tail and the kernel's head,
 * with the record contiguous and 8-byte aligned (copied when it wraps), then advances
 * the tail so the kernel may reuse the space. Reading uses acquire/release ordering on
 * data_head/data_tail as perf_event_open(2) requires. A record whose size is impossible
 * (0, or beyond head) ends the read and drops the rest of the ring; the return value is
 * then -1, else the number of records read. */
typedef void (*kc_record_fn)(void *ctx, const void *rec, size_t len);
long kc_ring_read(struct kc_ring *r, kc_record_fn fn, void *ctx);

#endif
