/* evcount.c: perf_event_open counters over one run of a command (see evcount.h). */
#include "collect/evcount.h"
#include "collect/collector.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <linux/perf_event.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct kc_event_def events[] = {
	{ "cycles", "cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, "" },
	{ "instructions", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, "" },
	{ "cache-references", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES, "" },
	{ "cache-misses", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, "" },
	{ "branches", "branch-instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, "" },
	{ "branch-misses", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, "" },
	{ "bus-cycles", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES, "" },
	{ "stalled-cycles-frontend", "idle-cycles-frontend", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_STALLED_CYCLES_FRONTEND, "" },
	{ "stalled-cycles-backend", "idle-cycles-backend", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_STALLED_CYCLES_BACKEND, "" },
	{ "ref-cycles", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES, "" },
	{ "task-clock", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, "ns" },
	{ "cpu-clock", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, "ns" },
	{ "page-faults", "faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, "" },
	{ "minor-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN, "" },
	{ "major-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, "" },
	{ "context-switches", "cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, "" },
	{ "cpu-migrations", "migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, "" },
	{ "alignment-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS, "" },
	{ "emulation-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS, "" },
};
#define NEVENTS (sizeof(events) / sizeof(events[0]))

static const struct kc_event_def *const default_events[] = {
	&events[10], /* task-clock */
	&events[15], /* context-switches */
	&events[16], /* cpu-migrations */
	&events[12], /* page-faults */
	&events[0],  /* cycles */
	&events[1],  /* instructions */
	&events[4],  /* branches */
	&events[5],  /* branch-misses */
	&events[2],  /* cache-references */
	&events[3],  /* cache-misses */
};

const struct kc_event_def *kc_event_lookup(const char *name)
{
	for (size_t i = 0; i < NEVENTS; i++)
		if (!strcasecmp(events[i].name, name) ||
		    (events[i].alias && !strcasecmp(events[i].alias, name)))
			return &events[i];
	return NULL;
}

void kc_event_list(struct strbuf *sb)
{
	for (size_t i = 0; i < NEVENTS; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", events[i].name);
}

size_t kc_event_defaults(const struct kc_event_def *const **defs)
{
	*defs = default_events;
	return sizeof(default_events) / sizeof(default_events[0]);
}

void kc_counters_init(struct kc_counters *cs, const struct kc_event_def *const *defs, size_t n)
{
	cs->n = n;
	cs->c = n ? xcalloc(n, sizeof(*cs->c)) : NULL;
	for (size_t i = 0; i < n; i++) {
		cs->c[i].def = defs[i];
		cs->c[i].fd = -1;
	}
}

void kc_counters_release(struct kc_counters *cs)
{
	kc_counters_close(cs);
	free(cs->c);
	cs->c = NULL;
	cs->n = 0;
}

static int perf_open(struct perf_event_attr *attr, pid_t pid, int group_fd)
{
	return (int)syscall(SYS_perf_event_open, attr, pid, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
}

/* Opens one counter; returns the fd or -1 with errno. Retries without kernel counting
 * when the kernel refuses it (perf_event_paranoid), marking the counter user_only. */
static int open_one(struct kc_counter *c, pid_t pid, int group_fd)
{
	struct perf_event_attr attr;
	int fd;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = c->def->type;
	attr.config = c->def->config;
	attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	attr.inherit = 1;
	if (group_fd < 0) {
		attr.disabled = 1;
		attr.enable_on_exec = 1;
	}
	attr.exclude_kernel = c->user_only;
	attr.exclude_hv = c->user_only;
	fd = perf_open(&attr, pid, group_fd);
	if (fd < 0 && (errno == EACCES || errno == EPERM) && !c->user_only) {
		attr.exclude_kernel = attr.exclude_hv = 1;
		fd = perf_open(&attr, pid, group_fd);
		if (fd >= 0)
			c->user_only = 1;
	}
	return fd;
}

static int unsupported_errno(int e)
{
	/* ENOENT: no such event; EOPNOTSUPP / ENODEV: no PMU; EINVAL: bad config for this
	 * PMU; EACCES / EPERM: not allowed even for user space. */
	return e == ENOENT || e == EOPNOTSUPP || e == ENODEV || e == EINVAL || e == EACCES ||
	       e == EPERM || e == ENOSYS;
}

void kc_counters_open(struct kc_counters *cs, pid_t pid)
{
	int leader = -1;
	for (size_t i = 0; i < cs->n; i++) {
		struct kc_counter *c = &cs->c[i];
		int fd;
		c->scaled = 0;
		c->raw = c->enabled = c->running = 0;
		c->value = 0;
		if (c->state == KC_COUNTER_UNSUPPORTED)
			continue;
		if (c->def->type == PERF_TYPE_HARDWARE) {
			fd = open_one(c, pid, leader);
			if (fd < 0 && leader >= 0 && errno == EINVAL) {
				/* the group would not fit on the PMU: start another group */
				fd = open_one(c, pid, -1);
				if (fd >= 0)
					leader = fd;
			} else if (fd >= 0 && leader < 0) {
				leader = fd;
			}
		} else {
			fd = open_one(c, pid, -1);
		}
		if (fd < 0) {
			c->err = errno;
			c->state = unsupported_errno(errno) ? KC_COUNTER_UNSUPPORTED : KC_COUNTER_NOT_COUNTED;
			continue;
		}
		c->fd = fd;
		c->state = KC_COUNTER_OPEN;
	}
}

double kc_scale(uint64_t raw, uint64_t enabled, uint64_t running, int *scaled)
{
	*scaled = 0;
	if (running == 0)
		return enabled > 0 ? NAN : (double)raw;
	if (running < enabled) {
		*scaled = 1;
		return (double)raw * ((double)enabled / (double)running);
	}
	return (double)raw;
}

/* Reads counter c (its first event and the others summed). */
static void read_one(struct kc_counter *c)
{
	uint64_t v[3], sum[3] = { 0, 0, 0 };
	int ok = 0;
	for (size_t k = 0; k <= c->nmore; k++) {
		int fd = k ? c->more[k - 1] : c->fd;
		if (fd < 0)
			continue;
		if (read(fd, v, sizeof(v)) != (ssize_t)sizeof(v)) {
			c->err = errno;
			continue;
		}
		ok = 1;
		sum[0] += v[0];
		sum[1] += v[1];
		sum[2] += v[2];
	}
	if (!ok) {
		c->state = KC_COUNTER_NOT_COUNTED;
		return;
	}
	c->raw = sum[0];
	c->enabled = sum[1];
	c->running = sum[2];
	c->value = kc_scale(c->raw, c->enabled, c->running, &c->scaled);
	c->state = isnan(c->value) ? KC_COUNTER_NOT_COUNTED : KC_COUNTER_COUNTED;
}

static void close_more(struct kc_counter *c)
{
	for (size_t k = 0; k < c->nmore; k++)
		close(c->more[k]);
	free(c->more);
	c->more = NULL;
	c->nmore = 0;
}

void kc_counters_read(struct kc_counters *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		if (cs->c[i].fd >= 0)
			read_one(&cs->c[i]);
}

void kc_counters_read_close(struct kc_counters *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct kc_counter *c = &cs->c[i];
		if (c->fd < 0)
			continue;
		read_one(c);
		close(c->fd);
		c->fd = -1;
		close_more(c);
	}
}

/* Adds fd to counter c (its first event, or one more). */
static void add_fd(struct kc_counter *c, int fd)
{
	if (c->fd < 0) {
		c->fd = fd;
		return;
	}
	c->more = xrealloc(c->more, (c->nmore + 1) * sizeof(int));
	c->more[c->nmore++] = fd;
}

/* Opens one counting event of c on (pid, cpu), enabled; -1 with errno. */
static int open_live(struct kc_counter *c, pid_t pid, int cpu)
{
	struct perf_event_attr attr;
	int fd;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = c->def->type;
	attr.config = c->def->config;
	attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	attr.inherit = pid > 0;
	attr.exclude_kernel = c->user_only;
	attr.exclude_hv = c->user_only;
	fd = (int)syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 && pid > 0 && (errno == EACCES || errno == EPERM) && !c->user_only) {
		attr.exclude_kernel = attr.exclude_hv = 1;
		fd = (int)syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd >= 0)
			c->user_only = 1;
	}
	return fd;
}

/* The targets of an attach: the threads of pid, or the online CPUs (pid -1). */
static size_t attach_targets(pid_t pid, int **out)
{
	size_t n = 0, alloc = 0;
	*out = NULL;
	if (pid > 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
		DIR *d = opendir(path);
		struct dirent *de;
		if (!d)
			return 0;
		while ((de = readdir(d))) {
			char *end;
			long tid = strtol(de->d_name, &end, 10);
			if (*end || tid <= 0)
				continue;
			ALLOC_GROW(*out, n + 1, alloc);
			(*out)[n++] = (int)tid;
		}
		closedir(d);
		return n;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	char path[64];
	for (long cpu = 0; cpu < (ncpu > 0 ? ncpu : 1); cpu++) {
		FILE *f;
		int online = 1;
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%ld/online", cpu);
		f = fopen(path, "re");
		if (f) {
			if (fscanf(f, "%d", &online) != 1)
				online = 1;
			fclose(f);
		}
		if (!online)
			continue;
		ALLOC_GROW(*out, n + 1, alloc);
		(*out)[n++] = (int)cpu;
	}
	return n;
}

int kc_counters_attach(struct kc_counters *cs, pid_t pid)
{
	int *t;
	size_t nt = attach_targets(pid, &t);
	if (!nt) {
		free(t);
		if (pid > 0)
			return kiln_error("no process with pid %d; check the number with 'ps'", (int)pid);
		return kiln_error("no online CPU found in /sys/devices/system/cpu");
	}
	for (size_t i = 0; i < cs->n; i++) {
		struct kc_counter *c = &cs->c[i];
		c->scaled = 0;
		c->raw = c->enabled = c->running = 0;
		c->value = 0;
		if (c->state == KC_COUNTER_UNSUPPORTED)
			continue;
		for (size_t k = 0; k < nt; k++) {
			int fd = pid > 0 ? open_live(c, t[k], -1) : open_live(c, -1, t[k]);
			if (fd >= 0) {
				add_fd(c, fd);
				continue;
			}
			int e = errno;
			if (e == ESRCH)
				continue; /* a thread that ended meanwhile */
			if ((e == EACCES || e == EPERM) && c->def->type == PERF_TYPE_SOFTWARE) {
				int lvl = kc_perf_paranoid();
				free(t);
				kc_counters_close(cs);
				if (pid > 0)
					return kiln_error("not allowed to count process %d (kernel.perf_event_paranoid is %d): "
							  "run as root or as its owner", (int)pid, lvl);
				return kiln_error("not allowed to count every process (kernel.perf_event_paranoid is %d): "
						  "system-wide counting (-a) needs root or 'sysctl kernel.perf_event_paranoid=0'", lvl);
			}
			c->err = e;
			if (c->fd < 0)
				c->state = unsupported_errno(e) ? KC_COUNTER_UNSUPPORTED : KC_COUNTER_NOT_COUNTED;
			break;
		}
		if (c->fd >= 0)
			c->state = KC_COUNTER_OPEN;
	}
	free(t);
	if (pid > 0) {
		int any = 0;
		for (size_t i = 0; i < cs->n; i++)
			any |= cs->c[i].fd >= 0;
		char path[32];
		snprintf(path, sizeof(path), "/proc/%d", (int)pid);
		if (!any && access(path, F_OK) != 0)
			return kiln_error("no process with pid %d; check the number with 'ps'", (int)pid);
	}
	return 0;
}

void kc_counters_close(struct kc_counters *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		if (cs->c[i].fd >= 0) {
			close(cs->c[i].fd);
			cs->c[i].fd = -1;
			close_more(&cs->c[i]);
			if (cs->c[i].state == KC_COUNTER_OPEN)
				cs->c[i].state = KC_COUNTER_UNOPENED;
		}
}

size_t kc_counters_supported(const struct kc_counters *cs)
{
	size_t n = 0;
	for (size_t i = 0; i < cs->n; i++)
		n += cs->c[i].state != KC_COUNTER_UNSUPPORTED;
	return n;
}

const char *kc_counter_reason(const struct kc_counter *c)
{
	switch (c->err) {
	case ENOENT:
	case EOPNOTSUPP:
	case ENODEV:
	case EINVAL:
	case ENOSYS:
		return "not supported";
	case EACCES:
	case EPERM:
		return "no permission (kernel.perf_event_paranoid)";
	default:
		return c->err ? strerror(c->err) : "not counted";
	}
}
