#!/usr/bin/env bash
# symbols.sh: timings of the symbols library: 1,000,000 resolves of ~1,000 addresses,
# and DWARF unwinding + symbolization of 100,000 samples of a python3 process
# (snapshots taken with ptrace, cycled). Prints "name value unit" lines.
#   bench/symbols.sh [SNAPSHOTS]      (BUILD=build by default; run `make` first)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
[ -f "$BUILD/libkiln.a" ] || { echo "symbols.sh: run make first" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/kiln-bench-sym.XXXXXX")
trap 'rm -rf "$out"' EXIT
cc -std=gnu11 -O2 -g -D_GNU_SOURCE -Isrc -Isrc/lib -o "$out/symbols_bench" bench/symbols_bench.c \
	"$BUILD/libkiln.a" $(pkg-config --libs libdw libelf libzstd zlib) -liberty -lm
echo "== symbols: synthetic (this process)"
"$out/symbols_bench" synthetic
echo "== symbols: libc, DWARF lines and inlining (from libc6-dbg when installed)"
"$out/symbols_bench" libc
if [ -x /usr/bin/python3 ]; then
	echo "== symbols: python3 (ptrace snapshots, DWARF unwinding; per 1,000 samples = total / 100)"
	"$out/symbols_bench" python "${1:-2000}" | tee "$out/python.txt"
else
	echo "python3 not installed: skipped"
fi
# Reference: perf's DWARF unwinding + symbolization of a similar python3 run
# (perf record --call-graph dwarf, then perf report), per 1,000 samples.
if command -v perf >/dev/null 2>&1 && [ -x /usr/bin/python3 ]; then
	echo "== reference: perf record --call-graph dwarf + perf report on python3"
	if perf record -q -e cpu-clock -F 999 --call-graph dwarf -o "$out/perf.data" -- /usr/bin/python3 -c '
import time
def fib(n): return n if n < 2 else fib(n-1) + fib(n-2)
t = time.time()
while time.time() - t < 3: fib(18)
' >/dev/null 2>&1; then
		n=$(perf script -i "$out/perf.data" -F period 2>/dev/null | wc -l)
		t0=$(date +%s.%N)
		perf report -i "$out/perf.data" --stdio --no-children >/dev/null 2>&1 || true
		t1=$(date +%s.%N)
		awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN {
			printf "perf_report_samples %s count\n", n
			printf "perf_report_time %.1f ms\n", (b - a) * 1000
			if (n > 0) printf "perf_report_per_1000_samples %.1f ms\n", (b - a) * 1000 * 1000 / n }' \
			| tee "$out/perf.txt"
		if [ -s "$out/python.txt" ]; then
			awk '$1 == "python_unwind_100k" || $1 == "python_symbolize_100k" { k += $2 }
			     $1 == "perf_report_per_1000_samples" { p = $2 }
			     END { if (k > 0 && p > 0) {
				printf "kiln_per_1000_samples %.1f ms\n", k / 100
				printf "ratio_perf_over_kiln %.0f x\n", p / (k / 100) } }' \
				"$out/python.txt" "$out/perf.txt"
		fi
	else
		echo "perf record failed: reference skipped"
	fi
fi
