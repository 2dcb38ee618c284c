/* collector.c: perf_event_open events per (task, CPU), their rings, and the time-ordered
 * merge of their records (see collector.h). */
#include "collect/collector.h"
#include "util/error.h"
#include "util/xalloc.h"
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How far behind the time of a read the merge stays: a record stamped earlier than
 * this is surely visible in its ring by then. */
#define HOLD_BACK_NS (20ull * 1000 * 1000)
/* The reader wakes the main thread (kc_collector_ready_fd) when this much waits, so
 * high sampling rates do not pile up records between the main thread's rounds. */
#define READY_BYTES (4u << 20)

uint64_t kc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A growable byte buffer that keeps its memory between uses (no page faults on reuse). */
struct bytes {
	unsigned char *p;
	size_t len, alloc;
};

static void bytes_reserve(struct bytes *b, size_t more)
{
	if (b->len + more > b->alloc) {
		size_t want = b->alloc ? b->alloc * 2 : (1u << 20);
		while (want < b->len + more)
			want *= 2;
		b->p = xrealloc(b->p, want);
		b->alloc = want;
	}
}

/* A record read but not yet passed on; rec points into the batch or the carry buffer. */
struct pending {
	uint64_t time;
	uint64_t seq;
	const unsigned char *rec;
	uint32_t len;
};

struct kc_collector {
	struct kc_config cfg;
	struct kc_layout layout;
	int *cpus;
	unsigned ncpus;
	int *ring_fd;             /* per CPU: the event owning the ring, -1 before the first task */
	struct kc_ring *rings;
	size_t page_size;
	size_t data_size;
	int *fds;                 /* all event fds */
	unsigned nfds, fds_alloc;
	int no_build_id;          /* the kernel rejected attr.build_id */
	uint64_t *switch_ids;     /* ids of the switch-out events (switch_samples) */
	int switch_exclude_kernel; /* kernel mode refused for it (perf_event_paranoid) */
	unsigned nswitch_ids, switch_ids_alloc;
	struct probe_id { uint64_t id; int probe; } *probe_ids; /* open addressing on id */
	size_t probe_ids_size, probe_ids_used;
	int *probe_fd, *probe_of_fd;  /* the probe events, in opening order */
	size_t nprobe_fds, probe_fds_alloc, probe_of_alloc;
	/* records read but not yet passed on: the reader fills q; the main thread swaps it
	 * with batch (empty) and keeps what it holds back in carry (copied to carry2,
	 * then swapped), so no buffer is allocated anew each round */
	struct pending *pend;
	size_t npend, pend_alloc;
	struct bytes batch, carry, carry2;
	uint64_t seq;
	struct kc_stats stats;
	/* the reader thread: drains the rings into q so that slow processing (a first
	 * symbol lookup may read a large debug file) never lets a ring overflow */
	pthread_t reader;
	int reader_running;
	int stop_fd;              /* eventfd that ends the reader */
	pthread_mutex_t lock;     /* guards q, q_time, ring_errors */
	struct bytes q;
	uint64_t q_time;          /* when the reader's last pass over the rings started */
	int ready_fd;             /* eventfd the reader signals when q holds a lot */
	int ready_signalled;
	uint64_t ring_errors;
};

/* Parses a CPU list such as "0-3,5" (a trailing newline allowed) into *out (appended,
 * *alloc its allocation). Returns 0, or -1 when it is not such a list. */
static int parse_list(const char *p, int **out, unsigned *n, unsigned *alloc)
{
	if (!*p || *p == '\n')
		return -1;
	while (*p && *p != '\n') {
		char *end;
		long a, b;
		if (*p < '0' || *p > '9')
			return -1;
		a = strtol(p, &end, 10);
		if (end == p || a < 0 || a > 65535)
			return -1;
		b = a;
		p = end;
		if (*p == '-') {
			if (p[1] < '0' || p[1] > '9')
				return -1;
			b = strtol(p + 1, &end, 10);
			if (end == p + 1 || b < a || b > 65535)
				return -1;
			p = end;
		}
		for (long i = a; i <= b; i++) {
			ALLOC_GROW(*out, *n + 1, *alloc);
			(*out)[(*n)++] = (int)i;
		}
		if (*p == ',') {
			p++;
			if (!*p || *p == '\n')
				return -1;
		} else if (*p && *p != '\n') {
			return -1;
		}
	}
	return 0;
}

/* Online CPUs from /sys/devices/system/cpu/online ("0-3,5"), else 0..nprocs-1. */
static void online_list(int **cpus, unsigned *ncpus)
{
	char line[4096];
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	unsigned alloc = 0;
	*cpus = NULL;
	*ncpus = 0;
	if (f && (!fgets(line, sizeof(line), f) || parse_list(line, cpus, ncpus, &alloc) < 0)) {
		free(*cpus);
		*cpus = NULL;
		*ncpus = 0;
	}
	if (f)
		fclose(f);
	if (!*ncpus) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
		*cpus = xcalloc((size_t)n, sizeof(int));
		for (long i = 0; i < n; i++)
			(*cpus)[(*ncpus)++] = (int)i;
	}
}

static void online_cpus(struct kc_collector *c)
{
	if (c->cfg.cpu_list && c->cfg.ncpu_list) {
		c->cpus = xcalloc(c->cfg.ncpu_list, sizeof(int));
		memcpy(c->cpus, c->cfg.cpu_list, c->cfg.ncpu_list * sizeof(int));
		c->ncpus = c->cfg.ncpu_list;
		return;
	}
	online_list(&c->cpus, &c->ncpus);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int kc_parse_cpu_list(const char *s, int **out)
{
	int *list = NULL, *on;
	unsigned n = 0, alloc = 0, non, k = 0;
	*out = NULL;
	if (parse_list(s, &list, &n, &alloc) < 0) {
		free(list);
		return kiln_error("'%s' is not a CPU list; give CPUs like 0, 0-3 or 0,2", s);
	}
	qsort(list, n, sizeof(int), cmp_int);
	online_list(&on, &non);
	for (unsigned i = 0; i < n; i++) {
		unsigned j = 0;
		if (k && list[k - 1] == list[i])
			continue;
		while (j < non && on[j] != list[i])
			j++;
		if (j == non) {
			int bad = list[i], lo = non ? on[0] : 0, hi = non ? on[non - 1] : 0;
			free(list);
			free(on);
			return kiln_error("CPU %d in '%s' is not online (online: %d-%d); check /sys/devices/system/cpu/online",
					  bad, s, lo, hi);
		}
		list[k++] = list[i];
	}
	free(on);
	*out = list;
	return (int)k;
}

static size_t round_pow2(size_t v)
{
	size_t p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

struct kc_collector *kc_collector_new(const struct kc_config *cfg)
{
	struct kc_collector *c = xcalloc(1, sizeof(*c));
	struct rlimit rl;
	c->cfg = *cfg;
	c->page_size = (size_t)sysconf(_SC_PAGESIZE);
	online_cpus(c);
	c->ring_fd = xmalloc(c->ncpus * sizeof(int));
	for (unsigned i = 0; i < c->ncpus; i++)
		c->ring_fd[i] = -1;
	c->rings = xcalloc(c->ncpus, sizeof(*c->rings));
	c->data_size = round_pow2(cfg->buffer_bytes ? cfg->buffer_bytes : (512u << 10));
	if (c->data_size < 2 * c->page_size)
		c->data_size = 2 * c->page_size;
	c->layout.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
				PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD |
				PERF_SAMPLE_CALLCHAIN;
	if (cfg->sample_type)
		c->layout.sample_type = cfg->sample_type | PERF_SAMPLE_IDENTIFIER;
	if (cfg->regs_user_mask)
		c->layout.sample_type |= PERF_SAMPLE_REGS_USER;
	if (cfg->stack_user_size)
		c->layout.sample_type |= PERF_SAMPLE_STACK_USER;
	c->layout.regs_user_mask = cfg->regs_user_mask;
	c->layout.sample_id_all = 1;
	c->stats.cpus = c->ncpus;
	c->stop_fd = -1;
	c->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&c->lock, NULL);
	/* one descriptor per (task, CPU): use all the descriptors we may */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return c;
}

static void reader_stop(struct kc_collector *c);

void kc_collector_free(struct kc_collector *c)
{
	if (!c)
		return;
	reader_stop(c);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	if (c->ready_fd >= 0)
		close(c->ready_fd);
	pthread_mutex_destroy(&c->lock);
	free(c->q.p);
	free(c->batch.p);
	free(c->carry.p);
	free(c->carry2.p);
	for (unsigned i = 0; i < c->ncpus; i++) {
		if (c->rings[i].base)
			munmap(c->rings[i].base, c->rings[i].map_size);
		kc_ring_release(&c->rings[i]);
	}
	for (unsigned i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	free(c->fds);
	free(c->rings);
	free(c->ring_fd);
	free(c->cpus);
	free(c->pend);
	free(c->switch_ids);
	free(c->probe_ids);
	free(c->probe_fd);
	free(c->probe_of_fd);
	free(c);
}

static void fill_attr(const struct kc_collector *c, struct perf_event_attr *a)
{
	const struct kc_config *cfg = &c->cfg;
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = cfg->event->type;
	a->config = cfg->event->config;
	if (cfg->period) {
		a->sample_period = cfg->period;
	} else {
		a->freq = 1;
		a->sample_freq = cfg->freq ? cfg->freq : 999;
	}
	a->sample_type = c->layout.sample_type;
	a->sample_regs_user = cfg->regs_user_mask;
	a->sample_stack_user = cfg->stack_user_size;
	a->disabled = 1;
	a->inherit = cfg->no_inherit ? 0 : 1;
	a->mmap = 1;
	a->mmap2 = 1;
	a->comm = 1;
	a->comm_exec = 1;
	a->task = 1;
	a->sample_id_all = 1;
	a->exclude_kernel = cfg->exclude_kernel ? 1 : 0;
	a->exclude_callchain_kernel = cfg->exclude_kernel ? 1 : 0;
	a->exclude_hv = 1;
	a->exclude_guest = 1;
	a->enable_on_exec = cfg->enable_on_exec ? 1 : 0;
	a->context_switch = cfg->context_switch ? 1 : 0;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->build_id = c->no_build_id ? 0 : 1;
	a->watermark = 1;
	a->wakeup_watermark = (uint32_t)(c->data_size / 2);
}

/* The switch-out event: a software context-switch event sampled at every switch, with
 * the sampling event's fields, and no side-band records (the sampling event has them). */
static void fill_switch_attr(const struct kc_collector *c, struct perf_event_attr *a)
{
	fill_attr(c, a);
	a->type = PERF_TYPE_SOFTWARE;
	a->config = PERF_COUNT_SW_CONTEXT_SWITCHES;
	a->freq = 0;
	a->sample_period = 1;
	a->mmap = 0;
	a->mmap2 = 0;
	a->comm = 0;
	a->comm_exec = 0;
	a->task = 0;
	a->build_id = 0;
	a->context_switch = 0;
	/* the switch happens in the kernel: excluding kernel mode would drop every sample,
	 * so count kernel mode (without kernel call chains under --no-kernel) where allowed */
	a->exclude_kernel = c->switch_exclude_kernel;
}

static int sys_perf_event_open(struct perf_event_attr *a, int pid, int cpu);
static int add_probes(struct kc_collector *c, int tid, unsigned ci);

/* A probe event: the sampling event's fields and rings, no side-band records. */
static void fill_probe_attr(const struct kc_collector *c, const struct kc_probe *pr, struct perf_event_attr *a)
{
	fill_attr(c, a);
	a->type = pr->type;
	a->config = pr->config;
	a->config1 = pr->config1;
	a->config2 = pr->config2;
	a->freq = 0;
	a->sample_period = 1;
	a->mmap = 0;
	a->mmap2 = 0;
	a->comm = 0;
	a->comm_exec = 0;
	a->task = 0;
	a->build_id = 0;
	a->context_switch = 0;
	/* CPU-wide: no task to inherit from or to wait for the exec of */
	a->inherit = 0;
	a->enable_on_exec = 0;
	a->disabled = 0;
}

static size_t probe_slot(const struct kc_collector *c, uint64_t id)
{
	size_t i = (size_t)(id * 0x9E3779B97F4A7C15ull >> 20) & (c->probe_ids_size - 1);
	while (c->probe_ids[i].id && c->probe_ids[i].id != id)
		i = (i + 1) & (c->probe_ids_size - 1);
	return i;
}

static void probe_id_add(struct kc_collector *c, uint64_t id, int probe)
{
	if ((c->probe_ids_used + 1) * 2 > c->probe_ids_size) {
		struct probe_id *old = c->probe_ids;
		size_t osize = c->probe_ids_size;
		c->probe_ids_size = osize ? osize * 2 : 64;
		c->probe_ids = xcalloc(c->probe_ids_size, sizeof(*c->probe_ids));
		for (size_t i = 0; i < osize; i++)
			if (old[i].id)
				c->probe_ids[probe_slot(c, old[i].id)] = old[i];
		free(old);
	}
	size_t i = probe_slot(c, id);
	if (!c->probe_ids[i].id)
		c->probe_ids_used++;
	c->probe_ids[i].id = id;
	c->probe_ids[i].probe = probe;
}

int kc_collector_probe_of(const struct kc_collector *c, uint64_t id)
{
	if (!c->probe_ids_size || !id)
		return -1;
	size_t i = probe_slot(c, id);
	return c->probe_ids[i].id == id ? c->probe_ids[i].probe : -1;
}

int kc_collector_add_probes(struct kc_collector *c, unsigned first, unsigned count)
{
	for (unsigned ci = first; ci < c->ncpus && ci - first < count; ci++) {
		if (c->ring_fd[ci] < 0)
			return kiln_error("no ring for CPU %d: add a task before the probes", c->cpus[ci]);
		int rc = add_probes(c, -1, ci);
		if (rc < 0)
			return rc;
	}
	c->stats.events = c->nfds;
	return 0;
}

/* Opens the probes for task tid (-1: every task) on CPU index ci into that CPU's ring. */
static int add_probes(struct kc_collector *c, int tid, unsigned ci)
{
	struct perf_event_attr a;
	for (unsigned k = 0; k < c->cfg.nprobes; k++) {
		const struct kc_probe *pr = &c->cfg.probes[k];
		uint64_t id;
		int fd;
		fill_probe_attr(c, pr, &a);
		fd = sys_perf_event_open(&a, tid, c->cpus[ci]);
		if (fd < 0) {
			int err = errno;
			if (err == ESRCH)
				return -2;
			if (err == EACCES || err == EPERM)
				return kiln_error("not allowed to place a probe on '%s': uprobes need root "
						  "(CAP_SYS_ADMIN); run kiln as root", pr->name);
			if (err == EMFILE || err == ENFILE)
				return kiln_error("too many open files: kiln needs one per probe, thread and CPU "
						  "(%u open so far); raise the limit with 'ulimit -n' or probe fewer functions",
						  c->nfds);
			return kiln_error("cannot place a probe on '%s': %s", pr->name, strerror(err));
		}
		ALLOC_GROW(c->fds, c->nfds + 1, c->fds_alloc);
		c->fds[c->nfds++] = fd;
		if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, c->ring_fd[ci]) != 0 || ioctl(fd, PERF_EVENT_IOC_ID, &id) != 0)
			return kiln_error("cannot share the sample buffer of CPU %d: %s", c->cpus[ci], strerror(errno));
		probe_id_add(c, id, (int)k);
		ALLOC_GROW(c->probe_fd, c->nprobe_fds + 1, c->probe_fds_alloc);
		ALLOC_GROW(c->probe_of_fd, c->nprobe_fds + 1, c->probe_of_alloc);
		c->probe_fd[c->nprobe_fds] = fd;
		c->probe_of_fd[c->nprobe_fds++] = (int)k;
	}
	return 0;
}

size_t kc_collector_probe_fds(const struct kc_collector *c, int *fds, int *probe, size_t max)
{
	for (size_t i = 0; i < c->nprobe_fds && i < max; i++) {
		fds[i] = c->probe_fd[i];
		probe[i] = c->probe_of_fd[i];
	}
	return c->nprobe_fds;
}

int kc_collector_is_switch_sample(const struct kc_collector *c, uint64_t id)
{
	for (unsigned i = 0; i < c->nswitch_ids; i++)
		if (c->switch_ids[i] == id)
			return 1;
	return 0;
}

int kc_perf_paranoid(void)
{
	int v = 2;
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 2;
		fclose(f);
	}
	return v;
}

/* Turns a perf_event_open failure into one line saying what to change. */
static int open_error(const struct kc_collector *c, int err, int tid)
{
	const char *ev = c->cfg.event->name;
	switch (err) {
	case EACCES:
	case EPERM: {
		int lvl = kc_perf_paranoid();
		if (tid < 0)
			return kiln_error("not allowed to sample every process (kernel.perf_event_paranoid is %d): "
					  "system-wide recording (-a, -C) needs root or 'sysctl kernel.perf_event_paranoid=0'",
					  lvl);
		if (!c->cfg.exclude_kernel && lvl >= 2)
			return kiln_error("not allowed to sample '%s' with kernel stacks (kernel.perf_event_paranoid is %d): "
					  "add --no-kernel, run as root, or run 'sysctl kernel.perf_event_paranoid=1'",
					  ev, lvl);
		return kiln_error("not allowed to sample process %d (kernel.perf_event_paranoid is %d): "
				  "run as root or as its owner, or run 'sysctl kernel.perf_event_paranoid=%d'",
				  tid, lvl, lvl > 1 ? 1 : -1);
	}
	case EMFILE:
	case ENFILE:
		return kiln_error("too many open files: kiln needs one per thread and CPU (%u CPUs, %u open so far); "
				  "raise the limit with 'ulimit -n'", c->ncpus, c->nfds);
	case ENOSPC:
		return kiln_error("the kernel has no room for more '%s' events (ENOSPC); "
				  "stop other profilers or attach to fewer threads", ev);
	case ENOENT:
	case EOPNOTSUPP:
	case ENODEV:
		return kiln_error("event '%s' is not supported on this machine%s; choose another with -e (cpu-clock always works)",
				  ev, c->cfg.event->type == PERF_TYPE_HARDWARE ? " (no hardware counters)" : "");
	case EINVAL:
		if (!c->cfg.period) {
			long max = 0;
			FILE *f = fopen("/proc/sys/kernel/perf_event_max_sample_rate", "re");
			if (f) {
				if (fscanf(f, "%ld", &max) != 1)
					max = 0;
				fclose(f);
			}
			if (max > 0 && c->cfg.freq > (unsigned long)max)
				return kiln_error("sampling rate -F %u is above kernel.perf_event_max_sample_rate (%ld); "
						  "choose a lower -F", c->cfg.freq, max);
		}
		return kiln_error("the kernel rejected event '%s' (invalid argument); try -e cpu-clock", ev);
	case EBUSY:
		return kiln_error("event '%s' is busy (another tool holds the counter exclusively); stop it and retry", ev);
	default:
		return kiln_error("cannot open event '%s' for process %d: %s", ev, tid, strerror(err));
	}
}

static int map_ring(struct kc_collector *c, unsigned ci, int fd)
{
	size_t data = c->data_size;
	for (;;) {
		size_t len = c->page_size + data;
		void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			kc_ring_init(&c->rings[ci], m, len, c->page_size);
			c->data_size = data; /* later rings use the size that worked */
			c->stats.ring_bytes = data;
			return 0;
		}
		if ((errno == EPERM || errno == ENOMEM) && data > 8 * c->page_size) {
			data /= 2;
			continue;
		}
		if (errno == EPERM || errno == ENOMEM)
			return kiln_error("cannot map the sample buffer (%zu KiB per CPU): raise kernel.perf_event_mlock_kb "
					  "or 'ulimit -l', or run as root", data >> 10);
		return kiln_error("cannot map the sample buffer: %s", strerror(errno));
	}
}

static int sys_perf_event_open(struct perf_event_attr *a, int pid, int cpu)
{
	return (int)syscall(SYS_perf_event_open, a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Closes the events opened since c->nfds was first (a task's partial set). */
static void close_fds_from(struct kc_collector *c, unsigned first)
{
	while (c->nfds > first)
		close(c->fds[--c->nfds]);
}

int kc_collector_add_task(struct kc_collector *c, int tid)
{
	struct perf_event_attr a;
	unsigned first = c->nfds;
	for (unsigned ci = 0; ci < c->ncpus; ci++) {
		int fd;
		fill_attr(c, &a);
		if (tid < 0)
			a.inherit = a.enable_on_exec = 0; /* system-wide: no task */
		fd = sys_perf_event_open(&a, tid, c->cpus[ci]);
		if (fd < 0 && errno == EINVAL && a.build_id) {
			/* kernels before 5.12 have no build ids in MMAP2 */
			c->no_build_id = 1;
			fill_attr(c, &a);
			if (tid < 0)
				a.inherit = a.enable_on_exec = 0;
			fd = sys_perf_event_open(&a, tid, c->cpus[ci]);
		}
		if (fd < 0) {
			int err = errno;
			close_fds_from(c, first);
			if (err == ESRCH)
				return -2;
			return open_error(c, err, tid);
		}
		ALLOC_GROW(c->fds, c->nfds + 1, c->fds_alloc);
		c->fds[c->nfds++] = fd;
		if (c->ring_fd[ci] < 0) {
			if (map_ring(c, ci, fd) < 0) {
				close_fds_from(c, first);
				return -1;
			}
			c->ring_fd[ci] = fd;
		} else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, c->ring_fd[ci]) != 0) {
			int err = errno;
			close_fds_from(c, first);
			return kiln_error("cannot share the sample buffer of CPU %d: %s", c->cpus[ci], strerror(err));
		}
		if (c->cfg.switch_samples) {
			uint64_t id;
			fill_switch_attr(c, &a);
			if (tid < 0)
				a.inherit = a.enable_on_exec = 0;
			fd = sys_perf_event_open(&a, tid, c->cpus[ci]);
			if (fd < 0 && (errno == EACCES || errno == EPERM) && !c->switch_exclude_kernel) {
				/* no kernel mode allowed: the switch times still come from the
				 * switch records, without the stacks */
				c->switch_exclude_kernel = 1;
				fill_switch_attr(c, &a);
				if (tid < 0)
					a.inherit = a.enable_on_exec = 0;
				fd = sys_perf_event_open(&a, tid, c->cpus[ci]);
			}
			if (fd < 0) {
				int err = errno;
				close_fds_from(c, first);
				if (err == ESRCH)
					return -2;
				return kiln_error("cannot open the context-switch event for process %d: %s", tid, strerror(err));
			}
			ALLOC_GROW(c->fds, c->nfds + 1, c->fds_alloc);
			c->fds[c->nfds++] = fd;
			if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, c->ring_fd[ci]) != 0 ||
			    ioctl(fd, PERF_EVENT_IOC_ID, &id) != 0) {
				int err = errno;
				close_fds_from(c, first);
				return kiln_error("cannot share the sample buffer of CPU %d: %s", c->cpus[ci], strerror(err));
			}
			ALLOC_GROW(c->switch_ids, c->nswitch_ids + 1, c->switch_ids_alloc);
			c->switch_ids[c->nswitch_ids++] = id;
		}
	}
	c->stats.events = c->nfds;
	return 0;
}

static int ioctl_all(struct kc_collector *c, unsigned long req, const char *what)
{
	for (unsigned i = 0; i < c->nfds; i++)
		if (ioctl(c->fds[i], req, 0) != 0)
			return kiln_error("cannot %s sampling: %s", what, strerror(errno));
	return 0;
}

int kc_collector_set_bpf(struct kc_collector *c, int prog_fd)
{
	for (unsigned i = 0; i < c->nfds; i++)
		if (ioctl(c->fds[i], PERF_EVENT_IOC_SET_BPF, prog_fd) != 0)
			return -1;
	return 0;
}

int kc_collector_enable(struct kc_collector *c)
{
	return ioctl_all(c, PERF_EVENT_IOC_ENABLE, "start");
}

int kc_collector_disable(struct kc_collector *c)
{
	return ioctl_all(c, PERF_EVENT_IOC_DISABLE, "stop");
}

/* Appends one ring record to q (reader thread, lock held). */
static void enqueue(void *ctx, const void *rec, size_t len)
{
	struct kc_collector *c = ctx;
	bytes_reserve(&c->q, len);
	memcpy(c->q.p + c->q.len, rec, len);
	c->q.len += len;
}

static void drain_rings(struct kc_collector *c)
{
	uint64_t t = kc_now_ns();
	pthread_mutex_lock(&c->lock);
	for (unsigned ci = 0; ci < c->ncpus; ci++) {
		if (!c->rings[ci].base)
			continue;
		if (kc_ring_read(&c->rings[ci], enqueue, c) < 0)
			c->ring_errors++;
	}
	c->q_time = t;
	int wake = c->q.len >= READY_BYTES && !c->ready_signalled;
	if (wake)
		c->ready_signalled = 1;
	pthread_mutex_unlock(&c->lock);
	if (wake && c->ready_fd >= 0) {
		uint64_t one = 1;
		if (write(c->ready_fd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow here; nothing to do */
		}
	}
}

static void *reader_main(void *arg)
{
	struct kc_collector *c = arg;
	struct pollfd fds[1 + 4096];
	int n = 0;
	fds[n].fd = c->stop_fd;
	fds[n].events = POLLIN;
	n++;
	for (unsigned ci = 0; ci < c->ncpus && n < (int)(sizeof(fds) / sizeof(fds[0])); ci++) {
		if (c->ring_fd[ci] < 0)
			continue;
		fds[n].fd = c->ring_fd[ci];
		fds[n].events = POLLIN;
		n++;
	}
	for (;;) {
		/* wake at the ring's watermark, or every 100 ms to keep latency low */
		if (poll(fds, (nfds_t)n, 100) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN)
			break;
		/* a ring whose task has exited reports POLLHUP from then on: stop
		 * waiting on it (its records are still drained every pass) */
		for (int i = 1; i < n; i++)
			if (fds[i].revents & (POLLHUP | POLLERR | POLLNVAL))
				fds[i].fd = -1;
		drain_rings(c);
	}
	return NULL;
}

int kc_collector_start(struct kc_collector *c)
{
	sigset_t all, old;
	int rc;
	if (c->reader_running)
		return 0;
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->stop_fd < 0)
		return kiln_error("cannot create an eventfd: %s", strerror(errno));
	/* the reader takes no signals: they belong to the main thread's signalfd */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&c->reader, NULL, reader_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return kiln_error("cannot start the ring reader thread: %s", strerror(rc));
	c->reader_running = 1;
	return 0;
}

static void reader_stop(struct kc_collector *c)
{
	uint64_t one = 1;
	if (!c->reader_running)
		return;
	if (write(c->stop_fd, &one, sizeof(one)) < 0) {
		/* an eventfd write cannot fail with a non-full counter; nothing to do */
	}
	pthread_join(c->reader, NULL);
	c->reader_running = 0;
}

/* Adds one record (already in the batch or carry buffer) to the pending list. */
static void add_pending(struct kc_collector *c, const unsigned char *rec, size_t len)
{
	const struct perf_event_header *h = (const void *)rec;
	struct pending *pd;
	ALLOC_GROW(c->pend, c->npend + 1, c->pend_alloc);
	pd = &c->pend[c->npend++];
	pd->time = kc_record_time(&c->layout, rec, len);
	pd->seq = c->seq++;
	pd->rec = rec;
	pd->len = (uint32_t)len;
	c->stats.bytes += len;
	if (h->type == PERF_RECORD_LOST) {
		struct kc_sideband sb;
		if (kc_parse_sideband(&c->layout, rec, len, &sb) == 0)
			c->stats.lost += sb.u.lost.lost;
	} else if (h->type == PERF_RECORD_LOST_SAMPLES) {
		struct kc_sideband sb;
		if (kc_parse_sideband(&c->layout, rec, len, &sb) == 0)
			c->stats.lost += sb.u.lost_samples.lost;
	}
}

static int cmp_pending(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

long kc_collector_read(struct kc_collector *c, int final, kc_handler_fn fn, void *ctx)
{
	uint64_t cutoff;
	struct bytes tmp;
	size_t i, n;
	long passed = 0;
	if (final)
		reader_stop(c); /* then drain what is left ourselves */
	if (final || !c->reader_running)
		drain_rings(c);
	/* take the reader's records, leaving it the (empty) buffer of the last round */
	c->batch.len = 0;
	pthread_mutex_lock(&c->lock);
	tmp = c->q;
	c->q = c->batch;
	c->batch = tmp;
	if (c->ready_signalled) {
		uint64_t v;
		if (read(c->ready_fd, &v, sizeof(v)) < 0) {
			/* not signalled after all (EAGAIN): nothing to clear */
		}
		c->ready_signalled = 0;
	}
	cutoff = c->q_time > HOLD_BACK_NS ? c->q_time - HOLD_BACK_NS : 0;
	c->stats.bad += c->ring_errors;
	c->ring_errors = 0;
	pthread_mutex_unlock(&c->lock);
	/* records are 8-byte multiples, so each stays aligned in the batch */
	for (size_t off = 0; off + sizeof(struct perf_event_header) <= c->batch.len;) {
		const struct perf_event_header *h = (const void *)(c->batch.p + off);
		if (h->size < sizeof(*h) || off + h->size > c->batch.len)
			break;
		add_pending(c, c->batch.p + off, h->size);
		off += h->size;
	}
	if (!c->npend)
		return 0;
	qsort(c->pend, c->npend, sizeof(*c->pend), cmp_pending);
	for (i = 0; i < c->npend; i++) {
		const struct pending *pd = &c->pend[i];
		if (!final && pd->time > cutoff)
			break;
		c->stats.records++;
		if (((const struct perf_event_header *)(const void *)pd->rec)->type == PERF_RECORD_SAMPLE)
			c->stats.samples++;
		fn(ctx, pd->rec, pd->len);
		passed++;
	}
	/* keep the rest (the last few milliseconds) for the next round */
	n = c->npend - i;
	size_t need = 0;
	for (size_t k = 0; k < n; k++)
		need += c->pend[i + k].len;
	c->carry2.len = 0;
	bytes_reserve(&c->carry2, need); /* once: pointers into it must stay valid */
	for (size_t k = 0; k < n; k++) {
		struct pending pd = c->pend[i + k];
		memcpy(c->carry2.p + c->carry2.len, pd.rec, pd.len);
		pd.rec = c->carry2.p + c->carry2.len;
		c->carry2.len += pd.len;
		c->pend[k] = pd;
	}
	c->npend = n;
	tmp = c->carry;
	c->carry = c->carry2;
	c->carry2 = tmp;
	return passed;
}

int kc_collector_ready_fd(const struct kc_collector *c)
{
	return c->ready_fd;
}

const struct kc_layout *kc_collector_layout(const struct kc_collector *c)
{
	return &c->layout;
}

const struct kc_stats *kc_collector_stats(const struct kc_collector *c)
{
	return &c->stats;
}
