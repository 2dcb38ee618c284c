/* py_bpf_abi.h: what kiln's BPF program (src/bpf/python.bpf.c) and user space share:
 * the per-process configuration it reads and the record it writes per sample.
 * Plain fixed-width types only: this header is compiled for both targets. */
#ifndef KILN_PYTHON_PY_BPF_ABI_H
#define KILN_PYTHON_PY_BPF_ABI_H

#define PYB_MAX_FRAMES 128  /* Python frames read per sample (deeper stacks are cut) */
#define PYB_MAX_THREADS 64  /* thread states searched for the sampled thread */
#define PYB_MAX_PROCS 4096  /* Python processes followed at once */

/* How a thread state is matched to the sampled thread. */
#define PYB_TID_NATIVE 0    /* PyThreadState.native_thread_id == the kernel's tid (3.11+) */
#define PYB_TID_PTHREAD 1   /* PyThreadState.thread_id == pthread_self() == the fs base (3.9, 3.10) */

/* What the per-frame flag byte means. */
#define PYB_ENTRY_IS_ENTRY 0 /* _PyInterpreterFrame.is_entry (3.11): the outermost frame of one C-level eval call */
#define PYB_ENTRY_OWNER 1    /* .owner (3.12+): FRAME_OWNED_BY_CSTACK (3) is the shim frame under each eval call */
#define PYB_ENTRY_EVERY 2    /* PyFrameObject (3.9, 3.10): every frame is its own eval call */

#define PYB_NONE 0xffff      /* an absent offset */
#define PYB_FRAME_READ 128   /* most bytes of a frame read at once */

/* Per process (map key: the process id). All offsets in bytes. */
struct pyb_proc {
	unsigned long long runtime;          /* address of _PyRuntime in the process */
	unsigned short rt_interp_head;       /* _PyRuntimeState.interpreters.head */
	unsigned short interp_threads_head;  /* PyInterpreterState.threads.head */
	unsigned short ts_next;              /* PyThreadState.next */
	unsigned short ts_tid;               /* .native_thread_id or .thread_id */
	unsigned short ts_frame;             /* .cframe (3.10-3.12), .current_frame (3.13), .frame (3.9) */
	unsigned short cframe_current;       /* _PyCFrame.current_frame (3.11, 3.12), else PYB_NONE */
	unsigned short fr_code;              /* frame: f_code / f_executable */
	unsigned short fr_prev;              /* frame: previous / f_back */
	unsigned short fr_instr;             /* frame: prev_instr / instr_ptr (pointer) or f_lasti (int) */
	unsigned short fr_flag;              /* frame: is_entry or owner byte, PYB_NONE for PYB_ENTRY_EVERY */
	unsigned char tid_kind;              /* PYB_TID_* */
	unsigned char entry_kind;            /* PYB_ENTRY_* */
	unsigned char instr_size;            /* 8 (a pointer) or 4 (an int) */
	unsigned char fr_lo, fr_len;         /* the frame bytes [fr_lo, fr_lo + fr_len) hold the four
					      * fields above: one read per frame (fr_len <= PYB_FRAME_READ) */
	unsigned char pad[3];
};

/* Record flags */
#define PYB_F_THREAD 1      /* a thread state for the sampled thread was found */
#define PYB_F_CUT 2         /* more frames than PYB_MAX_FRAMES (the outermost are missing) */
#define PYB_F_FAULT 4       /* a read of the target's memory failed: the walk stopped early */

struct pyb_frame {
	unsigned long long code;   /* code object address */
	unsigned long long instr;  /* instruction pointer (or f_lasti) */
};

/* One record per sample of a followed Python process, written to the ring buffer just
 * before the kernel writes the sample itself (same task, same CPU, same overflow). */
struct pyb_record {
	unsigned long long time;   /* bpf_ktime_get_ns(): CLOCK_MONOTONIC, as the samples */
	unsigned int pid, tid;
	unsigned int cpu;
	unsigned short nframes;
	unsigned short flags;      /* PYB_F_* */
	unsigned char fflags[PYB_MAX_FRAMES]; /* per frame: the flag byte (is_entry/owner) */
	struct pyb_frame frames[PYB_MAX_FRAMES]; /* innermost first */
};
/* The bytes of a record of n frames in the ring buffer: the frames past n are left out. */
#define PYB_RECORD_SIZE(n) (__builtin_offsetof(struct pyb_record, frames) + (n) * sizeof(struct pyb_frame))

/* A process not followed yet was sampled (see `noticed` in python.bpf.c): user space
 * looks at its mappings. Told at most once per PYB_NOTICE_NS per address space. */
#define PYB_NOTICE_NS 50000000ull
struct pyb_notice {
	unsigned long long time;
	unsigned int pid, tid;
};

#endif
