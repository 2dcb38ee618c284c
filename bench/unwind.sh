#!/usr/bin/env bash
# unwind.sh: DWARF unwinding, kiln against perf, on python3 (Debian's: no frame pointers)
# running a CPU-bound script, both at 999 Hz on the same event, in one run:
#   1. file size: kiln.prof (unwound while recording, symbols included) vs perf.data
#      (8 KiB stack copies per sample) -- target: at most 1/10
#   2. end of the run -> report on screen: the recorder's tail after the target exits
#      plus `kiln report` vs `perf report --stdio` -- target: at least 20x faster
#   3. the target's extra CPU time with DWARF unwinding, repeated and interleaved, with
#      the spread of the runs as noise -- target: at most 5%
#   bench/unwind.sh            (RUNS=5 by default; BUILD=build; run `make` first)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
K="$PWD/$BUILD/kiln"
PY=/usr/bin/python3
[ -x "$K" ] || { echo "unwind.sh: run make first" >&2; exit 1; }
[ -x "$PY" ] || { echo "unwind.sh: $PY is not installed" >&2; exit 1; }
command -v perf >/dev/null 2>&1 || { echo "unwind.sh: perf is not installed; nothing to compare with" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/kiln-bench-unwind.XXXXXX")
trap 'rm -rf "$out"' EXIT
export KILN_NO_PROGRESS=1

stats() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (!NR) { print "n/a"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.4g [%.4g..%.4g]", m, v[1], v[NR] }'
}
median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { if (!NR) { print 0; exit }
		print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
cpu() { awk 'NF >= 2 { s = $1 + $2 } END { print s + 0 }' "$1"; }
ns() { date +%s%N; }

EV=cpu-clock
perf stat -x, -e cycles true 2>&1 | grep -q "not supported" || EV=cycles
echo "machine: $(nproc) CPUs, $(uname -r), perf $(perf --version | awk '{ print $3 }'), $($PY --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "event: $EV at 999 Hz"

# a CPU-bound script with a few levels of Python calls (~3 s of CPU here)
N=${N:-27}
cat >"$out/s.py" <<EOF2
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
def work(k):
    return sum(fib(k) for _ in range(2))
print(work($N))
EOF2
# the target writes the time it ended, so the recorder's tail can be measured
cat >"$out/t.sh" <<EOF2
#!/bin/sh
$PY "$out/s.py" >/dev/null
date +%s%N >"$out/end"
EOF2
chmod +x "$out/t.sh"

echo
echo "== 1, 2. one recording each, then the report"
"$K" record -e "$EV" -F 999 --call-graph dwarf -o "$out/k.prof" -- "$out/t.sh" 2>"$out/k.err"
t1=$(ns); ktail=$(( t1 - $(cat "$out/end") ))
t0=$(ns); "$K" report -i "$out/k.prof" >"$out/k.txt"; t1=$(ns); krep=$((t1 - t0))
perf record -e "$EV" -F 999 --call-graph dwarf -o "$out/p.data" -- "$out/t.sh" 2>"$out/p.err" >/dev/null
t1=$(ns); ptail=$(( t1 - $(cat "$out/end") ))
t0=$(ns); perf report -i "$out/p.data" --stdio >"$out/p.txt" 2>/dev/null; t1=$(ns); prep=$((t1 - t0))
ks=$(sed -n 's/^kiln record: \([0-9]*\) samples.*/\1/p' "$out/k.err" | tail -1)
ps=$(sed -n 's/.*(\([0-9]*\) samples).*/\1/p' "$out/p.err" | tail -1)
kb=$(stat -c %s "$out/k.prof"); pb=$(stat -c %s "$out/p.data")
grep "could not be unwound" "$out/k.err"
awk -v ks="$ks" -v kb="$kb" -v ps="$ps" -v pb="$pb" 'BEGIN {
	printf "kiln.prof  %6d samples %10d bytes  %7.1f bytes/sample\n", ks, kb, kb / ks
	printf "perf.data  %6d samples %10d bytes  %7.1f bytes/sample\n", ps, pb, pb / ps
	printf "size ratio perf.data / kiln.prof: %.0fx (per sample %.0fx; target >= 10x)\n", pb / kb, (pb / ps) / (kb / ks) }'
awk -v kt="$ktail" -v kr="$krep" -v pt="$ptail" -v pr="$prep" 'BEGIN {
	printf "kiln: record tail %.0f ms + report %.0f ms = %.0f ms\n", kt / 1e6, kr / 1e6, (kt + kr) / 1e6
	printf "perf: record tail %.0f ms + report %.0f ms = %.0f ms\n", pt / 1e6, pr / 1e6, (pt + pr) / 1e6
	printf "end of run -> report: perf/kiln %.0fx (target >= 20x)\n", (pt + pr) / (kt + kr) }'
echo "kiln report's first line: $(head -1 "$out/k.txt")"
# how deep the stacks are: samples reaching _PyEval_EvalFrameDefault from main
"$K" report -i "$out/k.prof" --folded >"$out/k.folded"
awk '{ n = $NF; all += n; if ($0 ~ /Py_BytesMain;.*_PyEval_EvalFrameDefault/) ev += n; if ($0 ~ /\[truncated\]/) tr += n }
     END { printf "kiln stacks from Py_BytesMain into _PyEval_EvalFrameDefault: %.1f%%, truncated %.1f%%\n", 100 * ev / all, 100 * tr / all }' "$out/k.folded"

echo
echo "== 3. target CPU time, $RUNS runs each, interleaved (python3 alone / kiln dwarf / kiln fp / perf dwarf)"
for f in plain kiln kfp perf kself; do : >"$out/$f"; done
for i in $(seq "$RUNS"); do
	/usr/bin/time -f "%U %S" -o "$out/in" $PY "$out/s.py" >/dev/null
	cpu "$out/in" >>"$out/plain"
	/usr/bin/time -f "%U %S" -o "$out/outer" "$K" record -q -e "$EV" -F 999 --call-graph dwarf -o "$out/k2.prof" -- \
		/usr/bin/time -f "%U %S" -o "$out/in" $PY "$out/s.py" >/dev/null 2>&1
	cpu "$out/in" >>"$out/kiln"
	echo "$(cpu "$out/outer") $(cpu "$out/in")" | awk '{ print $1 - $2 }' >>"$out/kself"
	"$K" record -q -e "$EV" -F 999 --call-graph fp -o "$out/k3.prof" -- \
		/usr/bin/time -f "%U %S" -o "$out/in" $PY "$out/s.py" >/dev/null 2>&1
	cpu "$out/in" >>"$out/kfp"
	perf record -q -e "$EV" -F 999 --call-graph dwarf -o "$out/p2.data" -- \
		/usr/bin/time -f "%U %S" -o "$out/in" $PY "$out/s.py" >/dev/null 2>&1
	cpu "$out/in" >>"$out/perf"
done
pm=$(median "$out/plain")
echo "target CPU, no recorder      $(stats "$out/plain") s   (noise: the spread of these runs)"
echo "target CPU, kiln dwarf       $(stats "$out/kiln") s"
echo "target CPU, kiln fp          $(stats "$out/kfp") s   (sampling alone, 2 KiB copies)"
echo "target CPU, perf dwarf       $(stats "$out/perf") s"
awk -v p="$pm" -v k="$(median "$out/kiln")" -v f="$(median "$out/kfp")" -v q="$(median "$out/perf")" -v lo="$(sort -g "$out/plain" | head -1)" -v hi="$(sort -g "$out/plain" | tail -1)" 'BEGIN {
	printf "target overhead (medians): kiln dwarf %+.2f%%, kiln fp %+.2f%%, perf dwarf %+.2f%%; run-to-run spread without a recorder %.1f%% (target <= 5%%)\n",
		(k - p) * 100 / p, (f - p) * 100 / p, (q - p) * 100 / p, (hi - lo) * 100 / p }'
echo "kiln's own CPU (unwinding and symbolizing while recording): $(stats "$out/kself") s"
