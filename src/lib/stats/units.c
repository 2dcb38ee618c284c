/* units.c: human formatting of durations, sizes and counts; run classification. */
#include "stats/units.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *unit_for(double s, double *mul)
{
	double a = fabs(s);
	if (a >= 1 || a == 0) {
		*mul = 1;
		return "s";
	}
	if (a >= 1e-3) {
		*mul = 1e3;
		return "ms";
	}
	if (a >= 1e-6) {
		*mul = 1e6;
		return "µs";
	}
	*mul = 1e9;
	return "ns";
}

static int digits_for(double v)
{
	double a = fabs(v);
	return a >= 100 ? 1 : a >= 10 ? 2 : 3;
}

char *ks_fmt_duration_as(char *buf, size_t n, double seconds, double scale_of)
{
	double mul;
	const char *u = unit_for(scale_of, &mul);
	if (seconds == 0) {
		snprintf(buf, n, "0 %s", scale_of == 0 ? "ms" : u);
		return buf;
	}
	snprintf(buf, n, "%.*f %s", digits_for(scale_of * mul), seconds * mul, u);
	return buf;
}

char *ks_fmt_duration(char *buf, size_t n, double seconds)
{
	return ks_fmt_duration_as(buf, n, seconds, seconds);
}

char *ks_fmt_bytes(char *buf, size_t n, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;
	while (fabs(bytes) >= 1024 && i < 4) {
		bytes /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, n, "%.0f %s", bytes, units[i]);
	else
		snprintf(buf, n, "%.*f %s", digits_for(bytes) - 1, bytes, units[i]);
	return buf;
}

char *ks_fmt_count(char *buf, size_t n, double count)
{
	char raw[64], out[96];
	size_t len, o = 0;
	int neg = count < 0;
	snprintf(raw, sizeof(raw), "%.0f", fabs(count));
	len = strlen(raw);
	if (neg)
		out[o++] = '-';
	for (size_t i = 0; i < len && o + 2 < sizeof(out); i++) {
		if (i && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = raw[i];
	}
	out[o] = '\0';
	snprintf(buf, n, "%s", out);
	return buf;
}

void ks_classify(double wall, double user, double sys, double run_delay, struct ks_verdict *v)
{
	double cpu = user + sys;
	memset(v, 0, sizeof(*v));
	v->cpu_fraction = wall > 0 ? cpu / wall : 1;
	v->sys_fraction = cpu > 0 ? sys / cpu : 0;
	v->delay_fraction = wall > 0 && run_delay > 0 ? run_delay / wall : 0;
	v->approximate = cpu < 0.010;
	if (v->cpu_fraction + v->delay_fraction < 0.5)
		v->cls = KS_RUN_WAITING;
	else if (sys >= user && cpu > 0)
		v->cls = KS_RUN_KERNEL_HEAVY;
	else
		v->cls = KS_RUN_CPU_USER;
}

const char *ks_run_class_name(enum ks_run_class cls)
{
	switch (cls) {
	case KS_RUN_KERNEL_HEAVY:
		return "kernel-heavy";
	case KS_RUN_WAITING:
		return "waiting";
	default:
		return "CPU-bound in user space";
	}
}

const char *ks_run_class_id(enum ks_run_class cls)
{
	switch (cls) {
	case KS_RUN_KERNEL_HEAVY:
		return "kernel-heavy";
	case KS_RUN_WAITING:
		return "waiting";
	default:
		return "cpu-user";
	}
}

char *ks_fmt_verdict(char *buf, size_t n, const struct ks_verdict *v, double wall, double user,
		     double sys, double run_delay)
{
	char w[32], u[32], s[32], c[32], d[32], note[160];
	size_t len = 0;
	note[0] = '\0';
	if (v->delay_fraction >= 0.1 && v->cls != KS_RUN_WAITING)
		len += (size_t)snprintf(note, sizeof(note), "; it also waited %s (%.0f%%) for a free CPU: "
					"the machine is busy", ks_fmt_duration(d, sizeof(d), run_delay),
					100 * v->delay_fraction);
	if (v->approximate)
		snprintf(note + len, sizeof(note) - len, " (short run: the user/system split is approximate)");
	ks_fmt_duration(w, sizeof(w), wall);
	ks_fmt_duration(u, sizeof(u), user);
	ks_fmt_duration(s, sizeof(s), sys);
	ks_fmt_duration(c, sizeof(c), user + sys);
	switch (v->cls) {
	case KS_RUN_WAITING:
		snprintf(buf, n,
			 "waiting: CPU time %s (user %s + system %s) is %.0f%% of the wall time %s; "
			 "the rest was spent off-CPU (I/O, sleep, locks)%s",
			 c, u, s, 100 * v->cpu_fraction, w, note);
		if (v->delay_fraction >= 0.05) {
			size_t l = strlen(buf);
			snprintf(buf + l, n > l ? n - l : 0, "; %s (%.0f%%) of it waiting for a free CPU",
				 ks_fmt_duration(d, sizeof(d), run_delay), 100 * v->delay_fraction);
		}
		break;
	case KS_RUN_KERNEL_HEAVY:
		snprintf(buf, n,
			 "kernel-heavy: system %s is %.0f%% of the CPU time (user %s); "
			 "CPU busy %.0f%% of the wall time %s%s",
			 s, 100 * v->sys_fraction, u, 100 * v->cpu_fraction, w, note);
		break;
	default:
		snprintf(buf, n,
			 "CPU-bound in user space: user %s is %.0f%% of the CPU time (system %s); "
			 "CPU busy %.0f%% of the wall time %s%s",
			 u, 100 * (1 - v->sys_fraction), s, 100 * v->cpu_fraction, w, note);
	}
	return buf;
}
