/* kh_python.c: Python frames in heap stacks (CPython 3.11).
 *
 * At start-up the library looks for CPython in the process (the symbols Py_Version and
 * _PyRuntime, in the executable or a loaded libpython). At each recorded allocation of a
 * thread that runs Python code (_PyRuntime.gilstate.tstate_current is its thread state
 * when it holds the GIL: the thread state's thread_id is pthread_self(); when it
 * released the GIL around C code, CPython's thread-specific key holds it), it reads
 * the thread's frame chain
 * (cframe -> current_frame -> previous ...) and records, per frame, the code object's
 * address and the current instruction's index: two loads per frame from frames the
 * allocating thread itself owns and is running. The frames are nodes of a tree (each
 * node: its caller's node, code object, instruction), each defined once by an
 * HP_C_PYFRAME record; the stack of an allocation is the pair (native stack id,
 * innermost node), which gets a stack id of its own, defined once by an HP_C_PYSTACK
 * record (with the native return addresses); each code object is described once by an
 * HP_C_PYCODE record (name, file, first line, line table), so that kiln names the
 * frames even after the process is gone. A memo per place keeps recent chains (frame
 * addresses and instructions, compared whole) with the stacks made under them. Code
 * objects are read with process_vm_readv on ourselves: a code object freed under our
 * feet (or a torn chain) gives an error, not a crash.
 *
 * Offsets are CPython 3.11's for x86-64 (checked against pycore_*.h of 3.11.2 and
 * 3.11.7 with Py_BUILD_CORE); other versions are detected and left native only. */
#include "preload/kh.h"
#include "lib/python/py_decode.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <link.h>
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* CPython 3.11, x86-64 */
#define RT_TSTATE_CURRENT 576 /* _PyRuntimeState.gilstate.tstate_current */
#define RT_FINALIZING 24      /* _PyRuntimeState._finalizing (a thread state: the runtime is
			       * ending and may free other threads' states) */
#define RT_TSS_INITIALIZED 592 /* .gilstate.autoTSSkey._is_initialized (int) */
#define RT_TSS_KEY 596        /* .gilstate.autoTSSkey._key (pthread_key_t): each thread's own
			       * PyThreadState, also while it runs without the GIL */
#define TS_CFRAME 56          /* PyThreadState.cframe */
#define TS_THREAD_ID 152      /* PyThreadState.thread_id (pthread_self of its thread) */
#define CF_CURRENT_FRAME 8    /* _PyCFrame.current_frame */
#define FR_CODE 32            /* _PyInterpreterFrame.f_code */
#define FR_PREVIOUS 48        /* .previous */
#define FR_PREV_INSTR 56      /* .prev_instr */
#define FR_IS_ENTRY 68        /* .is_entry (char) */
#define OB_TYPE 8             /* PyObject.ob_type */
#define CO_FIRSTLINENO 72     /* PyCodeObject.co_firstlineno */
#define CO_FILENAME 112
#define CO_QUALNAME 128
#define CO_LINETABLE 136
#define CO_CODE_ADAPTIVE 184  /* the instructions (_PyCode_CODE) */
#define UNI_LENGTH 16         /* PyASCIIObject.length */
#define UNI_STATE 32          /* .state: kind bits 2-4, compact bit 5, ascii bit 6 */
#define UNI_ASCII_DATA 48     /* sizeof(PyASCIIObject) */
#define UNI_UTF8_LEN 48       /* PyCompactUnicodeObject.utf8_length */
#define UNI_UTF8 56           /* .utf8 */
#define UNI_COMPACT_DATA 72   /* sizeof(PyCompactUnicodeObject) */
#define BYTES_SIZE 16         /* PyVarObject.ob_size */
#define BYTES_DATA 32         /* PyBytesObject.ob_sval */

int kh_py_on;
static uint64_t tstate_slot; /* &_PyRuntime.gilstate.tstate_current */
static uint64_t runtime;     /* &_PyRuntime (0: Python frames not read) */
static uint64_t code_type;   /* &PyCode_Type: what a code object's ob_type must be */
uint64_t kh_py_code_type = 1;
uint32_t kh_py_code_gen;

#define REC_WORDS (6 + (HP_PY_MAX_NAME + HP_PY_MAX_FILE + HP_PY_MAX_LINETABLE) / 8 + 2)
static uint64_t rec[REC_WORDS];
static char name_buf[HP_PY_MAX_NAME], file_buf[HP_PY_MAX_FILE];
/* a code object's strings and line table as first read (code_send, under kh_stack_lock) */
static unsigned char pre_name[UNI_ASCII_DATA + 208], pre_file[UNI_ASCII_DATA + 464], pre_lt[2048];

static __thread uint64_t py_buf[2 * HP_PY_MAX_DEPTH] __attribute__((tls_model("initial-exec")));

static inline int ok_ptr(uint64_t p)
{
	/* 4096 <= p < 2^47, 8-aligned: one compare (a misaligned p fails it by bits 60-62) */
	return ((p - 4096) | (p & 7) << 60) < (1ull << 47) - 4096;
}

/* ---- start-up ---- */
/* Puts the library's hooks over CPython's PYMEM_DOMAIN_MEM (1) and PYMEM_DOMAIN_OBJ (2)
 * allocators (any Python 3.5 or later: PyMem_SetAllocator is public API), before the
 * interpreter starts: every object pymalloc hands out is recorded, and pymalloc keeps
 * its speed. PYTHONMALLOC set by the user (or -X dev) makes CPython install its own
 * allocators at start-up, over these: then what it asked for is seen (malloc: every
 * object through malloc; pymalloc: only its large blocks). The raw domain is malloc. */
typedef void (*pyalloc_fn)(int, struct kh_pyalloc *);
static pyalloc_fn py_get, py_set;
static int (*py_initialized)(void);
int kh_py_hooks_checked = 1; /* 0: look once more, when the interpreter is up */

static int complete(const struct kh_pyalloc *a)
{
	return a->malloc && a->calloc && a->realloc && a->free;
}

static void hook_allocators(void)
{
	struct kh_pyalloc h = { NULL, kh_pyh_malloc, kh_pyh_calloc, kh_pyh_realloc, kh_pyh_free }, m, o;
	py_get = (pyalloc_fn)dlsym(RTLD_DEFAULT, "PyMem_GetAllocator");
	py_set = (pyalloc_fn)dlsym(RTLD_DEFAULT, "PyMem_SetAllocator");
	py_initialized = (int (*)(void))dlsym(RTLD_DEFAULT, "Py_IsInitialized");
	if (!py_get || !py_set || kh_py_obj.malloc)
		return;
	py_get(1, &m);
	py_get(2, &o);
	if (!complete(&m) || !complete(&o))
		return;
	kh_py_mem = m;
	kh_py_obj = o;
	h.ctx = &kh_py_mem;
	py_set(1, &h);
	h.ctx = &kh_py_obj;
	py_set(2, &h);
	kh_py_hooks_checked = 0;
}

/* Once the interpreter runs Python code (its configuration is read by then): if
 * PYTHONMALLOC or -X dev made CPython install its own allocators over the hooks, the
 * hooks go back on top of those (they call whatever CPython chose). */
static void check_hooks(void)
{
	struct kh_pyalloc h = { NULL, kh_pyh_malloc, kh_pyh_calloc, kh_pyh_realloc, kh_pyh_free }, m, o;
	kh_py_hooks_checked = 1;
	py_get(1, &m);
	py_get(2, &o);
	if (m.malloc == kh_pyh_malloc && o.malloc == kh_pyh_malloc)
		return;
	if (m.malloc != kh_pyh_malloc && complete(&m)) {
		kh_py_mem = m;
		h.ctx = &kh_py_mem;
		py_set(1, &h);
	}
	if (o.malloc != kh_pyh_malloc && complete(&o)) {
		kh_py_obj = o;
		h.ctx = &kh_py_obj;
		py_set(2, &h);
	}
}

void kh_py_init(void)
{
	const unsigned long *ver = dlsym(RTLD_DEFAULT, "Py_Version");
	void *rt = dlsym(RTLD_DEFAULT, "_PyRuntime");
	Dl_info di;
	struct link_map *lm = NULL;
	const char *path = NULL;
	size_t pl = 0;
	const char *env = getenv(HP_ENV_PYTHON);
	hook_allocators();
	kh_pyfast_update();
	if (!ver || !rt)
		return;
	/* the module's path as kh_modules.c sends it: the link map's name, or for the
	 * executable (whose name there is "") /proc/self/exe */
	if (dladdr1(rt, &di, (void **)&lm, RTLD_DL_LINKMAP) && lm && lm->l_name) {
		if (lm->l_name[0]) {
			path = lm->l_name;
			pl = kh_strlen(path);
		} else {
			ssize_t l = readlink("/proc/self/exe", file_buf, sizeof(file_buf));
			path = file_buf;
			pl = l > 0 ? (size_t)l : 0;
		}
	}
	if (pl > HP_PY_MAX_FILE)
		pl = 0;
	memset(rec, 0, 4 * 8 + pl + 8);
	rec[0] = HP_C_PYINFO | (uint64_t)(4 + (pl + 7) / 8) << 8;
	rec[1] = *ver;
	rec[2] = (*ver >> 16) != 0x030b ? 0 : env && env[0] == '0' ? 2 : 1; /* 2: turned off by the user */
	rec[3] = pl;
	if (pl)
		memcpy(&rec[4], path, pl);
	code_type = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "PyCode_Type");
	if (code_type)
		kh_py_code_type = code_type;
	if (rec[2] == 1) {
		const char *full = getenv(HP_ENV_PYTHON_INTERNALS);
		void *ev = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
		const ElfW(Sym) *sym = NULL;
		char exe[256];
		ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		const char *base = exe;
		if (el < 0)
			el = 0;
		exe[el] = 0;
		for (ssize_t k = 0; k < el; k++)
			if (exe[k] == '/')
				base = exe + k + 1;
		/* native walks stop at the innermost eval loop: in a python executable (not
		 * a program that embeds Python, whose own frames lie below), unless the
		 * interpreter's frames are wanted (or the function's size is unknown) */
		if (ev && !(full && full[0] == '1') && !strncmp(base, "python", 6) &&
		    dladdr1(ev, &di, (void **)&sym, RTLD_DL_SYMENT) && sym &&
		    sym->st_size && (uint64_t)(uintptr_t)di.dli_saddr == (uint64_t)(uintptr_t)ev) {
			kh_eval_lo = (uint64_t)(uintptr_t)ev;
			kh_eval_len = sym->st_size;
		}
		tstate_slot = (uint64_t)(uintptr_t)rt + RT_TSTATE_CURRENT;
		runtime = (uint64_t)(uintptr_t)rt;
		__atomic_store_n(&kh_py_on, 1, __ATOMIC_RELEASE);
		if (kh_tls.blk) /* this thread recorded before: its memos were not taken */
			kh_py_memo_pages(kh_tls.blk);
	}
	kh_control_write(rec, 4 + (pl + 7) / 8);
}

/* ---- reading our own memory without trusting it ---- */
static int safe_read(void *dst, uint64_t addr, size_t n)
{
	struct iovec l = { dst, n }, r = { (void *)(uintptr_t)addr, n };
	if (!addr)
		return -1;
	return syscall(SYS_process_vm_readv, getpid(), &l, 1UL, &r, 1UL, 0UL) == (long)n ? 0 : -1;
}

/* The first bytes of up to three objects in one system call (a code object's name,
 * file and line table: one call instead of five): at most want[i] bytes from obj[i]
 * into out[i], clipped to the end of the page where its first min bytes end (that
 * page is mapped: the object is alive), got[i] the bytes read (0 for obj[i] not a
 * pointer). Returns 0, or -1 when the read failed (then got[] is all 0). */
static int safe_read3(const uint64_t obj[3], const size_t want[3], size_t min, unsigned char *out[3], size_t got[3])
{
	struct iovec l[3], r[3];
	unsigned long k = 0;
	size_t total = 0;
	for (int i = 0; i < 3; i++) {
		uint64_t page_end = ((obj[i] + min + 4095) & ~4095ull);
		size_t n = want[i];
		got[i] = 0;
		if (!ok_ptr(obj[i]))
			continue;
		if (obj[i] + n > page_end)
			n = (size_t)(page_end - obj[i]);
		got[i] = n;
		l[k].iov_base = out[i];
		l[k].iov_len = n;
		r[k].iov_base = (void *)(uintptr_t)obj[i];
		r[k].iov_len = n;
		total += n;
		k++;
	}
	if (!k || syscall(SYS_process_vm_readv, getpid(), l, k, r, k, 0UL) == (long)total)
		return 0;
	got[0] = got[1] = got[2] = 0;
	return -1;
}

/* A str object as UTF-8 into out[cap]; returns the length (0 when unreadable). */
static size_t read_str(uint64_t obj, char *out, size_t cap);

/* read_str from the object's first got bytes when they hold it all (a compact ASCII
 * str, the usual name or path), else read_str. */
static size_t read_str_pre(uint64_t obj, const unsigned char *pre, size_t got, char *out, size_t cap)
{
	uint64_t len;
	uint32_t state;
	if (got >= UNI_ASCII_DATA) {
		memcpy(&len, pre + UNI_LENGTH, 8);
		memcpy(&state, pre + UNI_STATE, 4);
		if ((state & 3u << 5) == 3u << 5 && len <= cap && UNI_ASCII_DATA + len <= got) {
			memcpy(out, pre + UNI_ASCII_DATA, (size_t)len);
			return (size_t)len;
		}
	}
	return read_str(obj, out, cap);
}

static size_t read_str(uint64_t obj, char *out, size_t cap)
{
	unsigned char hdr[UNI_COMPACT_DATA];
	uint64_t len, utf8, utf8_len;
	uint32_t state, kind;
	size_t n = 0;
	if (!ok_ptr(obj) || safe_read(hdr, obj, UNI_ASCII_DATA) < 0)
		return 0;
	memcpy(&len, hdr + UNI_LENGTH, 8);
	memcpy(&state, hdr + UNI_STATE, 4);
	kind = state >> 2 & 7;
	if (!(state & 1u << 5))
		return 0; /* not compact: not a name CPython makes */
	if (state & 1u << 6) { /* compact ASCII: the bytes follow the header */
		n = len < cap ? (size_t)len : cap;
		return safe_read(out, obj + UNI_ASCII_DATA, n) < 0 ? 0 : n;
	}
	if (safe_read(hdr, obj, UNI_COMPACT_DATA) < 0)
		return 0;
	memcpy(&utf8_len, hdr + UNI_UTF8_LEN, 8);
	memcpy(&utf8, hdr + UNI_UTF8, 8);
	if (utf8 && utf8_len <= cap)
		return safe_read(out, utf8, (size_t)utf8_len) < 0 ? 0 : (size_t)utf8_len;
	if (kind != 1 && kind != 2 && kind != 4)
		return 0;
	/* the characters, a buffer at a time (cap of them at most: each is a byte or more) */
	for (uint64_t i = 0; i < len && i < cap && n < cap;) {
		uint32_t raw[64];
		size_t k = len - i < 64 ? (size_t)(len - i) : 64, was = n;
		if (safe_read(raw, obj + UNI_COMPACT_DATA + i * kind, k * kind) < 0)
			return 0;
		n = py_str_utf8(raw, k, kind, out, n, cap);
		if (n == was)
			break;
		i += k;
	}
	return n;
}

/* ---- code objects sent (under kh_stack_lock) ---- */
/* Code objects sent, by address. Entries are added and changed under kh_stack_lock
 * (code_send; kh_py_code_dead when CPython frees a code object); a capture looks one up
 * without it, from a thread that may not hold the GIL, so the table is published whole
 * (its size inside) and an entry's address is written last. serial counts the code
 * objects freed at this address: the next one there is another, even with the same
 * strings at the same addresses (they may have been freed and made again too), and is
 * sent anew (sent: serial when sent). */
struct code_ent {
	uint64_t addr, qualname, filename, linetable; /* addr 0: empty */
	uint32_t serial, sent;
};
struct code_tab {
	uint32_t cap, n;
	uint64_t pad_[2];
	struct code_ent e[];
};
static struct code_tab *codes;

static struct code_ent *code_slot(struct code_tab *c, uint64_t addr)
{
	uint32_t mask = c->cap - 1, i = (uint32_t)((addr >> 4) * 0x9E3779B97F4A7C15ull >> 40) & mask;
	uint64_t a;
	while ((a = __atomic_load_n(&c->e[i].addr, __ATOMIC_ACQUIRE)) != 0 && a != addr)
		i = (i + 1) & mask;
	return &c->e[i];
}

/* The entry of the code object at addr, or NULL when none was sent. */
static struct code_ent *code_find(uint64_t addr)
{
	struct code_tab *c = __atomic_load_n(&codes, __ATOMIC_ACQUIRE);
	struct code_ent *e;
	if (!c)
		return NULL;
	e = code_slot(c, addr);
	return __atomic_load_n(&e->addr, __ATOMIC_RELAXED) == addr ? e : NULL;
}

void kh_py_code_dead(uint64_t addr)
{
	struct kh_thread *t = &kh_tls;
	struct code_ent *e;
	KH_CRIT_BEGIN(t);
	kh_lock(&kh_stack_lock);
	e = code_find(addr);
	/* a code object no stack names is in no memo either */
	if (e) {
		e->serial++;
		__atomic_store_n(&kh_py_code_gen, kh_py_code_gen + 1, __ATOMIC_RELAXED);
	}
	kh_unlock(&kh_stack_lock);
	KH_CRIT_END(t);
}

/* A table twice the size holding the old one's entries, published (under
 * kh_stack_lock); the old one stays mapped for lookups still reading it. */
static int codes_grow(void)
{
	struct code_tab *old = codes, *g;
	uint32_t cap = old ? old->cap * 2 : 1024;
	g = kh_map_anon(sizeof(*g) + (size_t)cap * sizeof(g->e[0]));
	if (!g)
		return -1;
	g->cap = cap;
	for (uint32_t i = 0; old && i < old->cap; i++)
		if (old->e[i].addr) {
			*code_slot(g, old->e[i].addr) = old->e[i];
			g->n++;
		}
	__atomic_store_n(&codes, g, __ATOMIC_RELEASE);
	return 0;
}

/* Sends the code object at addr unless it was sent and still has the same strings:
 * 0, or -1 when it could not be (then it is not in the table). */
static int code_send(uint64_t addr)
{
	unsigned char co[CO_LINETABLE + 8];
	uint64_t qual, file, lt, ltlen = 0, type;
	int32_t first;
	size_t nq, nf, at, got[3];
	struct code_ent *e;
	char *bytes;
	if ((!codes || (codes->n + 1) * 2 > codes->cap) && codes_grow() < 0)
		return -1;
	e = code_slot(codes, addr);
	/* sent, and still the same code object? (it is alive: a running frame holds it,
	 * so plain loads are safe; a freed one's address can hold a new code object) */
	if (e->addr == addr && e->sent == e->serial && *(const uint64_t *)(uintptr_t)(addr + CO_QUALNAME) == e->qualname &&
	    *(const uint64_t *)(uintptr_t)(addr + CO_FILENAME) == e->filename &&
	    *(const uint64_t *)(uintptr_t)(addr + CO_LINETABLE) == e->linetable)
		return 0;
	if (safe_read(co, addr, sizeof(co)) < 0)
		return -1;
	memcpy(&type, co + OB_TYPE, 8);
	if (code_type && type != code_type)
		return -1; /* not a code object (freed, or a layout we do not know): unnamed */
	memcpy(&first, co + CO_FIRSTLINENO, 4);
	memcpy(&file, co + CO_FILENAME, 8);
	memcpy(&qual, co + CO_QUALNAME, 8);
	memcpy(&lt, co + CO_LINETABLE, 8);
	{
		const uint64_t obj[3] = { qual, file, lt };
		const size_t want[3] = { sizeof(pre_name), sizeof(pre_file), sizeof(pre_lt) };
		unsigned char *out[3] = { pre_name, pre_file, pre_lt };
		safe_read3(obj, want, UNI_ASCII_DATA, out, got);
	}
	nq = read_str_pre(qual, pre_name, got[0], name_buf, sizeof(name_buf));
	nf = read_str_pre(file, pre_file, got[1], file_buf, sizeof(file_buf));
	if (got[2] >= BYTES_DATA)
		memcpy(&ltlen, pre_lt + BYTES_SIZE, 8);
	else if (!ok_ptr(lt) || safe_read(&ltlen, lt + BYTES_SIZE, 8) < 0)
		ltlen = 0;
	if (ltlen > HP_PY_MAX_LINETABLE)
		ltlen = HP_PY_MAX_LINETABLE;
	/* the words the record uses (the last one's padding zeroed) */
	memset(rec, 0, (6 + (nq + nf + (size_t)ltlen + 7) / 8) * 8);
	bytes = (char *)&rec[6];
	memcpy(bytes, name_buf, nq);
	memcpy(bytes + nq, file_buf, nf);
	if (BYTES_DATA + ltlen <= got[2])
		memcpy(bytes + nq + nf, pre_lt + BYTES_DATA, (size_t)ltlen);
	else if (ltlen && safe_read(bytes + nq + nf, lt + BYTES_DATA, (size_t)ltlen) < 0)
		ltlen = 0;
	at = 6 + (nq + nf + (size_t)ltlen + 7) / 8;
	rec[0] = HP_C_PYCODE | (uint64_t)at << 8;
	rec[1] = addr;
	rec[2] = (uint64_t)(uint32_t)first;
	rec[3] = nq;
	rec[4] = nf;
	rec[5] = ltlen;
	if (kh_control_write(rec, at) < 0)
		return -1;
	e->sent = e->serial;
	e->qualname = qual;
	e->filename = file;
	e->linetable = lt;
	if (e->addr != addr) {
		codes->n++;
		__atomic_store_n(&e->addr, addr, __ATOMIC_RELEASE); /* last: found only whole */
	}
	return 0;
}

/* ---- Python frames as a tree, and stacks (kh_ptabs, as kh_stacks.c's) ----
 * A chain is a path in a tree of frames: a node is (its caller's node, code object,
 * instruction word), sent once by an HP_C_PYFRAME record, so that chains sharing their
 * outer frames (an import's, a server's loop) send only the frames they add. A stack is
 * (native stack id, innermost node), sent once by an HP_C_PYSTACK record. A fork child
 * starts both trees anew (kh_py_fork_child): the reader keeps each process image's
 * nodes apart. Nodes and stacks are found without a lock, made under kh_stack_lock. */
struct pnode {
	uint64_t hash;
	uint64_t code, w;
	uint32_t id, parent;
	uint32_t sent; /* every code object from here to the root was sent: a memo may keep
			* the chain (a code object freed is then seen, kh_py_code_dead) */
	uint32_t pad_;
};
struct pstack {
	uint64_t hash;
	uint32_t id, native, leaf, pad_;
};
static struct kh_ptab *ntab, *ptab;
static uint32_t node_next = 1;

/* a 64-bit finalizer (every input bit moves the low bits, which pick the slot) */
static inline uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ h >> 33;
}

static inline uint64_t node_hash(uint32_t parent, uint64_t code, uint64_t w)
{
	return mix(code ^ mix(w ^ (uint64_t)parent << 32));
}

static inline uint64_t pstack_hash(uint32_t native, uint32_t leaf)
{
	return mix((uint64_t)native << 32 | leaf);
}

static const struct pnode *nfind(const struct kh_ptab *s, uint32_t parent, uint64_t code, uint64_t w,
				 uint64_t hash)
{
	uint32_t mask = s->cap - 1, i = (uint32_t)hash & mask;
	for (;;) {
		const struct pnode *k = kh_ptab_at(s, i, hash);
		if (k == (void *)1)
			return NULL;
		if (k && k->code == code && k->w == w && k->parent == parent)
			return k;
		i = (i + 1) & mask;
	}
}

static const struct pstack *pfind(const struct kh_ptab *s, uint32_t native, uint32_t leaf, uint64_t hash)
{
	uint32_t mask = s->cap - 1, i = (uint32_t)hash & mask;
	for (;;) {
		const struct pstack *k = kh_ptab_at(s, i, hash);
		if (k == (void *)1)
			return NULL;
		if (k && k->native == native && k->leaf == leaf)
			return k;
		i = (i + 1) & mask;
	}
}

/* A new entry of size bytes for *tab, whose table has room for it (half full at most:
 * most lookups of a new key end at once), *s; NULL when out of memory. Under
 * kh_stack_lock. */
static void *entry_new(struct kh_ptab **tab, size_t size, struct kh_ptab **s)
{
	*s = *tab;
	if (!*s || ((*s)->count + 1) * 2 > (*s)->cap) {
		struct kh_ptab *g = kh_ptab_grow(*s, KH_PTAB_FIRST);
		if (!g)
			return NULL;
		__atomic_store_n(tab, g, __ATOMIC_RELEASE);
		*s = g;
	}
	return kh_arena_alloc(size);
}

static uint64_t rec_w[3 + HP_MAX_DEPTH];

/* Sends the record in rec_w (words long) of the new entry k, then publishes k in table
 * s: a reader of the control ring sees the definition before any use. */
static void entry_send(struct kh_ptab *s, void *k, uint32_t words)
{
	kh_control_write(rec_w, words);
	kh_ptab_put(s, k);
}

/* The node of code object code at instruction word w called from node parent (0: the
 * outermost frame), made and sent when new (its code object first); NULL when out of
 * memory. psent: parent's sent (1 for the root). */
static const struct pnode *ninsert(uint32_t parent, uint64_t code, uint64_t w, uint64_t hash, uint32_t psent)
{
	struct kh_ptab *s;
	struct pnode *k;
	const struct pnode *old;
	int saved = errno;
	kh_lock(&kh_stack_lock);
	old = ntab ? nfind(ntab, parent, code, w, hash) : NULL;
	if (old || !(k = entry_new(&ntab, sizeof(*k), &s)))
		goto out;
	k->hash = hash;
	k->code = code;
	k->w = w;
	k->parent = parent;
	k->id = node_next++;
	k->sent = code_send(code) == 0 && psent; /* sent whatever the callers' */
	rec_w[0] = HP_C_PYFRAME | 5u << 8;
	rec_w[1] = k->id;
	rec_w[2] = parent;
	rec_w[3] = code;
	rec_w[4] = w;
	entry_send(s, k, 5);
	old = k;
out:
	kh_unlock(&kh_stack_lock);
	errno = saved;
	return old;
}

/* The stack of native stack native under Python node leaf, made and sent when new;
 * NULL when out of memory. */
static const struct pstack *pinsert(uint32_t native, uint32_t leaf, uint64_t hash)
{
	struct kh_ptab *s;
	struct pstack *k;
	const struct pstack *old;
	const uint64_t *ips;
	uint32_t nd = 0;
	int saved = errno;
	kh_lock(&kh_stack_lock);
	old = ptab ? pfind(ptab, native, leaf, hash) : NULL;
	if (old || !(k = entry_new(&ptab, sizeof(*k), &s)))
		goto out;
	ips = kh_stack_ips(native, &nd);
	if (!ips)
		nd = 0;
	k->hash = hash;
	k->native = native;
	k->leaf = leaf;
	k->id = kh_stack_next_id();
	rec_w[0] = HP_C_PYSTACK | (uint64_t)(3 + nd) << 8;
	rec_w[1] = k->id;
	rec_w[2] = nd | (uint64_t)leaf << 32;
	memcpy(&rec_w[3], ips, (size_t)nd * 8);
	entry_send(s, k, 3 + nd);
	old = k;
out:
	kh_unlock(&kh_stack_lock);
	errno = saved;
	return old;
}

static const struct pnode *node_of(struct kh_thread *t, uint32_t parent, uint64_t code, uint64_t w, uint32_t psent)
{
	uint64_t h = node_hash(parent, code, w);
	const struct kh_ptab *s = __atomic_load_n(&ntab, __ATOMIC_ACQUIRE);
	const struct pnode *k = s ? nfind(s, parent, code, w, h) : NULL;
	if (KH_UNLIKELY(!k)) {
		KH_CRIT_BEGIN(t);
		k = ninsert(parent, code, w, h, psent);
		KH_CRIT_END(t);
	}
	return k;
}

/* The id of the stack of native stack native under node leaf, found or made: 0 when
 * out of memory. */
static uint32_t pstack_of(struct kh_thread *t, uint32_t native, uint32_t leaf)
{
	uint64_t h = pstack_hash(native, leaf);
	const struct kh_ptab *s = __atomic_load_n(&ptab, __ATOMIC_ACQUIRE);
	const struct pstack *k = s ? pfind(s, native, leaf, h) : NULL;
	if (KH_UNLIKELY(!k)) {
		KH_CRIT_BEGIN(t);
		k = pinsert(native, leaf, h);
		KH_CRIT_END(t);
	}
	return k ? k->id : 0;
}

void kh_py_fork_child(void)
{
	/* the parent's nodes went to the parent's reader: this image sends its own */
	ntab = ptab = NULL;
	__atomic_store_n(&kh_py_code_gen, kh_py_code_gen + 1, __ATOMIC_RELAXED);
}

/* ---- per allocation ---- */
/* The memo set of the chain from frame f, by its address and instruction (the ways
 * of a set keep the chains of one place reached from several others). */
static inline uint32_t memo_set(uint64_t f, uint64_t instr)
{
	uint64_t h = (f >> 3) * 0x9E3779B97F4A7C15ull ^ (instr >> 1) * 0xC2B2AE3D27D4EB4Full;
	return (uint32_t)(h >> 48) & (KH_PYMEMO_SETS - 1);
}

/* 1 when the thread's chain from frame f is the one memo m holds, else 0. The frames
 * are those the memo names, at the same addresses: live frames of this thread, which
 * holds the GIL. A frame's instruction pointer names its code object too (it points
 * into the code object's instructions, which no other live object overlaps) while no
 * code object the memo names has been freed since it was made (gen). */
static inline int memo_hit(const struct kh_pymemo *m, uint64_t f)
{
	const uint64_t *fr = m->fr, *end;
	uint64_t a, prev;
	int ne;
	if (!m->leaf || m->gen != __atomic_load_n(&kh_py_code_gen, __ATOMIC_RELAXED) || f != fr[0])
		return 0;
	/* Frame i is read at the memo's address for it (fr[2 i]), not at the previous
	 * pointer just loaded: the two are equal, as the branch before the reads has
	 * checked, so every address read is a frame of the live chain (in program
	 * order), but the reads of a frame do not wait for the load of its successor's
	 * previous pointer: the branches are predicted and the frames read in parallel
	 * instead of one dependent load after another. The comparison is made in asm so
	 * that the compiler, not knowing the two equal, cannot use the loaded pointer for
	 * the address. */
	a = f;
	end = fr + 2 * (size_t)m->n;
	for (;;) {
		uint64_t d = (*(const uint64_t *)(uintptr_t)(a + FR_PREV_INSTR) |
			      (*(const uint8_t *)(uintptr_t)(a + FR_IS_ENTRY) & 1)) ^
			     fr[1];
		prev = *(const uint64_t *)(uintptr_t)(a + FR_PREVIOUS);
		fr += 2;
		if (d)
			return 0;
		if (fr == end)
			break;
		a = fr[0];
		__asm__("cmpq %2, %1" : "=@ccne"(ne) : "r"(a), "r"(prev));
		if (ne)
			return 0;
	}
	return !prev;
}

/* The slot of native stack native_id in a memo. */
static inline uint32_t memo_slot(uint32_t native_id)
{
	return native_id * 0x9E3779B9u >> (32 - KH_PYMEMO_NATIVE_BITS);
}

/* Keeps stack id under native stack native_id in memo m. */
static inline void memo_native(struct kh_pymemo *m, uint32_t native_id, uint32_t id)
{
	uint32_t i = memo_slot(native_id);
	m->slot[i].native = native_id;
	m->slot[i].id = id;
}

/* The memo holds the chain but not this native stack under it: the stack of the pair
 * (no frame read again). */
static __attribute__((noinline)) uint32_t py_stack_native(struct kh_thread *t, struct kh_pymemo *m,
							   uint32_t native_id)
{
	uint32_t id = pstack_of(t, native_id, m->leaf);
	if (!id)
		return native_id;
	memo_native(m, native_id, id);
	return id;
}

/* py_stack without a memo of the chain: reads it (innermost first), keeps the nodes of
 * the outer frames it shares with the last chain read, finds or makes the nodes of
 * the others (outermost first) and its stack, and refills memo m (apart, so that the
 * common case stays a small function). */
static __attribute__((noinline)) uint32_t py_stack_read(struct kh_thread *t, struct kh_pymemo *m,
							 uint32_t native_id, uint64_t f)
{
	struct kh_pylast *l = &t->blk->pylast;
	uint32_t n = 0, c = 0, leaf = 0, sent = 1, id, gen = __atomic_load_n(&kh_py_code_gen, __ATOMIC_RELAXED);
	uint64_t *buf = py_buf, *codes_of = t->blk->pycode;
	m->leaf = 0; /* refilled below */
	m->gen = gen;
	while (f && n < HP_PY_MAX_DEPTH && ok_ptr(f)) {
		uint64_t code = *(const uint64_t *)(uintptr_t)(f + FR_CODE);
		if (!ok_ptr(code))
			break;
		buf[2 * n] = f;
		buf[2 * n + 1] = *(const uint64_t *)(uintptr_t)(f + FR_PREV_INSTR) |
				 (*(const uint8_t *)(uintptr_t)(f + FR_IS_ENTRY) & 1);
		codes_of[n] = code;
		n++;
		f = *(const uint64_t *)(uintptr_t)(f + FR_PREVIOUS);
	}
	/* the outer frames shared with the last chain keep their nodes */
	if (l->gen == gen) {
		uint32_t most = l->n < n ? l->n : n;
		while (c < most && l->fr[2 * c] == buf[2 * (n - 1 - c)] && l->fr[2 * c + 1] == buf[2 * (n - 1 - c) + 1])
			c++;
		if (c)
			leaf = l->node[c - 1];
	}
	l->gen = gen;
	l->n = c;
	for (uint32_t j = c; j < n; j++) {
		uint32_t i = n - 1 - j;
		uint64_t code = codes_of[i], instr = buf[2 * i + 1] & ~1ull, entry = buf[2 * i + 1] & 1;
		int64_t lasti = (int64_t)(instr - code - CO_CODE_ADAPTIVE) >> 1; /* code units of 2 bytes */
		uint64_t qual = *(const uint64_t *)(uintptr_t)(code + CO_QUALNAME), w;
		const struct code_ent *ce = code_find(code);
		const struct pnode *k;
		if (lasti < -1 || lasti > INT32_MAX)
			lasti = -1;
		/* bits 33-63: a tag of the code object (how many were freed at its address,
		 * and its qualname), so that a new code object at a freed one's address
		 * makes new nodes (the reader ignores them) */
		w = (uint32_t)lasti | entry << 32 |
		    ((qual >> 4) * 0x9E3779B97F4A7C15ull ^ (uint64_t)(ce ? ce->serial : 0) << 33) >> 33 << 33;
		k = node_of(t, leaf, code, w, sent);
		if (!k)
			return native_id;
		leaf = k->id;
		sent = k->sent;
		if (sent && l->n == j) {
			l->fr[2 * j] = buf[2 * i];
			l->fr[2 * j + 1] = buf[2 * i + 1];
			l->node[j] = leaf;
			l->n = j + 1;
		}
	}
	if (!leaf || !(id = pstack_of(t, native_id, leaf)))
		return native_id;
	/* kept for next time when the whole chain was read (to its end), fits and was sent */
	if (!f && n <= KH_PYMEMO_DEPTH && sent) {
		memcpy(m->fr, buf, (size_t)n * 16);
		memset(m->slot, 0, sizeof(m->slot));
		memo_native(m, native_id, id);
		m->n = n;
		m->leaf = leaf;
	}
	return id;
}

/* The stack of native stack native_id with the Python frames from frame f, the
 * innermost of this thread (which runs Python code: no other thread changes them). */
static inline __attribute__((always_inline)) uint32_t py_stack(struct kh_thread *t, uint32_t native_id, uint64_t f)
{
	struct kh_pymemo *m;
	uint32_t set, v;
	if (!native_id)
		return native_id;
	/* the common case: the chain of a recent allocation at the same place, over a
	 * native stack seen under it */
	set = memo_set(f, *(const uint64_t *)(uintptr_t)(f + FR_PREV_INSTR));
	m = &t->blk->pymemo[set * KH_PYMEMO_WAYS];
	for (int w = 0; w < KH_PYMEMO_WAYS; w++)
		if (KH_LIKELY(memo_hit(m + w, f))) {
			uint32_t i = memo_slot(native_id);
			if (KH_LIKELY(m[w].slot[i].native == native_id))
				return m[w].slot[i].id;
			return py_stack_native(t, m + w, native_id);
		}
	v = t->blk->pyvictim[set];
	t->blk->pyvictim[set] = (uint8_t)((v + 1) % KH_PYMEMO_WAYS);
	return py_stack_read(t, m + v, native_id, f);
}

/* pthread_self() without the call: on x86-64 glibc it is the thread pointer (%fs:0, the
 * thread descriptor's own address), which CPython stores as PyThreadState.thread_id */
static inline uint64_t thread_self(void)
{
	uint64_t tp;
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

/* This thread's PyThreadState while another thread holds the GIL (or none does): the
 * one CPython keeps for it in its thread-specific key (set for every thread that ran
 * Python), or 0. The thread is in C code called from Python with the GIL released
 * (Py_BEGIN_ALLOW_THREADS: SQLite, ctypes, compression): its frames stay as they were,
 * and no other thread changes them. */
static inline uint64_t own_tstate(void)
{
	uint64_t ts;
	/* not while the runtime ends: it frees the states of threads still running C code
	 * (daemon threads) without clearing their keys */
	if (!runtime || __atomic_load_n((const int *)(uintptr_t)(runtime + RT_TSS_INITIALIZED), __ATOMIC_RELAXED) != 1 ||
	    __atomic_load_n((const uint64_t *)(uintptr_t)(runtime + RT_FINALIZING), __ATOMIC_ACQUIRE))
		return 0;
	ts = (uint64_t)(uintptr_t)pthread_getspecific(*(const pthread_key_t *)(uintptr_t)(runtime + RT_TSS_KEY));
	return ts && ok_ptr(ts) && *(const volatile uint64_t *)(uintptr_t)(ts + TS_THREAD_ID) == thread_self() ? ts : 0;
}

/* The stack of this allocation with the Python frames of thread state ts (this
 * thread's). */
static inline __attribute__((always_inline)) uint32_t capture_with(struct kh_thread *t, uint64_t ts, uint64_t ip,
								   uint64_t sp, uint64_t bp)
{
	uint64_t cf = *(const volatile uint64_t *)(uintptr_t)(ts + TS_CFRAME), f;
	uint32_t id;
	f = ok_ptr(cf) ? *(const volatile uint64_t *)(uintptr_t)(cf + CF_CURRENT_FRAME) : 0;
	if (!ok_ptr(f))
		return kh_capture_fast(t, ip, sp, bp); /* no Python frame (start-up, the end) */
	t->py_cut = 1;
	id = kh_capture_fast(t, ip, sp, bp);
	t->py_cut = 0;
	return py_stack(t, id, f);
}

/* kh_py_capture when this thread does not hold the GIL (apart: the common case stays
 * as small as it was). */
static __attribute__((noinline)) uint32_t capture_nogil(struct kh_thread *t, uint64_t ip, uint64_t sp, uint64_t bp)
{
	uint64_t ts = own_tstate();
	if (!ts)
		return kh_capture_fast(t, ip, sp, bp); /* a thread that runs no Python */
	return capture_with(t, ts, ip, sp, bp);
}

uint32_t kh_py_capture(struct kh_thread *t, uint64_t ip, uint64_t sp, uint64_t bp)
{
	uint64_t ts = __atomic_load_n((const uint64_t *)(uintptr_t)tstate_slot, __ATOMIC_RELAXED);
	/* another thread holds the GIL, or none: this thread's own state, if it runs
	 * Python code (else the native stack) */
	if (KH_UNLIKELY(!ts || !ok_ptr(ts) ||
			*(const volatile uint64_t *)(uintptr_t)(ts + TS_THREAD_ID) != thread_self()))
		return capture_nogil(t, ip, sp, bp);
	if (KH_UNLIKELY(!kh_py_hooks_checked)) {
		KH_CRIT_BEGIN(t);
		check_hooks();
		KH_CRIT_END(t);
	}
	return capture_with(t, ts, ip, sp, bp);
}

/* The same check where Python frames are not read (another version, or
 * KILN_HEAP_PYTHON=0): once Py_IsInitialized says the interpreter is up. */
void kh_py_check_hooks(struct kh_thread *t)
{
	KH_CRIT_BEGIN(t);
	if (!kh_py_hooks_checked && (!py_initialized || py_initialized()))
		check_hooks();
	KH_CRIT_END(t);
}
