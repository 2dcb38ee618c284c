#!/usr/bin/env bash
# t1502-python-more: Python frames in off-CPU stacks (time.sleep, a socket read),
# multiprocessing children (fork and spawn), CPython 3.9/3.10/3.12/3.13 (pyenv's, when
# installed), 3.12's -X perf stacks (complete with and without BPF), and the offsets
# table against the headers of every interpreter on the machine.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_python.sh"

PY_DEB=/usr/bin/python3
PYENV=${PYENV_ROOT:-/root/.pyenv}/versions
export PY_DEB PYENV
if [ ! -x "$PY_DEB" ]; then
	skip "python3 tests" "/usr/bin/python3 is not installed"
	finish
	exit $?
fi

# wall_of FOLDED FN LEAF: seconds of FN'"'"'s samples that end in LEAF (wall_ns values)
wall_of() {
	awk -v fn="$2" -v leaf="$3" '{ v = $NF; s = $0; sub(/ [0-9.]+$/, "", s)
		if (index(s, ";" fn " (") && index(s, leaf)) t += v } END { printf "%.3f\n", t / 1e9 }' "$1"
}
export -f wall_of

expect "--off-cpu: time.sleep and a socket read show under their Python callers, for as long as they wait" '
	"$KILN" record -q --off-cpu -o p.prof -- "$PY_DEB" "$PYW/py_wait.py" 5 >out 2>err || { cat err; exit 1; }
	"$KILN" report -i p.prof --folded >f.txt &&
	s=$(wall_of f.txt sleeper "clock_nanosleep") && r=$(wall_of f.txt reader "recv") &&
	echo "sleeper waited $s s, reader $r s (the program: 1.0 s each)" &&
	within "$s" 1.0 0.15 && within "$r" 1.0 0.25 &&
	grep -q ";main (py_wait.py:[0-9]*);sleeper (py_wait.py:[0-9]*);clock_nanosleep;.*\[off-cpu: blocked\] " f.txt &&
	grep -q ";main (py_wait.py:[0-9]*);reader (py_wait.py:[0-9]*);recv;.*\[off-cpu: blocked\] " f.txt &&
	grep -q "^python3;Thread._bootstrap (threading.py:[0-9]*);.*;answer (py_wait.py:[0-9]*);clock_nanosleep" f.txt
'

for how in fork spawn; do
	expect "multiprocessing ($how): the samples of the workers show mp_work under the pool worker" '
		"$KILN" record -q -o p.prof -- "$PY_DEB" "$PYW/py_mp.py" '$how' 1 >out 2>err || { cat err; exit 1; }
		"$KILN" report -i p.prof --json >r.json &&
		main=$(pyjson r.json "min(t[\"pid\"] for t in j[\"threads\"])") &&
		n=0 && for pid in $(pyjson r.json "\" \".join(sorted(set(str(t[\"pid\"]) for t in j[\"threads\"])))"); do
			[ "$pid" = "$main" ] && continue
			"$KILN" report -i p.prof --pid $pid --folded >w.txt || exit 1
			c=$(pyshare w.txt mp_work mp_work worker) || exit 1
			all=$(awk "{ s += \$NF } END { print s }" w.txt)
			in=$(grep ";worker (pool.py:[0-9]*);.*;mp_work (py_mp.py:[0-9]*)" w.txt | awk "{ s += \$NF } END { print s+0 }")
			echo "pid $pid: $in of $all samples in mp_work"
			[ "$all" -gt 300 ] && awk -v a="$all" -v i="$in" "BEGIN { exit !(i > a * 0.85) }" && n=$((n + 1))
		done
		test $n = 2
	'
done

expect "recursion deeper than the walk: the innermost frames under [truncated], never silently cut" '
	printf "import time\ndef leafwork():\n    t0 = time.thread_time()\n    while time.thread_time() - t0 < 0.01:\n        pass\ndef rec(n):\n    return leafwork() if n == 0 else rec(n - 1)\nfor _ in range(60):\n    rec(200)\n" >deep.py &&
	"$KILN" record -q -o p.prof -- "$PY_DEB" deep.py >out 2>err || { cat err; exit 1; }
	"$KILN" report -i p.prof --folded >f.txt &&
	all=$(grep "leafwork (deep.py:2)" f.txt | awk "{ s += \$NF } END { print s+0 }") &&
	cut=$(grep "^python3;\[truncated\];rec (deep.py:6);.*;rec (deep.py:6);leafwork (deep.py:2)" f.txt | awk "{ s += \$NF } END { print s+0 }") &&
	echo "leafwork $all samples, $cut under [truncated]" && test "$all" -gt 100 &&
	awk -v a="$all" -v c="$cut" "BEGIN { exit !(c > a * 0.95) }"
'

for v in 3.9 3.10 3.12 3.13; do
	py=$(ls -d "$PYENV"/$v.*/bin/python$v 2>/dev/null | tail -1)
	if [ -z "$py" ]; then
		skip "python $v" "no pyenv python$v installed"
		continue
	fi
	expect "python $v ($py): shares within 3 points, lines from its line table" '
		for attempt in 1 2; do
			"$KILN" record -q -o p.prof -- '"$py"' "$PYW/py_shares.py" 3 own.json >out 2>err || { cat err; exit 1; }
			"$KILN" report -i p.prof --folded >f.txt || exit 1
			shares_ok f.txt own.json 3 && break
			[ $attempt = 2 ] && exit 1
		done
		! grep -q "frames not supported" err &&
		"$KILN" report -i p.prof --json >r.json &&
		first=$(grep -n "^def alpha" "$PYW/py_shares.py" | cut -d: -f1) &&
		grep -q ";loop (py_shares.py:[0-9]*);alpha (py_shares.py:$first)" f.txt
	'
done

py312=$(ls -d "$PYENV"/3.12.*/bin/python3.12 2>/dev/null | tail -1)
if [ -n "$py312" ]; then
	export py312
	expect "python 3.12 -X perf: complete stacks (the trampolines are stepped over), with and without BPF" '
		"$KILN" record -o p.prof -- "$py312" -X perf "$PYW/py_shares.py" 2 own.json >out 2>err || { cat err; exit 1; }
		# before the fix 99% were truncated; a few start-up samples may still be (<5%)
		! grep -q "could not be unwound" err || { n=$(sed -n "s/.*(\([0-9.]*\)%).*/\1/p" err); awk -v n="$n" "BEGIN { exit !(n < 5) }"; } &&
		"$KILN" report -i p.prof --folded >f.txt && shares_ok f.txt own.json 3 &&
		! grep "(py_shares.py:" f.txt | grep -q "py::" &&
		KILN_NO_BPF=1 "$KILN" record -o q.prof -- "$py312" -X perf "$PYW/py_shares.py" 2 own.json >out 2>err || { cat err; exit 1; }
		cat err
		"$KILN" report -i q.prof --folded >g.txt &&
		all=$(grep "py::alpha:" g.txt | awk "{ s += \$NF } END { print s+0 }") &&
		whole=$(grep "^python3.12;_start;.*py::<module>:.*py::main:.*py::loop:.*py::alpha:" g.txt | awk "{ s += \$NF } END { print s+0 }") &&
		echo "py::alpha samples $all, from _start: $whole" && test "$all" -gt 200 &&
		awk -v a="$all" -v w="$whole" "BEGIN { exit !(w > a * 0.97) }"
	'
else
	skip "python 3.12 -X perf" "no pyenv python3.12 installed"
fi

expect "the offsets table is what the headers of each installed version say (scripts/py_offsets.sh)" '
	n=0
	for inc in /usr/include/python3.1[1-9] "$PYENV"/3.*/include/python3.*; do
		[ -f "$inc/internal/pycore_runtime.h" ] || continue
		v=$(basename "$inc" | sed "s/^python//")
		case $v in 3.9|3.1[0-3]) ;; *) continue ;; esac
		"$TOP/scripts/py_offsets.sh" "$inc" >row.txt 2>err || { cat err; exit 1; }
		# the row must appear, line for line, in py_offsets.c
		python3 - "$TOP/src/lib/python/py_offsets.c" row.txt <<-PYEOF || exit 1
		import sys
		table = open(sys.argv[1]).read()
		row = open(sys.argv[2]).read()
		if row not in table:
		    sys.exit("row for %s not in the table:\n%s" % (sys.argv[2], row))
		PYEOF
		n=$((n + 1))
	done
	echo "$n include directories checked" && test $n -ge 1
'
finish
