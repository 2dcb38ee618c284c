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

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYB_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct pyb_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
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

/* Per CPU: the bytes of one frame. */
struct frame_buf {
	unsigned char b[2 * PYB_FRAME_READ];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct frame_buf);
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

/* The thread state of the current task, or 0. */
static __always_inline __u64 find_tstate(const struct pyb_proc *p, __u32 tid, int *fault)
{
	__u64 want = tid;
	if (p->tid_kind == PYB_TID_PTHREAD) {
		struct task_struct *task = (void *)bpf_get_current_task();
		want = 0;
		if (bpf_core_field_exists(task->thread.fsbase))
			want = BPF_CORE_READ(task, thread.fsbase);
		if (!want)
			return 0;
	}
	__u64 *cached = bpf_map_lookup_elem(&tstates, &tid);
	if (cached && *cached) {
		int f = 0;
		__u64 ts = *cached;
		if (rd_ptr(ts + p->ts_tid, &f) == want && !f)
			return ts;
	}
	__u64 interp = rd_ptr(p->runtime + p->rt_interp_head, fault);
	if (!interp)
		return 0;
	__u64 ts = rd_ptr(interp + p->interp_threads_head, fault);
	for (int i = 0; i < PYB_MAX_THREADS && ts; i++) {
		__u64 id = rd_ptr(ts + p->ts_tid, fault);
		if (id == want) {
			bpf_map_update_elem(&tstates, &tid, &ts, BPF_ANY);
			return ts;
		}
		ts = rd_ptr(ts + p->ts_next, fault);
	}
	return 0;
}

/* A field of the frame bytes read at fr_lo (off is the field's offset in the frame). */
static __always_inline __u64 field(const struct frame_buf *fb, const struct pyb_proc *p, __u16 off, int size)
{
	__u32 at = (__u32)(off - p->fr_lo) & (PYB_FRAME_READ - 1);
	if (size == 8)
		return *(const __u64 *)(const void *)&fb->b[at];
	if (size == 4)
		return (__u64)(__s64) * (const __s32 *)(const void *)&fb->b[at];
	return fb->b[at];
}

static __always_inline int walk(struct pyb_record *r, const struct pyb_proc *p, __u32 tid)
{
	int fault = 0;
	__u32 zero = 0;
	struct frame_buf *fb = bpf_map_lookup_elem(&scratch, &zero);
	if (!fb)
		return 0;
	__u64 ts = find_tstate(p, tid, &fault);
	if (!ts)
		return fault ? PYB_F_FAULT : 0;
	__u64 fr = rd_ptr(ts + p->ts_frame, &fault);
	if (p->cframe_current != PYB_NONE && fr)
		fr = rd_ptr(fr + p->cframe_current, &fault);
	__u32 len = p->fr_len;
	if (len > PYB_FRAME_READ)
		len = PYB_FRAME_READ;
	int n = 0;
	for (int i = 0; i < PYB_MAX_FRAMES; i++) {
		if (!fr || fault)
			break;
		if (bpf_probe_read_user(fb->b, len, (const void *)(fr + p->fr_lo)) != 0) {
			fault = 1;
			break;
		}
		struct pyb_frame *f = &r->frames[i];
		f->code = field(fb, p, p->fr_code, 8);
		f->instr = field(fb, p, p->fr_instr, p->instr_size == 4 ? 4 : 8);
		r->fflags[i] = p->entry_kind == PYB_ENTRY_EVERY ? 1 : (__u8)field(fb, p, p->fr_flag, 1);
		n = i + 1;
		fr = field(fb, p, p->fr_prev, 8);
	}
	r->nframes = (__u16)n;
	int flags = PYB_F_THREAD;
	if (fault)
		flags |= PYB_F_FAULT;
	else if (fr && n == PYB_MAX_FRAMES)
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
	struct pyb_record *r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		__u32 k = 0;
		__u64 *d = bpf_map_lookup_elem(&dropped, &k);
		if (d)
			__sync_fetch_and_add(d, 1);
		return 1;
	}
	r->time = bpf_ktime_get_ns();
	r->pid = pid;
	r->tid = tid;
	r->cpu = bpf_get_smp_processor_id();
	r->nframes = 0;
	r->flags = (__u16)walk(r, p, tid);
	/* no wakeup: the reader polls every 10 ms (a wakeup per sample costs more than the walk) */
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 1;
}
