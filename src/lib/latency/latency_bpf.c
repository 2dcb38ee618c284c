/* latency_bpf.c: loading and reading kiln latency's BPF program (see latency_bpf.h). */
#include "latency/latency_bpf.h"
#include "util/xalloc.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lat_bpf.skel.h"

/* the program's map layouts (lat_bpf.bpf.c) */
struct start_key {
	uint64_t sp;
	uint32_t tid, pad;
};
struct start_val {
	uint64_t t;
	uint32_t func, tgid;
};
struct hist_key {
	uint32_t tgid, func, bucket, pad;
};
struct stat_key {
	uint32_t tgid, func;
};
struct stat_val {
	uint64_t count, sum, min, max, unmatched, never;
};
struct slow_rec {
	uint64_t start, dur, ret_ip;
	uint32_t tgid, tid, func, pad;
};

struct lat_fast {
	struct lat_bpf *skel;
	struct bpf_link **links;
	size_t nlinks, links_alloc;
	struct ring_buffer *rb;
	lat_fast_slow_fn fn;
	void *ctx;
};

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int on_slow(void *ctx, void *data, size_t size)
{
	struct lat_fast *f = ctx;
	const struct slow_rec *r = data;
	if (size < sizeof(*r) || !f->fn)
		return 0;
	struct lat_fast_slow s = { r->func, r->tgid, r->tid, r->start, r->dur, r->ret_ip };
	f->fn(f->ctx, &s);
	return 0;
}

struct lat_fast *lat_fast_new(const char **why)
{
	struct lat_fast *f = xcalloc(1, sizeof(*f));
	libbpf_set_print(quiet_print);
	f->skel = lat_bpf__open_and_load();
	if (!f->skel) {
		*why = "the BPF program could not be loaded";
		free(f);
		return NULL;
	}
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.slow), on_slow, f, NULL);
	if (!f->rb) {
		*why = "the BPF ring buffer could not be opened";
		lat_bpf__destroy(f->skel);
		free(f);
		return NULL;
	}
	return f;
}

int lat_fast_attach(struct lat_fast *f, int fd, int probe)
{
	LIBBPF_OPTS(bpf_perf_event_opts, opts, .bpf_cookie = (uint64_t)probe);
	struct bpf_program *prog = (probe & 1) ? f->skel->progs.lat_return : f->skel->progs.lat_entry;
	struct bpf_link *l = bpf_program__attach_perf_event_opts(prog, fd, &opts);
	if (!l || libbpf_get_error(l))
		return -1;
	ALLOC_GROW(f->links, f->nlinks + 1, f->links_alloc);
	f->links[f->nlinks++] = l;
	return 0;
}

void lat_fast_set_slow(struct lat_fast *f, uint64_t ns)
{
	f->skel->data->slow_ns = ns;
}

void lat_fast_poll(struct lat_fast *f, lat_fast_slow_fn fn, void *ctx)
{
	f->fn = fn;
	f->ctx = ctx;
	ring_buffer__consume(f->rb);
}

void lat_fast_read(struct lat_fast *f, lat_fast_stat_fn st, lat_fast_bucket_fn bk, lat_fast_open_fn op, void *ctx)
{
	int fd;
	/* stats */
	{
		struct stat_key k, next, *prev = NULL;
		struct stat_val v;
		fd = bpf_map__fd(f->skel->maps.stats);
		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			if (bpf_map_lookup_elem(fd, &next, &v) == 0)
				st(ctx, next.tgid, next.func, v.count, v.sum, v.min, v.max, v.unmatched, v.never);
			k = next;
			prev = &k;
		}
	}
	{
		struct hist_key k, next, *prev = NULL;
		uint64_t v;
		fd = bpf_map__fd(f->skel->maps.hist);
		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			if (bpf_map_lookup_elem(fd, &next, &v) == 0)
				bk(ctx, next.tgid, next.func, next.bucket, v);
			k = next;
			prev = &k;
		}
	}
	{
		struct start_key k, next, *prev = NULL;
		struct start_val v;
		fd = bpf_map__fd(f->skel->maps.starts);
		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			if (bpf_map_lookup_elem(fd, &next, &v) == 0)
				op(ctx, v.tgid, next.tid, v.func);
			k = next;
			prev = &k;
		}
	}
}

uint64_t lat_fast_dropped(const struct lat_fast *f)
{
	return f->skel->bss->dropped;
}

void lat_fast_free(struct lat_fast *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nlinks; i++)
		bpf_link__destroy(f->links[i]);
	free(f->links);
	ring_buffer__free(f->rb);
	lat_bpf__destroy(f->skel);
	free(f);
}
