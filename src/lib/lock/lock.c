/* lock.c: running a program in lock mode and reading its lock tables (see lock.h). */
#include "lock/lock.h"
#include "heap/heap_proto.h"
#include "heap/heap_run.h"
#include "heap/heap_session.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Heap recording off: one sample per 2^50 bytes is none in practice. */
#define LOCK_SAMPLE_BYTES (1ull << 50)

const char *lock_kind_name(uint32_t kind)
{
	switch (kind) {
	case HP_LK_MUTEX: return "mutex";
	case HP_LK_RWLOCK: return "rwlock";
	case HP_LK_SPIN: return "spinlock";
	default: return "lock";
	}
}

kp_stack_t lock_copy_stack(struct kp_profile *to, const struct kp_profile *from, kp_stack_t s)
{
	uint32_t d = kp_stack_depth(from, s);
	kp_frame_t *fr = xcalloc(d + 1, sizeof(*fr));
	kp_stack_t out = 0;
	kp_stack_frames(from, s, fr, d);
	for (uint32_t i = 0; i < d; i++) {
		struct kp_frame f = from->frames[fr[i]];
		f.name = kp_strz(to, kp_str_get(from, f.name));
		f.module = kp_strz(to, kp_str_get(from, f.module));
		f.file = kp_strz(to, kp_str_get(from, f.file));
		out = kp_stack_push(to, out, kp_frame(to, &f));
	}
	free(fr);
	return out;
}

struct reader {
	struct lock_result *r;
	const struct lock_opts *o;
};

char *lock_name(const struct kp_profile *p, uint32_t kind, kp_stack_t s, uint64_t addr)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s ", lock_kind_name(kind));
	if (s) {
		const struct kp_frame *f = &p->frames[p->stacks[s].frame];
		strbuf_addstr(&sb, kp_str_get(p, f->name));
		if (f->file && f->line) {
			const char *file = kp_str_get(p, f->file), *b = strrchr(file, '/');
			strbuf_addf(&sb, " (%s:%u)", b ? b + 1 : file, f->line);
		}
	} else {
		strbuf_addf(&sb, "at 0x%llx", (unsigned long long)addr);
	}
	return strbuf_detach(&sb, NULL);
}

static int cmp_site(const void *a, const void *b)
{
	const struct lock_site *x = a, *y = b;
	if (x->what != y->what)
		return x->what - y->what;
	return x->total_ns < y->total_ns ? 1 : x->total_ns > y->total_ns ? -1 : 0;
}

static int cmp_lock(const void *a, const void *b)
{
	const struct lock_info *x = a, *y = b;
	if (x->wait_ns != y->wait_ns)
		return x->wait_ns < y->wait_ns ? 1 : -1;
	if (x->acquisitions != y->acquisitions)
		return x->acquisitions < y->acquisitions ? 1 : -1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct lock_info *lock_result_add(struct lock_result *r, int32_t pid, const struct hp_lock_entry *e)
{
	struct lock_info *l;
	r->locks = xreallocarray(r->locks, r->nlocks + 1, sizeof(*r->locks));
	l = &r->locks[r->nlocks++];
	memset(l, 0, sizeof(*l));
	l->pid = pid;
	l->addr = e->addr;
	l->kind = e->kind;
	l->acquisitions = e->acquisitions;
	l->contended = e->contended;
	l->wait_ns = e->wait_ns;
	l->wait_max = e->wait_max;
	l->hold_ns = e->hold_ns;
	l->hold_max = e->hold_max;
	l->cond_waits = e->cond_waits;
	l->cond_wait_ns = e->cond_wait_ns;
	l->timeouts = e->timeouts;
	l->read_acquisitions = e->read_acquisitions;
	l->hold_timed = e->hold_timed;
	/* fewer holds timed than taken (sampled, or still held at the end): the total is
	 * estimated from the timed ones */
	if (e->hold_timed && e->hold_timed < e->acquisitions)
		l->hold_ns = (uint64_t)((double)e->hold_ns * (double)e->acquisitions / (double)e->hold_timed);
	return l;
}

static void read_table(struct reader *rd, struct heap_session *s, struct kp_profile *hp, const char *path)
{
	struct lock_result *r = rd->r;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const struct hp_lock_header *h;
	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < hp_lock_file_size()) {
		close(fd);
		return;
	}
	h = mmap(NULL, hp_lock_file_size(), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (h == MAP_FAILED)
		return;
	if (memcmp(h->magic, HP_LOCK_MAGIC, 8) || h->version != HP_LOCK_VERSION || h->header_size != 4096 ||
	    h->max_locks != HP_LOCK_MAX || h->max_sites != HP_LOCK_SITES ||
	    h->entry_size != sizeof(struct hp_lock_entry) || h->site_size != sizeof(struct hp_lock_site)) {
		kiln_warn("skipping lock table '%s': another version or damaged", path);
		munmap((void *)h, hp_lock_file_size());
		return;
	}
	const struct hp_lock_entry *locks = (const void *)((const char *)h + 4096);
	const struct hp_lock_site *sites = (const void *)((const char *)locks + HP_LOCK_MAX * sizeof(*locks));
	/* index in the file -> index in r->locks (or SIZE_MAX) */
	size_t *map = xmalloc(HP_LOCK_MAX * sizeof(size_t));
	r->processes++;
	r->dropped += h->dropped_locks + h->dropped_sites;
	r->hold_threshold_ns = h->hold_threshold_ns;
	for (uint32_t i = 0; i < HP_LOCK_MAX; i++) {
		const struct hp_lock_entry *e = &locks[i];
		map[i] = SIZE_MAX;
		if (!e->addr || !e->kind || (!e->acquisitions && !e->cond_waits && !e->timeouts))
			continue;
		struct lock_info *l = lock_result_add(r, h->pid, e);
		kp_stack_t hs = e->first_stack ? heap_session_stack(s, h->pid, h->created_ns, e->first_stack) : 0;
		l->created = hs ? lock_copy_stack(&r->prof, hp, hs) : 0;
		l->name = lock_name(&r->prof, l->kind, l->created, l->addr);
		map[i] = r->nlocks - 1;
	}
	for (uint32_t i = 0; i < HP_LOCK_SITES; i++) {
		const struct hp_lock_site *st2 = &sites[i];
		uint64_t idx;
		if (!st2->key || !st2->count)
			continue;
		idx = (st2->key >> 34) - 1;
		if (idx >= HP_LOCK_MAX || map[idx] == SIZE_MAX)
			continue;
		struct lock_info *l = &r->locks[map[idx]];
		uint32_t id = (uint32_t)(st2->key & 0xffffffffu);
		int what = (int)((st2->key >> 32) & 3);
		kp_stack_t hs = id ? heap_session_stack(s, h->pid, h->created_ns, id) : 0;
		l->sites = xreallocarray(l->sites, l->nsites + 1, sizeof(*l->sites));
		struct lock_site *ls = &l->sites[l->nsites++];
		ls->what = what;
		ls->stack = hs ? lock_copy_stack(&r->prof, hp, hs) : 0;
		ls->count = st2->count;
		ls->total_ns = st2->total_ns;
		ls->max_ns = st2->max_ns;
	}
	free(map);
	munmap((void *)h, hp_lock_file_size());
}

/* The profile's samples: per site, its stack plus a frame naming the lock. */
static void make_samples(struct lock_result *r)
{
	struct kp_profile *p = &r->prof;
	for (size_t i = 0; i < r->nlocks; i++) {
		struct lock_info *l = &r->locks[i];
		struct kp_frame f = { 0 };
		struct strbuf nm = STRBUF_INIT;
		strbuf_addf(&nm, "lock %s", l->name);
		f.name = kp_strz(p, nm.buf);
		f.module = kp_strz(p, "[lock]");
		kp_frame_t lf = kp_frame(p, &f);
		strbuf_release(&nm);
		for (size_t k = 0; k < l->nsites; k++) {
			const struct lock_site *s = &l->sites[k];
			double v[4] = { 0, 0, 0, 0 };
			if (s->what == LOCK_WAIT) {
				v[0] = (double)s->total_ns;
				v[2] = (double)s->count;
			} else if (s->what == LOCK_HOLD) {
				v[1] = (double)s->total_ns;
			} else {
				v[3] = (double)s->total_ns;
			}
			kp_add_sample(p, kp_stack_push(p, s->stack, lf), 0, 0, v);
		}
	}
}

static void on_finish(void *ctx, struct heap_session *s, struct kp_profile *hp, const char *dir)
{
	struct reader *rd = ctx;
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 4 || de->d_name[0] == '.' || strcmp(de->d_name + n - 3, HP_LOCK_SUFFIX))
			continue;
		char *path = xasprintf("%s/%s", dir, de->d_name);
		read_table(rd, s, hp, path);
		free(path);
	}
	closedir(d);
	lock_result_finish(rd->r);
}

void lock_result_finish(struct lock_result *r)
{
	for (size_t k = 0; k < r->nlocks; k++)
		if (r->locks[k].nsites > 1)
			qsort(r->locks[k].sites, r->locks[k].nsites, sizeof(struct lock_site), cmp_site);
	if (r->nlocks > 1)
		qsort(r->locks, r->nlocks, sizeof(*r->locks), cmp_lock);
	make_samples(r);
}

void lock_result_init(struct lock_result *r)
{
	memset(r, 0, sizeof(*r));
	kp_profile_init(&r->prof);
	kp_add_value_type(&r->prof, "wait_ns", "nanoseconds");
	kp_add_value_type(&r->prof, "hold_ns", "nanoseconds");
	kp_add_value_type(&r->prof, "contended", "count");
	kp_add_value_type(&r->prof, "cond_wait_ns", "nanoseconds");
	r->prof.default_value = 0;
	kp_meta_set(&r->prof, "kind", "lock");
}

int lock_run(const struct lock_opts *o, struct lock_result *r)
{
	struct heap_run_opts ho;
	struct heap_run_result hr;
	struct reader rd = { r, o };
	char hold_env[64];
	const char *env[3];
	lock_result_init(r);
	snprintf(hold_env, sizeof(hold_env), "%s=%llu", HP_ENV_LOCK_HOLD, (unsigned long long)o->hold_ns);
	env[0] = HP_ENV_LOCK "=1";
	env[1] = hold_env;
	env[2] = NULL;
	memset(&ho, 0, sizeof(ho));
	ho.argv = o->argv;
	ho.output = NULL;
	ho.sample_bytes = LOCK_SAMPLE_BYTES;
	ho.preload = o->preload;
	ho.linger = 0.5;
	ho.env = env;
	ho.finish = on_finish;
	ho.finish_ctx = &rd;
	if (heap_run(&ho, &hr) < 0) {
		r->exec_failed = hr.exec_failed;
		return -1;
	}
	r->status = hr.status;
	r->started = hr.started;
	r->seconds = hr.seconds;
	return 0;
}

void lock_result_release(struct lock_result *r)
{
	for (size_t i = 0; i < r->nlocks; i++) {
		free(r->locks[i].name);
		free(r->locks[i].sites);
	}
	free(r->locks);
	kp_profile_release(&r->prof);
	memset(r, 0, sizeof(*r));
}
