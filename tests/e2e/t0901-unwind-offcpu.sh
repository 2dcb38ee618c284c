#!/usr/bin/env bash
# t0901-unwind-offcpu: --call-graph dwarf/auto on code without frame pointers (our own
# workload built with -fomit-frame-pointer, libc's qsort calling back, Debian's python3),
# truncation counting, --off-cpu (half sleeping / half computing, by nanosleep and by a
# blocking pipe read), report --value and the verdict line, bad options.
. "$(dirname "$0")/lib.sh"

pyq() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
within() {
	awk -v v="$1" -v w="$2" -v t="$3" 'BEGIN { d = v - w; if (d < 0) d = -d; exit !(d <= t) }' ||
		{ echo "$1 is not within $2 +- $3" >&2; return 1; }
}
share() {
	pyq "$1" "next((f['total_percent'] for f in j['functions'] if f['name'] == '$2'), 0)"
}
# frac FOLDED REGEX [LEAF_REGEX]: share (0-100) of the value of lines whose leaf part
# matches LEAF_REGEX (default: all) that also match REGEX.
frac() {
	awk -v re="$2" -v leaf="${3:-.}" '{ n = $NF; s = $0; sub(/ [0-9.]+$/, "", s)
		if (s !~ leaf) next; all += n; if (s ~ re) good += n }
		END { printf "%.1f\n", all ? 100 * good / all : 0 }' "$1"
}
export -f pyq within share frac

for mode in dwarf auto; do
	expect "$mode: 60/30/10 without frame pointers: shares within 3 points, stacks complete through main" '
		"$KILN" record --call-graph '$mode' -o p.prof -- "$WORKLOADS/shares_nofp" 600 >out 2>err || { cat err; exit 1; }
		! grep -q "could not be unwound" err &&
		"$KILN" report -i p.prof --json >r.json &&
		a=$(share r.json hot_a) && b=$(share r.json hot_b) && c=$(share r.json hot_c) &&
		echo "hot_a $a hot_b $b hot_c $c" &&
		within "$a" 60 3 && within "$b" 30 3 && within "$c" 10 3 &&
		"$KILN" report -i p.prof --folded >f.txt &&
		g=$(frac f.txt "^shares_nofp;_start;__libc_start_main;(__libc_start_call_main;)?main;work_(a;hot_a|b;hot_b|c;hot_c);spin" ";spin") &&
		echo "complete: $g%" && within "$g" 100 1 &&
		! grep -q "\[truncated\]" f.txt
	'
done

expect "fp on the same binary loses the callers (the test above can fail)" '
	"$KILN" record -q --call-graph fp -o p.prof -- "$WORKLOADS/shares_nofp" 300 >out 2>err &&
	"$KILN" report -i p.prof --folded >f.txt &&
	g=$(frac f.txt ";main;work_a;hot_a;spin" ";spin") && echo "fp complete: $g%" &&
	awk -v g="$g" "BEGIN { exit !(g < 50) }"
'

expect "qsort: stacks pass through libc into the comparator and out to main" '
	"$KILN" record -q -o p.prof -- "$WORKLOADS/qsort_cmp" 30 >out 2>err || { cat err; exit 1; }
	"$KILN" report -i p.prof --folded >f.txt &&
	g=$(frac f.txt "^qsort_cmp;_start;__libc_start_main;(__libc_start_call_main;)?main;sort_many;qsort_r;.*msort.*;cmp_slow" ";cmp_slow") &&
	echo "through libc: $g%" && within "$g" 100 2 &&
	"$KILN" report -i p.prof >rep.txt && head -1 rep.txt | grep -q "^on-CPU profile.*hottest path cmp_slow <- "
'

if [ -x /usr/bin/python3 ]; then
	expect "python3 (no frame pointers, --python-internals): stacks reach from main into _PyEval_EvalFrameDefault" '
		printf "def fib(n):\n    return n if n < 2 else fib(n-1) + fib(n-2)\nprint(sum(fib(22) for _ in range(20)))\n" >s.py &&
		"$KILN" record --python-internals -o p.prof -- /usr/bin/python3 s.py >out 2>err || { cat err; exit 1; }
		"$KILN" report -i p.prof --folded >f.txt &&
		g=$(frac f.txt "^python3;_start;__libc_start_main;(__libc_start_call_main;)?Py_BytesMain;.*;_PyEval_EvalFrameDefault" ";_PyEval_EvalFrameDefault") &&
		all=$(awk "{ s += \$NF } END { print s }" f.txt) &&
		ev=$(awk "/_PyEval_EvalFrameDefault/ { s += \$NF } END { print s+0 }" f.txt) &&
		echo "eval samples $ev of $all, complete $g%" &&
		awk -v e="$ev" -v a="$all" "BEGIN { exit !(e > a * 0.7) }" && within "$g" 100 3
	'
else
	skip "python3 into _PyEval_EvalFrameDefault" "/usr/bin/python3 is not installed"
fi

expect "a stack copy too small to reach main: counted, reported, marked [truncated]" '
	"$KILN" record --call-graph dwarf,64 -o p.prof -- "$WORKLOADS/shares_nofp" 200 >out 2>err || { cat err; exit 1; }
	grep -q "stacks .* could not be unwound to their root" err &&
	"$KILN" report -i p.prof --folded >f.txt && grep -q "^shares_nofp;\[truncated\];" f.txt &&
	"$KILN" report -i p.prof >rep.txt && grep -q "^note: [0-9]* stacks could not be unwound" rep.txt
'

# halves of 100 ms: the time from a wake-up to running again (long on a loaded machine)
# counts as blocked, so short halves would drift above 50%. On a loaded machine even
# 100 ms halves drift (pipe wake-ups of ~10 ms a round were seen), so kiln's shares are
# held to +-5 points of where the program's own clock says its wall time went, and
# the workload itself to about half and half. At half and half the verdict is a tie, so
# it must be the one the recorded run timeline implies (JSON "run"; tests below fix
# "waiting" with longer waits).
for how in sleep pipe; do
	expect "--off-cpu ($how): the waiting function is 50% +- 5 of wall time, with its full stack" '
		# a timing measurement on a shared machine: a burst of load (a sanitized kiln,
		# other jobs) can move one run; a systematic error fails both attempts
		for attempt in 1 2; do
			"$KILN" record --off-cpu -o p.prof -- "$WORKLOADS/offcpu_half" '$how' 5 100 >out 2>err || { cat err; exit 1; }
			grep -q "off-CPU intervals" err &&
			truth=$(sed -n "s/^offcpu_half: compute_ms=\([0-9.]*\) wait_ms=\([0-9.]*\)$/\1 \2/p" out) &&
			tw=$(echo "$truth" | awk "{ printf \"%.2f\", 100 * \$2 / (\$1 + \$2) }") && [ -n "$tw" ] &&
			tc=$(awk -v w="$tw" "BEGIN { printf \"%.2f\", 100 - w }") &&
			"$KILN" report -i p.prof --comm offcpu_half --json >r.json &&
			w=$(share r.json wait_part) && c=$(share r.json compute_part) &&
			echo "attempt $attempt: wait_part $w compute_part $c; by the program clock $tw / $tc" || exit 1
			within "$tw" 50 15 && within "$w" "$tw" 5 && within "$c" "$tc" 5 && break
			[ $attempt = 2 ] && exit 1
		done &&
		"$KILN" report -i p.prof --folded >f.txt &&
		grep -q "^offcpu_half;_start;__libc_start_main;.*main;run;wait_part;.*\[off-cpu: blocked\] [0-9]" f.txt &&
		"$KILN" report -i p.prof --comm offcpu_half >rep.txt &&
		off=$(pyq r.json "j[\"run\"][\"running_ns\"] < j[\"run\"][\"runnable_ns\"] + j[\"run\"][\"blocked_ns\"] + j[\"run\"][\"child_ns\"]") &&
		if [ "$off" = True ]; then
			head -1 rep.txt | grep -q "^waiting: [0-9]*% of wall time blocked, mostly in .*wait_part"
		else
			head -1 rep.txt | grep -q "^CPU-bound: [0-9]*% of wall time on the CPU, mostly in .*compute_part"
		fi &&
		grep -q "^wall time .*running .*runnable .*blocked" rep.txt &&
		grep -q "Running  *Runnable  *Blocked" rep.txt
	'
done

expect "--off-cpu -p: attached threads get running/runnable/blocked shares; the writer thread mostly blocks, main is on or waiting for a CPU half the time" '
	"$WORKLOADS/offcpu_half" pipe 20 100 >/dev/null & pid=$!
	sleep 0.3
	"$KILN" record -q --off-cpu -p $pid --duration 1 -o p.prof >out 2>err || { cat err; kill $pid; exit 1; }
	kill $pid 2>/dev/null; wait $pid 2>/dev/null
	"$KILN" report -i p.prof --json >r.json &&
	pyq r.json "[t[\"comm\"] for t in j[\"threads\"]]" &&
	b=$(pyq r.json "next(100.0 * t[\"blocked_ns\"] / t[\"value\"] for t in j[\"threads\"] if t[\"comm\"] == \"writer\")") &&
	# main computes half the time by the clock: on the CPU, or runnable when the machine is
	# loaded (at load 6 on 2 CPUs it ran 19% and waited for a CPU the rest)
	m=$(pyq r.json "next(100.0 * (t[\"running_ns\"] + t[\"runnable_ns\"]) / t[\"value\"] for t in j[\"threads\"] if t[\"comm\"] == \"offcpu_half\")") &&
	echo "writer blocked $b%, main running or runnable $m%" &&
	awk -v b="$b" -v m="$m" "BEGIN { exit !(b > 90 && m > 20 && m < 80) }"
'

expect "--off-cpu: report --value cpu_ns / off_cpu_ns / wall_ns, and wall_ns is their sum" '
	# 40 ms computing, 120 ms waiting a round: waiting dominates, so the verdict is no tie
	"$KILN" record -q --off-cpu -o p.prof -- "$WORKLOADS/offcpu_half" sleep 4 40 120 >out 2>err || { cat err; exit 1; }
	for v in cpu_ns off_cpu_ns wall_ns; do "$KILN" report -i p.prof --value $v --folded >$v.txt || exit 1; done
	"$KILN" report -i p.prof --folded >default.txt && cmp -s default.txt wall_ns.txt &&
	sum() { awk "{ s += \$NF } END { printf \"%.0f\", s }" "$1"; } &&
	c=$(sum cpu_ns.txt) && o=$(sum off_cpu_ns.txt) && w=$(sum wall_ns.txt) && echo "$c + $o = $w" &&
	[ "$((c + o))" -eq "$w" ] && ! grep -q "off-cpu" cpu_ns.txt && grep -q "off-cpu: blocked" off_cpu_ns.txt &&
	"$KILN" report -i p.prof --value cpu_ns >rep.txt && grep -q "compute_part" rep.txt &&
	"$KILN" report -i p.prof --tree >tree.txt && head -1 tree.txt | grep -q "^waiting: " &&
	grep -q "Call tree" tree.txt
'

expect "--off-cpu --no-kernel: switch-out stacks still reach main; JSON has the verdict and the split; flame draws the wait blue" '
	"$KILN" record -q --off-cpu --no-kernel -o p.prof -- "$WORKLOADS/offcpu_half" sleep 4 40 120 >out 2>err || { cat err; exit 1; }
	"$KILN" report -i p.prof --folded >f.txt &&
	grep -q "^offcpu_half;_start;.*;main;run;wait_part;.*\[off-cpu: blocked\] [0-9]" f.txt && ! grep -q "_\[k\]" f.txt &&
	"$KILN" report -i p.prof --json >r.json &&
	pyq r.json "j[\"verdict\"]" | grep -q "^waiting: .*wait_part" &&
	pyq r.json "all(t[\"running_ns\"] + t[\"runnable_ns\"] + t[\"blocked_ns\"] == t[\"value\"] for t in j[\"threads\"])" | grep -qx True &&
	"$KILN" flame p.prof >f.svg &&
	fill=$(grep -o "<title>\[off-cpu: blocked\][^<]*</title><rect [^>]*fill=\"#[0-9a-f]*\"" f.svg | grep -o "#[0-9a-f]*" | head -1) &&
	echo "off-cpu fill $fill" &&
	python3 -c "import sys; h=sys.argv[1]; r,g,b=int(h[1:3],16),int(h[3:5],16),int(h[5:7],16); sys.exit(not (b > r and b > g))" "$fill"
'

expect "bad --call-graph / --stack-size / --off-cpu with a counting event are usage errors" '
	check_exit 2 "$KILN" record --call-graph bogus -- true 2>e1 && one_line_error e1 &&
	check_exit 2 "$KILN" record --call-graph fp,4096 -- true 2>e2 && one_line_error e2 &&
	check_exit 2 "$KILN" record --call-graph dwarf,100M -- true 2>e3 && one_line_error e3 &&
	check_exit 2 "$KILN" record --stack-size 0 -- true 2>e4 && one_line_error e4 &&
	check_exit 2 "$KILN" record --off-cpu -e page-faults -- true 2>e5 && one_line_error e5 &&
	[ ! -e kiln.prof ]
'

expect "report on a plain CPU profile still says it is on-CPU, --value off_cpu_ns is refused" '
	"$KILN" record -q -o p.prof -- "$WORKLOADS/shares_nofp" 100 >out 2>err &&
	"$KILN" report -i p.prof >rep.txt && head -1 rep.txt | grep -q "^on-CPU profile" &&
	check_exit 1 "$KILN" report -i p.prof --value off_cpu_ns 2>e && one_line_error e
'
finish
