#!/usr/bin/env bash
# latency.sh: the per-call cost of kiln latency against bcc's funclatency (Debian's
# bpfcc-tools), in one run, on a loop calling one small function N times.
#
# Workload: build/workloads/calls_bench N MODE times its own loop (loop_ns), so tool
# start-up and exit are left out. Two functions: framed_call (first instruction
# push %rbp, which the kernel's uprobe emulates) and leaf_call (first instruction lea,
# which a uprobe single-steps out of line: dear in a virtual machine). Both tools place a
# uprobe and a uretprobe through perf_event_open; bcc sums in a BPF program, kiln reads
# every entry and return from its rings.
# ns per call added = (loop_ns under the tool - loop_ns bare) / N, per run next to a
# bare run (the steadiest figure on a shared machine); min and median over REPS.
# bcc needs kernel headers to compile its program: when /lib/modules/$(uname -r)/build
# is missing, a tree is assembled from Debian's linux-headers-amd64 (scripts/deps.sh
# --test installs it) and given in BCC_KERNEL_SOURCE.
#   bench/latency.sh        N=1000000 (framed), NLEAF=N/10 (leaf), REPS=3
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN=$PWD/$BUILD/kiln
PROG=$PWD/$BUILD/workloads/calls_bench
N=${N:-1000000}
NLEAF=${NLEAF:-$((N / 10))}
REPS=${REPS:-3}
T=$(mktemp -d /tmp/kiln-bench-latency.XXXXXX)
FL=$(command -v funclatency-bpfcc || true)
flpid=
cleanup() {
	[ -n "$flpid" ] && kill -INT "$flpid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
export KILN_NO_PROGRESS=1
[ -x "$KILN" ] && [ -x "$PROG" ] || { echo "latency.sh: build first (make)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "latency.sh: uprobes need root"; exit 1; }
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); kernel $(uname -r); REPS=$REPS"

if [ -n "$FL" ] && [ ! -d "/lib/modules/$(uname -r)/build" ] && [ -z "${BCC_KERNEL_SOURCE:-}" ]; then
	common=$(ls -d /usr/src/linux-headers-*-common 2>/dev/null | sort -V | tail -1)
	arch=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -1)
	if [ -n "$common" ] && [ -n "$arch" ]; then
		mkdir -p "$T/khdr" && cp -rs "$common/." "$T/khdr/" 2>/dev/null && cp -rsf "$arch/." "$T/khdr/" 2>/dev/null
		export BCC_KERNEL_SOURCE=$T/khdr
		echo "bcc: no headers for $(uname -r); using $(basename "$arch")"
	else
		echo "bcc: no kernel headers (apt-get install linux-headers-amd64): funclatency skipped"
		FL=
	fi
fi

loop_of() { sed -n 's/^loop_ns //p' "$1" | tail -1; }

bare() { "$PROG" "$1" "$2" 2>"$T/err" >/dev/null && loop_of "$T/err"; }

kiln_run() {
	"$KILN" latency "$3" --slowest 0 --json -- "$PROG" "$1" "$2" >"$T/k.json" 2>"$T/err" || { cat "$T/err" >&2; return 1; }
	local c
	c=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["functions"][0]["count"])' "$T/k.json")
	[ "$c" = "$1" ] || echo "kiln counted $c of $1 calls" >&2
	loop_of "$T/err"
}

bcc_run() {
	# a background job of a script ignores SIGINT, and so would funclatency (which ends
	# and prints on SIGINT): restore the default before it starts
	PYTHONUNBUFFERED=1 python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
		"$FL" -u "$PROG:$3" >"$T/fl" 2>&1 &
	flpid=$!
	for _ in $(seq 1 300); do
		grep -q "Tracing" "$T/fl" && break
		kill -0 $flpid 2>/dev/null || break
		sleep 0.2
	done
	grep -q "Tracing" "$T/fl" || { echo "funclatency did not start:" >&2; tail -3 "$T/fl" >&2; flpid=; return 1; }
	"$PROG" "$1" "$2" 2>"$T/err" >/dev/null
	kill -INT $flpid
	wait $flpid 2>/dev/null
	flpid=
	local c
	c=$(sed -n 's/.*count: \([0-9]*\).*/\1/p' "$T/fl" | tail -1)
	[ "$c" = "$1" ] || echo "funclatency counted ${c:-?} of $1 calls" >&2
	loop_of "$T/err"
}

# stats NAME FILE N: min and median ns per call of the overheads in FILE (ns per run)
stats() {
	python3 - "$1" "$2" "$3" <<'PY'
import statistics, sys
name, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
v = [float(x) / n for x in open(path).read().split()]
if v:
    print(f"  {name:<22} {min(v):10.0f} ns/call min {statistics.median(v):10.0f} median {max(v):10.0f} max ({len(v)} runs)")
PY
}

for mode in framed leaf; do
	n=$N
	[ "$mode" = leaf ] && n=$NLEAF
	fn=${mode}_call
	: >"$T/kov"
	: >"$T/bov"
	: >"$T/bare"
	for r in $(seq 1 "$REPS"); do
		b=$(bare "$n" "$mode") || exit 1
		echo "$b" >>"$T/bare"
		k=$(kiln_run "$n" "$mode" "$fn") || exit 1
		echo $((k - b)) >>"$T/kov"
		if [ -n "$FL" ]; then
			b2=$(bare "$n" "$mode")
			f=$(bcc_run "$n" "$mode" "$fn") && echo $((f - b2)) >>"$T/bov"
		fi
	done
	echo "$fn: $n calls per run"
	stats "bare loop" "$T/bare" "$n"
	stats "kiln latency" "$T/kov" "$n"
	[ -s "$T/bov" ] && stats "funclatency (bcc)" "$T/bov" "$n"
	if [ -s "$T/bov" ]; then
		python3 - "$T/kov" "$T/bov" <<'PY'
import statistics, sys
k = statistics.median(float(x) for x in open(sys.argv[1]).read().split())
b = statistics.median(float(x) for x in open(sys.argv[2]).read().split())
print(f"  ratio kiln/bcc (median overhead): {k / b:.2f}" if b > 0 else "  ratio: bcc overhead not measurable")
PY
	fi
done
