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
. bench/lib/common.sh python
ROUNDS=${ROUNDS:-8000}
PY=${PY:-/usr/bin/python3}
W="$PWD/bench/py_work.py"
[ -x "$K" ] || { echo "python.sh: run make first" >&2; exit 1; }
[ -x "$PY" ] || { echo "python.sh: $PY is not installed" >&2; exit 1; }
have_perf=1
command -v perf >/dev/null 2>&1 || have_perf=0

variants="bare kiln kiln_nobpf cprofile"
[ $have_perf = 1 ] && variants="bare kiln kiln_nobpf perf_fp perf_dwarf cprofile"
run() {
	local v=$1 r=$out/r
	rm -f "$r"
	case $v in
	bare) "$PY" "$W" "$ROUNDS" "$r" ;;
	kiln) "$K" record -q -o "$out/k.prof" -- "$PY" "$W" "$ROUNDS" "$r" 2>/dev/null ;;
	kiln_nobpf) KILN_NO_BPF=1 "$K" record -q -o "$out/n.prof" -- "$PY" "$W" "$ROUNDS" "$r" 2>/dev/null ;;
	perf_fp) perf record -q -F 999 -g -o "$out/p.data" -- "$PY" "$W" "$ROUNDS" "$r" >/dev/null 2>&1 ;;
	perf_dwarf) perf record -q -F 999 --call-graph dwarf -o "$out/p.data" -- "$PY" "$W" "$ROUNDS" "$r" >/dev/null 2>&1 ;;
	cprofile) "$PY" -m cProfile -o "$out/c.pstats" "$W" "$ROUNDS" "$r" >/dev/null ;;
	esac
	# a run that failed (perf aborts now and then) wrote nothing: no figure, rather
	# than the one before it read again
	[ -s "$r" ] || { echo "python.sh: one $v run failed; left out" >&2; return; }
	read -r t_cpu t_wall _ <"$r"
	echo "$t_cpu" >>"$out/$v.cpu"
	echo "$t_wall" >>"$out/$v.wall"
}

echo "machine: $(nproc) CPUs, $(uname -r), $("$PY" --version), load $(load)"
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
	printf "%-12s %-30s %-30s %.3f (%.3f)\n" "$v" "$(stats "$out/$v.cpu" %.3f)" "$(stats "$out/$v.wall" %.3f)" \
		"$(awk -v a="$(median "$out/$v.cpu")" -v b="$b" 'BEGIN { print a / b }')" \
		"$(awk -v a="$(median "$out/$v.wall")" -v b="$bw" 'BEGIN { print a / b }')"
done
echo
echo "noise: the spread [min..max] of the bare runs is $(stats "$out/bare.cpu" %.3f) s of CPU; load at the end $(load)"
