/* python.bpf.c: reads the Python stack of the sampled thread at the moment of the sample.
 *
 * Attached (PERF_EVENT_IOC_SET_BPF) to kiln record's sampling events and, with --off-cpu,
 * to its context-switch events. For a task of a process listed in `procs` (filled by
 * user space when it recognises a CPython), it finds the thread state whose thread id is
 * the task's (a bounded walk of the main interpreter's thread list), follows the frame
 * chain from the current frame for at most PYB_MAX_FRAMES frames and writes one record
 * (code object and instruction pointer per frame) to the ring buffer. It always returns
 * 1: the kernel then writes the sample as usual, right after this record.
 * Struct offsets come from the process's entry (src/lib/python/py_offsets.c). */
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "python/py_bpf_abi.h"

_Static_assert((PYB_MAX_FRAMES & (PYB_MAX_FRAMES - 1)) == 0, "PYB_MAX_FRAMES is a power of two");

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYB_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct pyb_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 2 << 20);
} records SEC(".maps");

/* Records the ring buffer had no room for (index 0). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} dropped SEC(".maps");

/* Address spaces (mm) of processes not (yet) followed, with when user space was last
 * told about them: a sampled task of a new address space (a new process, or one that
 * just called exec) is announced at once, and again every PYB_NOTICE_NS while it stays
 * unknown, so that a Python is followed from its first milliseconds rather than when
 * the recorder gets to its mmap records. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u64);
} noticed SEC(".maps");

/* The thread state last found for a thread: checked with one read, walked for on a miss. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} tstates SEC(".maps");

/* Per CPU: the record being filled and the bytes of one frame. The loops run under
 * bpf_loop (the verifier checks each body once: a load takes about a millisecond
 * rather than the 80 ms an unrolled 128-frame walk took) and fill these; the record is
 * then copied into the ring buffer. */
struct scratch {
	struct pyb_record rec;
	unsigned char b[2 * PYB_FRAME_READ];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* Only the fields kiln needs, relocated against the running kernel's BTF (CO-RE). */
struct thread_struct {
	unsigned long fsbase;
} __attribute__((preserve_access_index));
struct mm_struct {
	int dummy;
} __attribute__((preserve_access_index));
struct task_struct {
	struct thread_struct thread;
	struct mm_struct *mm;
} __attribute__((preserve_access_index));

static __always_inline __u64 rd_ptr(__u64 addr, int *fault)
{
	__u64 v = 0;
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr) != 0)
		*fault = 1;
	return v;
}

struct walk_ctx {
	const struct pyb_proc *p;
	__u64 want;     /* the thread id to find */
	__u64 ts;       /* thread walk: the current thread state; then the result */
	__u64 fr;       /* frame walk: the current frame */
	__u32 len;      /* frame bytes per read */
	int n;          /* frames read */
	int fault;
	int found;
};

static long thread_step(__u32 i, void *data)
{
	struct walk_ctx *c = data;
	if (!c->ts)
		return 1;
	if (rd_ptr(c->ts + c->p->ts_tid, &c->fault) == c->want) {
		c->found = 1;
		return 1;
	}
	c->ts = rd_ptr(c->ts + c->p->ts_next, &c->fault);
	return c->fault ? 1 : 0;
}

/* A field of the frame bytes read at fr_lo (off is the field's offset in the frame). */
static __always_inline __u64 field(const struct scratch *sc, const struct pyb_proc *p, __u16 off, int size)
{
	__u32 at = (__u32)(off - p->fr_lo) & (PYB_FRAME_READ - 1);
	if (size == 8)
		return *(const __u64 *)(const void *)&sc->b[at];
	if (size == 4)
		return (__u64)(__s64) * (const __s32 *)(const void *)&sc->b[at];
	return sc->b[at];
}

static long frame_step(__u32 i, void *data)
{
	struct walk_ctx *c = data;
	__u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc || !c->fr || i >= PYB_MAX_FRAMES)
		return 1;
	const struct pyb_proc *p = c->p;
	__u32 len = c->len;
	if (len > PYB_FRAME_READ)
		len = PYB_FRAME_READ;
	if (bpf_probe_read_user(sc->b, len, (const void *)(c->fr + p->fr_lo)) != 0) {
		c->fault = 1;
		return 1;
	}
	/* i < PYB_MAX_FRAMES already; the mask (hidden from the compiler, which would drop
	 * it) gives the verifier the bound on the register that indexes */
	__u32 k = i;
	asm volatile("" : "+r"(k));
	k &= PYB_MAX_FRAMES - 1;
	struct pyb_frame *f = &sc->rec.frames[k];
	f->code = field(sc, p, p->fr_code, 8);
	f->instr = field(sc, p, p->fr_instr, p->instr_size == 4 ? 4 : 8);
	sc->rec.fflags[k] = p->entry_kind == PYB_ENTRY_EVERY ? 1 : (__u8)field(sc, p, p->fr_flag, 1);
	c->n = (int)i + 1;
	c->fr = field(sc, p, p->fr_prev, 8);
	return 0;
}

/* The thread state of the current task, or 0. */
static __always_inline __u64 find_tstate(struct walk_ctx *c, __u32 tid)
{
	const struct pyb_proc *p = c->p;
	c->want = tid;
	if (p->tid_kind == PYB_TID_PTHREAD) {
		struct task_struct *task = (void *)bpf_get_current_task();
		c->want = 0;
		if (bpf_core_field_exists(task->thread.fsbase))
			c->want = BPF_CORE_READ(task, thread.fsbase);
		if (!c->want)
			return 0;
	}
	__u64 *cached = bpf_map_lookup_elem(&tstates, &tid);
	if (cached && *cached) {
		int f = 0;
		__u64 ts = *cached;
		if (rd_ptr(ts + p->ts_tid, &f) == c->want && !f)
			return ts;
	}
	__u64 interp = rd_ptr(p->runtime + p->rt_interp_head, &c->fault);
	if (!interp)
		return 0;
	c->ts = rd_ptr(interp + p->interp_threads_head, &c->fault);
	c->found = 0;
	bpf_loop(PYB_MAX_THREADS, thread_step, c, 0);
	if (!c->found)
		return 0;
	__u64 ts = c->ts;
	bpf_map_update_elem(&tstates, &tid, &ts, BPF_ANY);
	return ts;
}

/* Fills sc->rec's frames; returns its flags. */
static __always_inline int walk(struct scratch *sc, const struct pyb_proc *p, __u32 tid)
{
	struct walk_ctx c = { .p = p };
	__u64 ts = find_tstate(&c, tid);
	if (!ts)
		return c.fault ? PYB_F_FAULT : 0;
	c.fr = rd_ptr(ts + p->ts_frame, &c.fault);
	if (p->cframe_current != PYB_NONE && c.fr)
		c.fr = rd_ptr(c.fr + p->cframe_current, &c.fault);
	if (c.fault)
		return PYB_F_THREAD | PYB_F_FAULT;
	c.len = p->fr_len;
	bpf_loop(PYB_MAX_FRAMES, frame_step, &c, 0);
	sc->rec.nframes = (__u16)c.n;
	int flags = PYB_F_THREAD;
	if (c.fault)
		flags |= PYB_F_FAULT;
	else if (c.fr && c.n == PYB_MAX_FRAMES)
		flags |= PYB_F_CUT;
	return flags;
}

SEC("perf_event")
int kiln_py_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = (__u32)(id >> 32), tid = (__u32)id;
	const struct pyb_proc *p = bpf_map_lookup_elem(&procs, &pid);
	if (!p) {
		struct task_struct *task = (void *)bpf_get_current_task();
		__u64 mm = (__u64)BPF_CORE_READ(task, mm), now = bpf_ktime_get_ns();
		__u64 *last = bpf_map_lookup_elem(&noticed, &mm);
		if (!mm || (last && now - *last < PYB_NOTICE_NS))
			return 1;
		bpf_map_update_elem(&noticed, &mm, &now, BPF_ANY);
		struct pyb_notice *nt = bpf_ringbuf_reserve(&records, sizeof(*nt), 0);
		if (nt) {
			nt->time = now;
			nt->pid = pid;
			nt->tid = tid;
			bpf_ringbuf_submit(nt, 0);
		}
		return 1;
	}
	__u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 1;
	sc->rec.time = bpf_ktime_get_ns();
	sc->rec.pid = pid;
	sc->rec.tid = tid;
	sc->rec.cpu = bpf_get_smp_processor_id();
	sc->rec.nframes = 0;
	sc->rec.flags = (__u16)walk(sc, p, tid);
	/* only the frames read (a few hundred bytes rather than the whole record's 2 KiB);
	 * no wakeup: the reader polls every 10 ms (a wakeup per sample costs more than the
	 * walk) */
	__u32 n = sc->rec.nframes;
	if (n > PYB_MAX_FRAMES)
		n = PYB_MAX_FRAMES;
	if (bpf_ringbuf_output(&records, &sc->rec, PYB_RECORD_SIZE(n), BPF_RB_NO_WAKEUP) != 0) {
		__u64 *d = bpf_map_lookup_elem(&dropped, &zero);
		if (d)
			__sync_fetch_and_add(d, 1);
	}
	return 1;
}
