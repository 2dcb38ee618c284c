/* test_agent.c: the agent's pieces: services from cgroups, windows, backoff, the spool,
 * a process's labels, and the sampler's new window (nothing of a window is kept). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agent/agent.h"
#include "agent/labels.h"
#include "agent/spool.h"
#include "collect/evcount.h"
#include "collect/sampler.h"
#include "collect/unwind_dwarf.h"
#include "profile/profile.h"
#include "profile/profile_io.h"
#include "store/store.h"
#include "util/error.h"
#include "util/filehash.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static void expect_service(const char *cgroup, const char *want)
{
	char out[128];
	int rc = ka_service_from_cgroup(cgroup, out, sizeof(out));
	if (!want) {
		assert_int_equal(rc, -1);
		assert_string_equal(out, "");
		return;
	}
	assert_int_equal(rc, 0);
	assert_string_equal(out, want);
}

static void test_service(void **state)
{
	(void)state;
	expect_service("/system.slice/nginx.service", "nginx");
	expect_service("/system.slice/system-getty.slice/getty@tty1.service", "getty@tty1");
	expect_service("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", "foo");
	expect_service("/user.slice/user-0.slice/session-3.scope", "session-3");
	expect_service("/init.scope", "init");
	expect_service("/", NULL);
	expect_service("/system.slice", NULL);
	expect_service("", NULL);
	/* containers: the id wins over the unit around it */
	expect_service("/system.slice/docker-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.scope",
		       "container:0123456789ab");
	expect_service("/docker/f00dfeedbeef0123456789abcdef0123456789abcdef0123456789abcdef0123", "container:f00dfeedbeef");
	expect_service("/kubepods.slice/kubepods-burstable.slice/cri-containerd-"
		       "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999.scope",
		       "container:aaaabbbbcccc");
	/* a short hex run is no container id */
	expect_service("/system.slice/cafe.service", "cafe");
	/* too small a buffer: no truncated name */
	char tiny[4];
	assert_int_equal(ka_service_from_cgroup("/system.slice/nginx.service", tiny, sizeof(tiny)), -1);
}

static void test_cgroup_text(void **state)
{
	(void)state;
	char out[256];
	assert_int_equal(ka_cgroup_from_proc_text("0::/system.slice/cron.service\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/system.slice/cron.service");
	/* v1: the systemd hierarchy */
	assert_int_equal(ka_cgroup_from_proc_text("12:cpu,cpuacct:/foo\n1:name=systemd:/system.slice/ssh.service\n", out,
						  sizeof(out)),
			 0);
	assert_string_equal(out, "/system.slice/ssh.service");
	/* hybrid: v2's line wins */
	assert_int_equal(ka_cgroup_from_proc_text("1:name=systemd:/a.service\n0::/b.service\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/b.service");
	/* hybrid with the unified tree at its root: systemd's hierarchy names the unit */
	assert_int_equal(ka_cgroup_from_proc_text("1:name=systemd:/a.service\n0::/\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/a.service");
	assert_int_equal(ka_cgroup_from_proc_text("9:name=systemd:/\n4:memory:/x\n0::/\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(ka_cgroup_from_proc_text("", out, sizeof(out)), -1);
	assert_int_equal(ka_cgroup_from_proc_text("garbage\n", out, sizeof(out)), -1);
	assert_int_equal(ka_cgroup_from_proc_text("0::\n", out, sizeof(out)), -1);
}

static void test_windows_backoff(void **state)
{
	(void)state;
	const uint64_t s = 1000000000ull;
	assert_int_equal(ka_window_end(0, 10 * s), 10 * s);
	assert_int_equal(ka_window_end(3 * s, 10 * s), 10 * s);
	assert_int_equal(ka_window_end(10 * s, 10 * s), 20 * s); /* a start on the boundary: a whole window */
	assert_int_equal(ka_window_end(1796533876425467112ull, 10 * s), 1796533880000000000ull);
	unsigned b = 0, seen[8];
	for (int i = 0; i < 8; i++)
		seen[i] = b = ka_backoff_next(b);
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 2);
	assert_int_equal(seen[2], 4);
	assert_int_equal(seen[5], 32);
	assert_int_equal(seen[7], 32); /* bounded */
}

static void make_window(struct kp_profile *p, uint64_t start, int nsamples)
{
	kp_profile_init(p);
	kp_add_value_type(p, "samples", "count");
	kp_frame_t f = kp_frame_named(p, "work", 4, 0);
	kp_stack_t st = kp_stack_push(p, 0, f);
	uint32_t th = kp_add_thread(p, 42, 42, "w");
	double v = 1;
	for (int i = 0; i < nsamples; i++)
		kp_add_sample(p, st, th, (uint64_t)i, &v);
	kst_window_set_range(p, start, start + 10);
}

static void test_spool(void **state)
{
	(void)state;
	char dir[] = "/tmp/kiln-test-spool.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *sub = xasprintf("%s/a/b", dir);
	struct ka_spool sp;
	struct strbuf err = STRBUF_INIT;
	/* a temporary file a killed agent left: removed at open */
	char *stale_dir = xasprintf("%s/a", dir);
	mkdir(stale_dir, 0700);
	mkdir(sub, 0700);
	char *stale = xasprintf("%s/00000000000000000001.kiln.prof.tmp.123", sub);
	FILE *f = fopen(stale, "w");
	assert_non_null(f);
	fputs("half", f);
	fclose(f);
	assert_int_equal(ka_spool_open(&sp, sub, 1 << 30, &err), 0);
	assert_int_equal(access(stale, F_OK), -1);

	struct kp_profile w;
	unsigned dropped = 9;
	/* written out of order: listed by time */
	make_window(&w, 300, 5);
	assert_int_equal(ka_spool_put(&sp, &w, 300, &dropped, &err), 0);
	assert_int_equal(dropped, 0);
	kp_profile_release(&w);
	make_window(&w, 100, 5);
	assert_int_equal(ka_spool_put(&sp, &w, 100, &dropped, &err), 0);
	kp_profile_release(&w);
	char **v;
	uint64_t bytes;
	size_t n = ka_spool_list(&sp, &v, &bytes);
	assert_int_equal(n, 2);
	assert_non_null(strstr(v[0], "/00000000000000000100.kiln.prof"));
	assert_non_null(strstr(v[1], "/00000000000000000300.kiln.prof"));
	assert_true(bytes > 0);
	/* a spooled window is a whole profile with its window meta */
	struct kp_profile back;
	struct kp_load_info info;
	assert_int_equal(kp_profile_load(&back, v[0], &info), 0);
	assert_true(info.complete);
	assert_int_equal(back.nsamples, 5);
	uint64_t a, b;
	assert_int_equal(kst_window_range(&back, &a, &b, &err), 0);
	assert_int_equal(a, 100);
	kp_profile_release(&back);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);

	/* over the bound: the oldest go, never the newest, and they are counted */
	sp.max_bytes = bytes / 2 + 1;
	make_window(&w, 500, 5);
	assert_int_equal(ka_spool_put(&sp, &w, 500, &dropped, &err), 0);
	kp_profile_release(&w);
	assert_int_equal(dropped, 2);
	assert_int_equal(sp.dropped, 2);
	n = ka_spool_list(&sp, &v, NULL);
	assert_int_equal(n, 1);
	assert_non_null(strstr(v[0], "/00000000000000000500.kiln.prof"));
	free(v[0]);
	free(v);
	/* files that are not windows are not listed nor dropped */
	char *other = xasprintf("%s/notes.txt", sub);
	f = fopen(other, "w");
	fclose(f);
	assert_int_equal(ka_spool_list(&sp, &v, NULL), 1);
	free(v[0]);
	free(v);
	ka_spool_close(&sp);

	/* a spool that cannot be made: one line, -1 */
	strbuf_reset(&err);
	assert_int_equal(ka_spool_open(&sp, "/proc/version/x", 1, &err), -1);
	assert_non_null(strstr(err.buf, "'/proc/version/x'"));

	char *cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(other);
	free(stale);
	free(stale_dir);
	free(sub);
	strbuf_release(&err);
}

static void test_proc_labels(void **state)
{
	(void)state;
	struct kst_labels l = KST_LABELS_INIT;
	assert_int_equal(ka_proc_labels(getpid(), NULL, "x", &l), 0);
	char comm[64];
	FILE *f = fopen("/proc/self/comm", "r");
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = 0;
	assert_string_equal(kst_labels_get(&l, "comm"), comm);
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	assert_string_equal(kst_labels_get(&l, "exe"), exe);
	char bid[160];
	if (kp_file_build_id(exe, bid, sizeof(bid)) == 0)
		assert_string_equal(kst_labels_get(&l, "build_id"), bid);
	assert_non_null(kst_labels_get(&l, "cgroup"));
	assert_int_equal(kst_labels_get(&l, "cgroup")[0], '/');
	kst_labels_release(&l);

	/* the agent's service wins over the cgroup's */
	assert_int_equal(ka_proc_labels(getpid(), "checkout", NULL, &l), 0);
	assert_string_equal(kst_labels_get(&l, "service"), "checkout");
	kst_labels_release(&l);

	/* a process that is gone: its name from the fallback, nothing made up */
	assert_int_equal(ka_proc_labels(0x7ffffff0, NULL, "gone", &l), -1);
	assert_string_equal(kst_labels_get(&l, "comm"), "gone");
	assert_null(kst_labels_get(&l, "exe"));
	assert_null(kst_labels_get(&l, "cgroup"));
	kst_labels_release(&l);
}

static int freed;
static void count_free(void *user)
{
	freed++;
	free(user);
}

/* The sampler's new window: the profile empties (value types kept), exited tasks go,
 * live ones stay without their old profile thread. */
static void test_new_window(void **state)
{
	(void)state;
	setenv("KILN_NO_BPF", "1", 1);
	struct kc_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.event = kc_event_lookup("cpu-clock");
	cfg.freq = 19;
	kc_sampler_collector_config(KC_CG_FP, 0, 19, &cfg);
	struct kc_sampler s;
	memset(&s, 0, sizeof(s));
	struct ks_options so = { 0, 0, 0, 1 };
	kc_sampler_init(&s, kc_collector_new(&cfg), &so, KC_CG_FP, 0, 1);
	kp_add_value_type(&s.prof, "samples", "count");
	kp_add_value_type(&s.prof, "cpu_ns", "nanoseconds");
	s.prof.default_value = 1;
	s.free_user = count_free;
	s.renew_windows = 2; /* the symbol session afresh every second window */
	for (int w = 0; w < 3; w++) {
		/* a window's worth: many frames, stacks, strings and samples */
		for (int i = 0; i < 1000; i++) {
			char name[32];
			snprintf(name, sizeof(name), "fn_%d_%d", w, i);
			kp_stack_t st = kp_stack_push(&s.prof, 0, kp_frame_named(&s.prof, name, strlen(name), 0));
			double v[2] = { 1, 1e6 };
			kp_add_sample(&s.prof, st, 0, 0, v);
		}
		struct kc_task *live = kc_task_find(&s.threads, 100 + w, 1);
		live->pid = 100 + w;
		live->pthread = 7;
		kc_task_find(&s.procs, 100 + w, 1)->user = xmalloc(8);
		struct kc_task *dead = kc_task_find(&s.threads, 900 + w, 1);
		dead->pid = 900 + w;
		dead->exited = 1;
		kc_task_find(&s.procs, 900 + w, 1)->exited = 1;
		kc_task_find(&s.procs, 900 + w, 1)->user = xmalloc(8);

		kc_sampler_new_window(&s);
		assert_int_equal(s.prof.nsamples, 0);
		assert_true(s.prof.nframes <= 1);
		assert_true(s.prof.nstacks <= 1);
		assert_true(s.prof.strings.nr < 10);
		assert_int_equal(s.prof.nvalues, 2);
		assert_int_equal(s.prof.default_value, 1);
		assert_string_equal(kp_str_get(&s.prof, s.prof.value_types[1].name), "cpu_ns");
		assert_null(kc_task_find(&s.threads, 900 + w, 0));
		assert_null(kc_task_find(&s.procs, 900 + w, 0));
		assert_int_equal(freed, w + 1); /* the exited process's data, not the live one's */
		struct kc_task *t = kc_task_find(&s.threads, 100 + w, 0);
		assert_non_null(t);
		assert_int_equal(t->pthread, 0);
		assert_non_null(kc_task_find(&s.procs, 100 + w, 0));
	}
	assert_int_equal(s.threads.n, 3);
	assert_int_equal(s.windows, 3);
	assert_int_equal(s.renewals, 1);
	assert_int_equal(s.since_renew, 1);
	/* after a renewal every live process reads its maps again */
	assert_int_equal(kc_task_find(&s.procs, 101, 0)->maps_known, 0);
	assert_non_null(s.sym);
	kc_sampler_release(&s);
	assert_int_equal(freed, 6); /* the live ones' at release */
}

int main(void)
{
	kiln_set_quiet(1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_cgroup_text),
		cmocka_unit_test(test_windows_backoff),
		cmocka_unit_test(test_spool),
		cmocka_unit_test(test_proc_labels),
		cmocka_unit_test(test_new_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
