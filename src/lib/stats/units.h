/* units.h: human formatting of measured quantities (durations, sizes, counts) and the
 * one-line classification of a run (CPU-bound, kernel-heavy, waiting). No I/O. */
#ifndef KILN_STATS_UNITS_H
#define KILN_STATS_UNITS_H
#include <stddef.h>

/* Formats seconds with a unit chosen for 3-4 significant digits: "812.3 µs", "21.47 ms",
 * "1.503 s". Writes into buf (size n) and returns buf. */
char *ks_fmt_duration(char *buf, size_t n, double seconds);
/* Formats seconds in a given unit's scale (the unit of another figure), e.g. for
 * "21.47 ms ± 0.31 ms": scale_of is the figure whose unit is used. */
char *ks_fmt_duration_as(char *buf, size_t n, double seconds, double scale_of);
/* Formats bytes in binary units: "812 KiB", "1.9 MiB", "3.02 GiB". */
char *ks_fmt_bytes(char *buf, size_t n, double bytes);
/* Formats a count with thousands separators: "1,234,567" (rounded to an integer). */
char *ks_fmt_count(char *buf, size_t n, double count);

enum ks_run_class {
	KS_RUN_CPU_USER,        /* CPU-bound in user space */
	KS_RUN_KERNEL_HEAVY,    /* most CPU time in the kernel */
	KS_RUN_WAITING,         /* wall time mostly off-CPU: I/O, sleep, locks */
};

struct ks_verdict {
	enum ks_run_class cls;
	double cpu_fraction;    /* (user + sys) / wall; above 1 for parallel programs */
	double sys_fraction;    /* sys / (user + sys); 0 when no CPU time */
	double delay_fraction;  /* run-queue delay / wall: runnable but no CPU free; 0 if unknown */
	int approximate;        /* CPU time under 10 ms: the user/system split is coarse */
};

/* Classifies a run. run_delay is the time the program was runnable but waiting for a CPU
 * (scheduler run-queue delay; < 0 when unknown): on a busy machine it is neither CPU time
 * nor waiting for I/O. Waiting when user + sys + run_delay < 50% of wall (the rest: blocked
 * in I/O, sleep, locks); else kernel-heavy when sys >= user; else CPU-bound in user space. */
void ks_classify(double wall, double user, double sys, double run_delay, struct ks_verdict *v);
/* "CPU-bound in user space", "kernel-heavy", "waiting". */
const char *ks_run_class_name(enum ks_run_class cls);
/* Machine name: "cpu-user", "kernel-heavy", "waiting". */
const char *ks_run_class_id(enum ks_run_class cls);
/* The verdict line with the numbers that led to it (no trailing newline). */
char *ks_fmt_verdict(char *buf, size_t n, const struct ks_verdict *v, double wall, double user,
		     double sys, double run_delay);

#endif
