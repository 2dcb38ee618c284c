/* symbols_bench.c: timings of the symbols library (built and run by bench/symbols.sh).
 *
 *   symbols_bench synthetic        1,000,000 resolves of ~1,000 distinct addresses
 *   symbols_bench libc             20,000 distinct libc addresses, DWARF lines + inlines
 *   symbols_bench python SAMPLES   samples a running python3 with ptrace (registers and
 *                                  the top 32 KiB of its stack), then unwinds and
 *                                  symbolizes 100,000 samples cycled from those
 *
 * Prints one "name value unit" line per figure. Not a test: timings are noisy here. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <asm/perf_regs.h>
#include "profile/profile.h"
#include "symbols/symbols.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* ---- synthetic: this process, libc and libdw addresses ---- */
static int synthetic(void)
{
	/* ~1,000 distinct code addresses: spread over libc's and libdw's text */
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	uint64_t addrs[1000];
	int na = 0;
	while (f && fgets(line, sizeof(line), f) && na < 1000) {
		unsigned long a, b;
		char perm[8];
		if (sscanf(line, "%lx-%lx %7s", &a, &b, perm) != 3 || perm[2] != 'x' ||
		    !strchr(line, '/'))
			continue;
		for (uint64_t x = a + 17; x < b && na < 1000; x += (b - a) / 300 + 13)
			addrs[na++] = x;
	}
	if (f)
		fclose(f);
	struct ks_session *s = ks_session_new(NULL);
	int pid = getpid();
	ks_load_proc_maps(s, pid);
	struct kp_profile p;
	kp_profile_init(&p);
	kp_frame_t out[16];
	double t0 = now();
	for (int i = 0; i < na; i++)
		ks_resolve(s, &p, pid, addrs[i], 0, out, 16);
	double t1 = now();
	long total = 0;
	for (int r = 0; r < 1000000 / na; r++)
		for (int i = 0; i < na; i++)
			total += ks_resolve(s, &p, pid, addrs[i], 0, out, 16);
	double t2 = now();
	printf("synthetic_distinct_addresses %d count\n", na);
	printf("synthetic_first_pass %.1f ms\n", (t1 - t0) * 1e3);
	printf("synthetic_1M_resolves %.1f ms\n", (t2 - t1) * 1e3);
	printf("synthetic_frames %ld count\n", total);
	printf("synthetic_peak_rss %ld KiB\n", peak_rss_kb());
	kp_profile_release(&p);
	ks_session_free(s);
	return 0;
}

/* ---- DWARF-heavy: 20,000 distinct addresses in libc (lines and inlining from
 * libc6-dbg's debug file when installed) ---- */
static int libc_dwarf(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	unsigned long a = 0, b = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char perm[8];
		if (strstr(line, "/libc.so") && sscanf(line, "%lx-%lx %7s", &a, &b, perm) == 3 &&
		    perm[2] == 'x')
			break;
		a = b = 0;
	}
	if (f)
		fclose(f);
	if (!a)
		return 1;
	struct ks_session *s = ks_session_new(NULL);
	int pid = getpid();
	ks_load_proc_maps(s, pid);
	struct kp_profile p;
	kp_profile_init(&p);
	kp_frame_t out[16];
	long frames = 0, lines = 0, inl = 0;
	const int n = 20000;
	double t0 = now();
	for (int i = 0; i < n; i++) {
		int m = ks_resolve(s, &p, pid, a + (b - a) / n * i + 3, 0, out, 16);
		frames += m;
		lines += p.frames[out[m - 1]].line != 0;
		inl += m - 1;
	}
	double t1 = now();
	printf("libc_distinct_addresses %d count\n", n);
	printf("libc_resolve_cold %.1f ms\n", (t1 - t0) * 1e3);
	printf("libc_with_line %.1f %%\n", 100.0 * lines / n);
	printf("libc_inlined_frames %ld count\n", inl);
	printf("libc_peak_rss %ld KiB\n", peak_rss_kb());
	kp_profile_release(&p);
	ks_session_free(s);
	return 0;
}

/* ---- python3 sampled with ptrace ---- */
#define STACK_COPY 32768

struct sample {
	struct ks_regs regs;
	unsigned char *stack;
	size_t len;
};

static const char py_script[] =
	"import json, re\n"
	"def fib(n):\n"
	"    return n if n < 2 else fib(n-1) + fib(n-2)\n"
	"def text():\n"
	"    s = ' '.join(str(i) for i in range(2000))\n"
	"    return len(re.findall(r'[0-9]+', s))\n"
	"def js():\n"
	"    d = {str(i): [i, i*2, {'x': i}] for i in range(300)}\n"
	"    return len(json.loads(json.dumps(d)))\n"
	"while True:\n"
	"    fib(18); text(); js(); sorted(range(5000), key=lambda x: -x)\n";

static int python(int nsamples)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl("/usr/bin/python3", "python3", "-c", py_script, (char *)NULL);
		_exit(127);
	}
	usleep(300000); /* let the interpreter start and load its modules */
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) {
		perror("ptrace");
		kill(pid, SIGKILL);
		return 1;
	}
	struct sample *smp = calloc((size_t)nsamples, sizeof(*smp));
	int got = 0;
	for (int i = 0; i < nsamples; i++) {
		usleep(1000);
		if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0)
			break;
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
			break;
		struct user_regs_struct ur;
		if (ptrace(PTRACE_GETREGS, pid, 0, &ur) == 0) {
			struct sample *s = &smp[got];
			uint64_t *r = s->regs.regs;
			r[PERF_REG_X86_AX] = ur.rax; r[PERF_REG_X86_BX] = ur.rbx;
			r[PERF_REG_X86_CX] = ur.rcx; r[PERF_REG_X86_DX] = ur.rdx;
			r[PERF_REG_X86_SI] = ur.rsi; r[PERF_REG_X86_DI] = ur.rdi;
			r[PERF_REG_X86_BP] = ur.rbp; r[PERF_REG_X86_SP] = ur.rsp;
			r[PERF_REG_X86_IP] = ur.rip;
			r[PERF_REG_X86_R8] = ur.r8; r[PERF_REG_X86_R9] = ur.r9;
			r[PERF_REG_X86_R10] = ur.r10; r[PERF_REG_X86_R11] = ur.r11;
			r[PERF_REG_X86_R12] = ur.r12; r[PERF_REG_X86_R13] = ur.r13;
			r[PERF_REG_X86_R14] = ur.r14; r[PERF_REG_X86_R15] = ur.r15;
			s->regs.mask = 0xff01ff; /* AX..IP and R8..R15 */
			s->stack = malloc(STACK_COPY);
			/* read as much as the stack holds, up to STACK_COPY */
			size_t want = STACK_COPY;
			ssize_t n = -1;
			while (want >= 512) {
				struct iovec local = { s->stack, want };
				struct iovec remote = { (void *)(uintptr_t)ur.rsp, want };
				n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
				if (n > 0)
					break;
				want /= 2;
			}
			s->len = n > 0 ? (size_t)n : 0;
			got++;
		}
		ptrace(PTRACE_CONT, pid, 0, 0);
	}
	struct ks_session *s = ks_session_new(NULL);
	ks_load_proc_maps(s, pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* unwind and symbolize 100,000 samples cycled from the snapshots */
	const int N = 100000;
	enum { MAXF = 256 };
	uint64_t ips[MAXF];
	struct kp_profile p;
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	double tu = 0, ts = 0, t;
	long frames = 0, complete = 0, reach_main = 0;
	kp_str_t main_name = 0;
	for (int i = 0; i < N; i++) {
		struct sample *sm = &smp[i % got];
		int comp;
		t = now();
		int n = ks_unwind(s, pid, &sm->regs, sm->stack, sm->len, ips, MAXF, &comp);
		double t2 = now();
		tu += t2 - t;
		kp_frame_t fr[MAXF * 2], tmp[16];
		int nf = 0;
		for (int k = 0; k < n; k++) {
			int m = ks_resolve(s, &p, pid, k ? ips[k] - 1 : ips[k], 0, tmp, 16);
			for (int j = 0; j < m && nf < MAXF * 2; j++)
				fr[nf++] = tmp[j];
		}
		/* root first for the trie */
		for (int a = 0, b = nf - 1; a < b; a++, b--) {
			kp_frame_t x = fr[a];
			fr[a] = fr[b];
			fr[b] = x;
		}
		if (i == 0 && getenv("KILN_BENCH_SHOW"))
			for (int j = 0; j < nf; j++)
				fprintf(stderr, "  %s (%s)\n", kp_str_get(&p, p.frames[fr[j]].name),
					kp_str_get(&p, p.frames[fr[j]].module));
		double one = 1;
		kp_add_sample(&p, kp_stack_from_frames(&p, fr, (size_t)nf), 0, 0, &one);
		ts += now() - t2;
		frames += n;
		complete += comp;
		if (i < got) {
			if (!main_name)
				main_name = kp_str_find(&p, "Py_BytesMain", 12);
			for (int j = 0; j < nf; j++)
				if (main_name && p.frames[fr[j]].name == main_name) {
					reach_main++;
					break;
				}
		}
	}
	printf("python_snapshots %d count\n", got);
	printf("python_samples %d count\n", N);
	printf("python_mean_depth %.1f frames\n", (double)frames / N);
	printf("python_complete %.1f %%\n", 100.0 * complete / N);
	printf("python_reach_Py_BytesMain %.1f %%\n", 100.0 * reach_main / (got ? got : 1));
	printf("python_distinct_frames %u count\n", p.nframes - 1);
	printf("python_unwind_100k %.1f ms\n", tu * 1e3);
	printf("python_symbolize_100k %.1f ms\n", ts * 1e3);
	printf("python_peak_rss %ld KiB\n", peak_rss_kb());
	kp_profile_release(&p);
	ks_session_free(s);
	for (int i = 0; i < got; i++)
		free(smp[i].stack);
	free(smp);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "synthetic") == 0)
		return synthetic();
	if (argc >= 2 && strcmp(argv[1], "libc") == 0)
		return libc_dwarf();
	if (argc >= 2 && strcmp(argv[1], "python") == 0)
		return python(argc > 2 ? atoi(argv[2]) : 2000);
	fprintf(stderr, "usage: symbols_bench synthetic | python [SNAPSHOTS]\n");
	return 2;
}
