#!/usr/bin/env bash
# python.sh: the cost of profiling a CPU-bound Python program, in one run:
#   bare python3 | kiln record (Python frames by BPF) | kiln record with KILN_NO_BPF=1
#   (native stacks only: the BPF program's share) | perf record -g | perf record
#   --call-graph dwarf | python3 -m cProfile (the deterministic profiler users would
#   otherwise pick: the upper anchor)
# The program (bench/py_work.py) does a fixed amount of work and reports its own CPU
# time (time.process_time: user + system of the target) and wall time. Runs are
# interleaved; prints medians with [min..max] and the ratios to the bare run.
#   bench/python.sh            (RUNS=5, ROUNDS=8000, PY=/usr/bin/python3 by default)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
ROUNDS=${ROUNDS:-8000}
PY=${PY:-/usr/bin/python3}
K="$PWD/$BUILD/kiln"
W="$PWD/bench/py_work.py"
[ -x "$K" ] || { echo "python.sh: run make first" >&2; exit 1; }
[ -x "$PY" ] || { echo "python.sh: $PY is not installed" >&2; exit 1; }
have_perf=1
command -v perf >/dev/null 2>&1 || have_perf=0
out=$(mktemp -d "${TMPDIR:-/tmp}/kiln-bench-python.XXXXXX")
trap 'rm -rf "$out"' EXIT
export KILN_NO_PROGRESS=1

stats() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (!NR) { print "n/a"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f [%.3f..%.3f]", m, v[1], v[NR] }'
}
median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { if (!NR) { print 0; exit }
		print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

variants="bare kiln kiln_nobpf cprofile"
[ $have_perf = 1 ] && variants="bare kiln kiln_nobpf perf_fp perf_dwarf cprofile"
run() {
	local v=$1 r=$out/r
	case $v in
	bare) "$PY" "$W" "$ROUNDS" "$r" ;;
	kiln) "$K" record -q -o "$out/k.prof" -- "$PY" "$W" "$ROUNDS" "$r" 2>/dev/null ;;
	kiln_nobpf) KILN_NO_BPF=1 "$K" record -q -o "$out/n.prof" -- "$PY" "$W" "$ROUNDS" "$r" 2>/dev/null ;;
	perf_fp) perf record -q -F 999 -g -o "$out/p.data" -- "$PY" "$W" "$ROUNDS" "$r" >/dev/null 2>&1 ;;
	perf_dwarf) perf record -q -F 999 --call-graph dwarf -o "$out/p.data" -- "$PY" "$W" "$ROUNDS" "$r" >/dev/null 2>&1 ;;
	cprofile) "$PY" -m cProfile -o "$out/c.pstats" "$W" "$ROUNDS" "$r" >/dev/null ;;
	esac
	read -r cpu wall _ <"$r"
	echo "$cpu" >>"$out/$v.cpu"
	echo "$wall" >>"$out/$v.wall"
}

echo "machine: $(nproc) CPUs, $(uname -r), $("$PY" --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "work: bench/py_work.py $ROUNDS rounds; $RUNS runs of each, interleaved; 999 Hz for kiln and perf"
for v in $variants; do : >"$out/$v.cpu"; : >"$out/$v.wall"; done
for i in $(seq "$RUNS"); do
	for v in $variants; do run "$v"; done
done
# kiln's own view of one recording: did the Python frames arrive?
echo "kiln: $("$K" report -i "$out/k.prof" 2>/dev/null | sed -n 1p)"

b=$(median "$out/bare.cpu")
bw=$(median "$out/bare.wall")
printf "\n%-12s %-30s %-30s %s\n" variant "target CPU s" "wall s" "CPU ratio (wall ratio)"
for v in $variants; do
	printf "%-12s %-30s %-30s %.3f (%.3f)\n" "$v" "$(stats "$out/$v.cpu")" "$(stats "$out/$v.wall")" \
		"$(awk -v a="$(median "$out/$v.cpu")" -v b="$b" 'BEGIN { print a / b }')" \
		"$(awk -v a="$(median "$out/$v.wall")" -v b="$bw" 'BEGIN { print a / b }')"
done
echo
echo "noise: the spread [min..max] of the bare runs is $(awk -v s="$(stats "$out/bare.cpu")" 'BEGIN { print s }') s of CPU"
