/* lock_attach.c: lock contention of a running process through uprobes and BPF (see
 * lock_attach.h). */
#include "lock/lock_attach.h"
#include "lock/lock_bpf_abi.h"
#include "heap/heap_proto.h"
#include "symbols/symbols.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "lock_bpf.skel.h"

#define POLL_MS 100

/* the BPF map's lock entry begins with the preload table's (lock_bpf_abi.h) */
#define SAME_FIELD(f) _Static_assert(offsetof(struct lkb_lock, f) == offsetof(struct hp_lock_entry, f), #f)
SAME_FIELD(kind);
SAME_FIELD(first_stack);
SAME_FIELD(acquisitions);
SAME_FIELD(wait_max);
SAME_FIELD(hold_max);
SAME_FIELD(cond_wait_ns);
SAME_FIELD(read_acquisitions);
SAME_FIELD(hold_timed);
_Static_assert(sizeof(struct lkb_lock) >= sizeof(struct hp_lock_entry), "lkb_lock");

static const char *const fn_names[LKB_NFUNCS] = {
	[LKB_F_MUTEX_LOCK] = "pthread_mutex_lock",
	[LKB_F_MUTEX_TRYLOCK] = "pthread_mutex_trylock",
	[LKB_F_MUTEX_TIMEDLOCK] = "pthread_mutex_timedlock",
	[LKB_F_MUTEX_UNLOCK] = "pthread_mutex_unlock",
	[LKB_F_MUTEX_INIT] = "pthread_mutex_init",
	[LKB_F_RW_RDLOCK] = "pthread_rwlock_rdlock",
	[LKB_F_RW_TRYRDLOCK] = "pthread_rwlock_tryrdlock",
	[LKB_F_RW_TIMEDRDLOCK] = "pthread_rwlock_timedrdlock",
	[LKB_F_RW_WRLOCK] = "pthread_rwlock_wrlock",
	[LKB_F_RW_TRYWRLOCK] = "pthread_rwlock_trywrlock",
	[LKB_F_RW_TIMEDWRLOCK] = "pthread_rwlock_timedwrlock",
	[LKB_F_RW_UNLOCK] = "pthread_rwlock_unlock",
	[LKB_F_RW_INIT] = "pthread_rwlock_init",
	[LKB_F_SPIN_LOCK] = "pthread_spin_lock",
	[LKB_F_SPIN_TRYLOCK] = "pthread_spin_trylock",
	[LKB_F_SPIN_UNLOCK] = "pthread_spin_unlock",
	[LKB_F_COND_WAIT] = "pthread_cond_wait",
	[LKB_F_COND_TIMEDWAIT] = "pthread_cond_timedwait",
};

/* Functions whose return is probed too (releases and inits need only their entry). */
static int has_return(int f)
{
	return f != LKB_F_MUTEX_UNLOCK && f != LKB_F_RW_UNLOCK && f != LKB_F_SPIN_UNLOCK && f != LKB_F_MUTEX_INIT &&
	       f != LKB_F_RW_INIT;
}

struct libc_map {
	uint64_t start, end, pgoff;
};

struct attach {
	const struct lock_attach_opts *o;
	struct lock_result *r;
	char *libc;                   /* its path as the process maps it */
	char *libc_open;              /* a path kiln can open (through /proc/PID/root if needed) */
	struct libc_map *maps;        /* its executable mappings */
	size_t nmaps;
	uint64_t off[LKB_NFUNCS];     /* file offsets (0: not found) */
	uint64_t entry[LKB_NFUNCS];   /* run-time addresses of the entries (0: unknown) */
	struct lock_bpf *skel;
	struct bpf_link *links[2 * LKB_NFUNCS];
	size_t nlinks;
	struct ks_session *sym;
	kp_stack_t *stack_of;         /* stack map id -> profile stack + 1 (0: not yet) */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int is_libc(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return !strncmp(b, "libc.so", 7) || (!strncmp(b, "libc-", 5) && strstr(b, ".so"));
}

/* The libc the process maps, and its executable mappings. A process that has just
 * called exec may map its dynamic loader but no libc yet: it is read again for up to
 * two seconds (*loader says whether a loader was seen). */
static int find_libc_once(struct attach *x, int *loader)
{
	char path[64], line[4096];
	int pid = x->o->pid;
	FILE *f;
	*loader = 0;
	free(x->libc);
	x->libc = NULL;
	free(x->maps);
	x->maps = NULL;
	x->nmaps = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f) {
		if (errno == EACCES || errno == EPERM)
			return kiln_error("cannot read the mappings of process %d: %s; kiln lock -p needs root", pid,
					  strerror(errno));
		return kiln_error("no process with pid %d; check the number with 'ps'", pid);
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;
		char perms[8];
		int n = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &s, &e, perms, &off, &n) < 4 || !n)
			continue;
		char *p = line + n;
		p[strcspn(p, "\n")] = '\0';
		if (p[0] == '/' && strstr(p, "/ld-linux"))
			*loader = 1;
		if (p[0] != '/' || !is_libc(p))
			continue;
		if (!x->libc)
			x->libc = xstrdup(p);
		else if (strcmp(x->libc, p))
			continue;
		if (perms[2] == 'x') {
			x->maps = xreallocarray(x->maps, x->nmaps + 1, sizeof(*x->maps));
			x->maps[x->nmaps++] = (struct libc_map){ s, e, off };
		}
	}
	fclose(f);
	return 0;
}

static int find_libc(struct attach *x)
{
	int pid = x->o->pid, loader = 0;
	for (int tries = 0; tries < 100; tries++) {
		if (find_libc_once(x, &loader) < 0)
			return -1;
		if (x->libc || !loader)
			break;
		usleep(20000);
	}
	if (!x->libc) {
		char exe[64];
		char *p;
		snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
		p = realpath(exe, NULL);
		kiln_error("process %d ('%s') maps no libc: it is statically linked (or not yet started); "
			   "kiln lock -p probes the pthread functions of the libc a process maps",
			   pid, p ? p : "?");
		free(p);
		return -1;
	}
	if (access(x->libc, R_OK) == 0) {
		x->libc_open = xstrdup(x->libc);
	} else {
		x->libc_open = xasprintf("/proc/%d/root%s", pid, x->libc);
		if (access(x->libc_open, R_OK) != 0)
			return kiln_error("cannot read '%s', the libc of process %d: %s", x->libc, pid, strerror(errno));
	}
	return 0;
}

/* The file offsets of the probed functions: .dynsym, default symbol versions only (an
 * older version of a function, pthread_cond_wait@GLIBC_2.2.5, is another function). */
static int find_funcs(struct attach *x)
{
	int fd = open(x->libc_open, O_RDONLY | O_CLOEXEC), rc = -1;
	Elf *e = NULL;
	Elf_Scn *scn = NULL;
	Elf_Data *syms = NULL, *vers = NULL;
	size_t nsyms = 0, strndx = 0, nph = 0;
	if (fd < 0)
		return kiln_error("cannot open '%s': %s", x->libc_open, strerror(errno));
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		kiln_error("'%s' is not an ELF file", x->libc_open);
		goto out;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM && sh.sh_entsize) {
			syms = elf_getdata(scn, NULL);
			nsyms = sh.sh_size / sh.sh_entsize;
			strndx = sh.sh_link;
		} else if (sh.sh_type == SHT_GNU_versym) {
			vers = elf_getdata(scn, NULL);
		}
	}
	elf_getphdrnum(e, &nph);
	for (size_t i = 0; syms && i < nsyms; i++) {
		GElf_Sym s;
		GElf_Versym v = 0;
		const char *nm;
		if (!gelf_getsym(syms, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC || !s.st_value ||
		    s.st_shndx == SHN_UNDEF)
			continue;
		if (vers && gelf_getversym(vers, (int)i, &v) && (v & 0x8000))
			continue; /* a hidden (non-default) version */
		nm = elf_strptr(e, strndx, s.st_name);
		if (!nm || strncmp(nm, "pthread_", 8))
			continue;
		for (int f = 0; f < LKB_NFUNCS; f++) {
			if (strcmp(nm, fn_names[f]))
				continue;
			for (size_t k = 0; k < nph; k++) {
				GElf_Phdr ph;
				if (gelf_getphdr(e, (int)k, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
				    s.st_value >= ph.p_vaddr && s.st_value < ph.p_vaddr + ph.p_filesz)
					x->off[f] = s.st_value - ph.p_vaddr + ph.p_offset;
			}
		}
	}
	if (!x->off[LKB_F_MUTEX_LOCK] || !x->off[LKB_F_MUTEX_UNLOCK]) {
		kiln_error("'%s' has no pthread_mutex_lock and pthread_mutex_unlock to probe", x->libc);
		goto out;
	}
	/* one probe per address: a later name at an earlier one's address is left out */
	for (int f = 0; f < LKB_NFUNCS; f++)
		for (int g = 0; g < f && x->off[f]; g++)
			if (x->off[g] == x->off[f])
				x->off[f] = 0;
	for (int f = 0; f < LKB_NFUNCS; f++)
		for (size_t k = 0; x->off[f] && k < x->nmaps; k++)
			if (x->off[f] >= x->maps[k].pgoff && x->off[f] < x->maps[k].pgoff + (x->maps[k].end - x->maps[k].start))
				x->entry[f] = x->maps[k].start + x->off[f] - x->maps[k].pgoff;
	rc = 0;
out:
	if (e)
		elf_end(e);
	close(fd);
	return rc;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int load(struct attach *x)
{
	libbpf_set_print(quiet_print);
	x->skel = lock_bpf__open();
	if (!x->skel)
		return kiln_error("the BPF program of kiln lock -p could not be opened: %s", strerror(errno));
	x->skel->bss->target_tgid = (uint32_t)x->o->pid;
	x->skel->data->hold_threshold_ns = x->o->hold_ns;
	if (lock_bpf__load(x->skel)) {
		int e = errno;
		if (e == EPERM || e == EACCES)
			return kiln_error("cannot load kiln lock's BPF program: %s; kiln lock -p needs root "
					  "(CAP_BPF and CAP_PERFMON)", strerror(e));
		return kiln_error("cannot load kiln lock's BPF program: %s; kiln lock -p needs a kernel with BPF, "
				  "uprobes and BTF (/sys/kernel/btf/vmlinux)", strerror(e));
	}
	return 0;
}

static int attach_probes(struct attach *x)
{
	for (int f = 0; f < LKB_NFUNCS; f++) {
		if (!x->off[f])
			continue;
		for (int ret = 0; ret < 2; ret++) {
			if (ret && !has_return(f))
				continue;
			LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret != 0,
				    .bpf_cookie = (uint64_t)(f | (ret ? LKB_RET : 0)));
			struct bpf_link *l = bpf_program__attach_uprobe_opts(ret ? x->skel->progs.lk_return
										  : x->skel->progs.lk_entry,
									      x->o->pid, x->libc_open, (size_t)x->off[f], &uo);
			if (!l || libbpf_get_error(l)) {
				int e = errno;
				/* an instruction uprobes cannot be placed on (ENOTSUPP): x86-64 glibc's
				 * pthread_spin_lock starts with a locked decrement; the others go on */
				if (e == 524 && f != LKB_F_MUTEX_LOCK && f != LKB_F_MUTEX_UNLOCK) {
					x->off[f] = 0;
					x->entry[f] = 0;
					break;
				}
				if (e == ESRCH)
					return kiln_error("process %d exited before kiln could attach to it", x->o->pid);
				return kiln_error("cannot place a uprobe on '%s' in '%s' for process %d: %s%s", fn_names[f],
						  x->libc, x->o->pid, strerror(e),
						  e == EPERM || e == EACCES ? "; kiln lock -p needs root" : "");
			}
			x->links[x->nlinks++] = l;
		}
	}
	return 0;
}

/* Gone or a zombie. */
static int target_ended(int pid)
{
	char path[64], buf[512];
	int fd;
	ssize_t n;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

static const int stop_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NSTOP (sizeof(stop_sigs) / sizeof(stop_sigs[0]))

struct sigstate {
	sigset_t block, orig;
	struct sigaction old[NSTOP];
	int fd;
};

/* From the start (a Ctrl-C while attaching stops tracing as soon as it begins): the
 * stop signals blocked, at their default disposition (an ignored signal, as a shell's
 * background job has SIGINT, is dropped rather than queued), read from a signalfd. */
static void signals_take(struct sigstate *st)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&st->block);
	for (size_t i = 0; i < NSTOP; i++)
		sigaddset(&st->block, stop_sigs[i]);
	sigprocmask(SIG_BLOCK, &st->block, &st->orig);
	for (size_t i = 0; i < NSTOP; i++)
		sigaction(stop_sigs[i], &dfl, &st->old[i]);
	st->fd = signalfd(-1, &st->block, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void signals_give(struct sigstate *st)
{
	if (st->fd >= 0) {
		struct signalfd_siginfo si;
		while (read(st->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			; /* more than one: all handled by stopping */
		close(st->fd);
	}
	for (size_t i = 0; i < NSTOP; i++)
		sigaction(stop_sigs[i], &st->old[i], NULL);
	sigprocmask(SIG_SETMASK, &st->orig, NULL);
}

/* Waits for a signal, the duration or the process's end. */
static void trace(struct attach *x, int sfd)
{
	uint64_t t0 = now_ns(), deadline = x->o->duration > 0 ? t0 + (uint64_t)(x->o->duration * 1e9) : 0;
	for (;;) {
		struct pollfd pf = { sfd, POLLIN, 0 };
		struct signalfd_siginfo si;
		if (sfd >= 0 && poll(&pf, 1, POLL_MS) > 0 && (pf.revents & POLLIN) &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			break;
		if (sfd < 0)
			usleep(POLL_MS * 1000);
		if (target_ended(x->o->pid) || (deadline && now_ns() >= deadline))
			break;
	}
	x->r->seconds = (double)(now_ns() - t0) / 1e9;
}

/* The profile stack of stack map id (root-first, the caller of the lock function last);
 * ret: see struct lkb_site_key. */
static kp_stack_t stack_get(struct attach *x, int id, uint64_t ret)
{
	uint64_t ips[LKB_STACK_DEPTH + 1];
	kp_frame_t tmp[8];
	kp_stack_t s = 0;
	uint32_t n = 0, first = 0;
	if (id < 0 || id >= LKB_MAX_STACKS)
		return 0;
	/* cached per id when ret is not used (two callers can share the walk above them) */
	if (!ret && x->stack_of[id])
		return x->stack_of[id] - 1;
	memset(ips, 0, sizeof(ips));
	if (bpf_map_lookup_elem(bpf_map__fd(x->skel->maps.stacks), &id, ips) == 0) {
		while (n < LKB_STACK_DEPTH && ips[n])
			n++;
		/* a stack taken at a function's entry starts with that entry: its caller
		 * comes from ret, unless the kernel put it next already */
		for (int f = 0; n && f < LKB_NFUNCS; f++)
			if (x->entry[f] && ips[0] == x->entry[f])
				first = 1;
		if (first && ret && !(n > 1 && ips[1] == ret))
			ips[0] = ret, first = 0;
		for (uint32_t i = n; i-- > first;) {
			/* return addresses: the call is the byte before */
			int k = ks_resolve(x->sym, &x->r->prof, x->o->pid, ips[i] - 1, 0, tmp, 8);
			const struct kp_frame *fr = k > 0 ? &x->r->prof.frames[tmp[0]] : NULL;
			/* unknown outermost addresses: the walk went past a function without a
			 * frame pointer (libc's start_thread) into what is not a return address */
			if (!s && fr && (fr->flags & KP_FRAME_UNKNOWN))
				continue;
			while (k-- > 0)
				s = kp_stack_push(&x->r->prof, s, tmp[k]);
		}
	}
	if (!ret)
		x->stack_of[id] = s + 1;
	return s;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct lock_info *p = a, *q = b;
	return p->addr < q->addr ? -1 : p->addr > q->addr;
}

static void read_maps(struct attach *x)
{
	struct lock_result *r = x->r;
	int fd = bpf_map__fd(x->skel->maps.locks);
	uint64_t k, next, *prev = NULL;
	struct lkb_lock v;
	x->stack_of = xcalloc(LKB_MAX_STACKS, sizeof(*x->stack_of));
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v) != 0 || (!v.acquisitions && !v.cond_waits && !v.timeouts))
			continue;
		struct hp_lock_entry e;
		memcpy(&e, &v, sizeof(e));
		e.addr = k;
		struct lock_info *l = lock_result_add(r, x->o->pid, &e);
		l->created = stack_get(x, v.first_stack, v.first_ret);
		l->name = lock_name(&r->prof, l->kind, l->created, l->addr);
	}
	if (r->nlocks > 1)
		qsort(r->locks, r->nlocks, sizeof(*r->locks), cmp_addr);
	{
		struct lkb_site_key sk, snext, *sprev = NULL;
		struct lkb_site sv;
		fd = bpf_map__fd(x->skel->maps.sites);
		while (bpf_map_get_next_key(fd, sprev, &snext) == 0) {
			sk = snext;
			sprev = &sk;
			if (bpf_map_lookup_elem(fd, &sk, &sv) != 0 || !sv.count)
				continue;
			struct lock_info key = { .addr = sk.addr };
			struct lock_info *l = bsearch(&key, r->locks, r->nlocks, sizeof(*r->locks), cmp_addr);
			if (!l)
				continue;
			l->sites = xreallocarray(l->sites, l->nsites + 1, sizeof(*l->sites));
			struct lock_site *ls = &l->sites[l->nsites++];
			ls->what = (int)sk.what;
			ls->stack = stack_get(x, sk.stack, sk.ret);
			ls->count = sv.count;
			ls->total_ns = sv.total_ns;
			ls->max_ns = sv.max_ns;
		}
	}
	r->dropped = x->skel->bss->dropped_locks + x->skel->bss->dropped_sites + x->skel->bss->dropped_holds;
}

static void set_meta(struct attach *x)
{
	char path[64], buf[4096];
	struct strbuf sb = STRBUF_INIT;
	int fd;
	ssize_t n;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", x->o->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	for (ssize_t i = 0; i < n; i++)
		strbuf_addch(&sb, buf[i] ? buf[i] : ' ');
	while (sb.len && sb.buf[sb.len - 1] == ' ')
		sb.buf[--sb.len] = '\0';
	if (sb.len)
		kp_meta_set(&x->r->prof, "command", sb.buf);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "%d", x->o->pid);
	kp_meta_set(&x->r->prof, "pid", sb.buf);
	strbuf_release(&sb);
}

struct lock_probes {
	struct lock_bpf *skel;
	struct bpf_link *links[2 * LKB_NFUNCS];
	size_t nlinks;
};

void lock_probes_free(struct lock_probes *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	if (p->skel)
		lock_bpf__destroy(p->skel);
	free(p);
}

/* The probes and the program, freed now or handed to the caller (o->keep). */
static void links_destroy(struct attach *x)
{
	struct lock_probes *p = xcalloc(1, sizeof(*p));
	p->skel = x->skel;
	memcpy(p->links, x->links, x->nlinks * sizeof(x->links[0]));
	p->nlinks = x->nlinks;
	x->skel = NULL;
	x->nlinks = 0;
	if (x->o->keep)
		*x->o->keep = p;
	else
		lock_probes_free(p);
}

int lock_attach(const struct lock_attach_opts *o, struct lock_result *r)
{
	struct attach x;
	struct ks_options so = { 0, 0, 0, 1 };
	struct sigstate sig;
	int rc = -1;
	char path[64];
	memset(&x, 0, sizeof(x));
	x.o = o;
	x.r = r;
	lock_result_init(r);
	snprintf(path, sizeof(path), "/proc/%d", o->pid);
	if (o->pid <= 0 || access(path, F_OK) != 0)
		return kiln_error("no process with pid %d; check the number with 'ps'", o->pid);
	signals_take(&sig);
	if (find_libc(&x) < 0 || find_funcs(&x) < 0 || load(&x) < 0)
		goto out;
	set_meta(&x);
	x.sym = ks_session_new(&so);
	ks_load_proc_maps(x.sym, o->pid);
	if (attach_probes(&x) < 0)
		goto out;
	__atomic_store_n(&x.skel->bss->armed, 1, __ATOMIC_RELEASE);
	trace(&x, sig.fd);
	__atomic_store_n(&x.skel->bss->armed, 0, __ATOMIC_RELEASE);
	/* libraries loaded while tracing: the process may still be there to tell (a
	 * snapshot replaces the one before; one of an ended process would be empty) */
	if (!target_ended(o->pid))
		ks_load_proc_maps(x.sym, o->pid);
	read_maps(&x);
	r->processes = 1;
	r->hold_threshold_ns = o->hold_ns;
	r->status = 0;
	r->started = 1;
	lock_result_finish(r);
	rc = 0;
out:
	signals_give(&sig);
	links_destroy(&x);
	if (x.sym)
		ks_session_free(x.sym);
	free(x.stack_of);
	free(x.maps);
	free(x.libc);
	free(x.libc_open);
	return rc;
}
