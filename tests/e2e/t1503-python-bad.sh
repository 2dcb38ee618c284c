#!/usr/bin/env bash
# t1503-python-bad: what kiln record does when Python frames cannot be had: BPF turned
# off (KILN_NO_BPF) or not permitted (not root), a version without a table (3.8), a
# program named like python without _PyRuntime, a program that is not Python, a Python
# that exits while kiln attaches. Each: at most one line saying so, native stacks
# recorded, the target's exit status.
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

# py_lines ERR: the lines of stderr about Python
py_lines() {
	grep -ci "python" "$1"
}
export -f py_lines

expect "KILN_NO_BPF=1: one line, native stacks, exit status passed on" '
	printf "import sys\nfrom py_probe import kiln_probe_fn\nsys.exit(3)\n" >x.py && cp "$PYW/py_probe.py" . &&
	KILN_NO_BPF=1 "$KILN" record -o p.prof -- "$PY_DEB" x.py >out 2>err; rc=$?
	cat err; test $rc = 3 &&
	test "$(py_lines err)" = 1 &&
	grep -q "^kiln: warning: python process [0-9]*: no python frames, native stacks only: BPF is turned off (KILN_NO_BPF is set)$" err &&
	"$KILN" report -i p.prof --folded >f.txt &&
	grep -q "_PyEval_EvalFrameDefault" f.txt && ! grep -q "kiln_probe_fn" f.txt &&
	test "$(meta p.prof python_frames)" = none
'

if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 2 ]; then
	expect "not root (BPF not permitted): one line that says what to do, native stacks" '
		# a directory the user nobody may write (the scratch directory'"'"'s parent is private)
		d=$(mktemp -d /tmp/kiln-t1503.XXXXXX) && chmod 777 "$d" &&
		(cd "$d" && setpriv --reuid=65534 --regid=65534 --clear-groups "$KILN" record --no-kernel -o "$d/p.prof" -- "$PY_DEB" "$PYW/py_probe.py") >out 2>err; rc=$?
		cp "$d/p.prof" . 2>/dev/null; rm -rf "$d"
		cat err; test $rc = 0 && test "$(py_lines err)" = 1 &&
		grep -q "no python frames, native stacks only: cannot load kiln.s BPF program (Operation not permitted); run as root" err &&
		"$KILN" report -i p.prof --folded >f.txt && grep -q "_PyEval_EvalFrameDefault" f.txt
	'
else
	skip "not root" "needs root, setpriv and kernel.perf_event_paranoid <= 2"
fi

py38=$(ls -d "$PYENV"/3.8.*/bin/python3.8 2>/dev/null | tail -1)
if [ -n "$py38" ]; then
	expect "python 3.8 (no table): one line naming the version, native stacks" '
		"$KILN" record -o p.prof -- '"$py38"' "$PYW/py_probe.py" >out 2>err || { cat err; exit 1; }
		cat err; test "$(py_lines err)" = 1 &&
		grep -q "^kiln: warning: python 3.8: frames not supported, native stacks only$" err &&
		"$KILN" report -i p.prof --folded >f.txt && grep -q "_PyEval_EvalFrameDefault" f.txt
	'
else
	skip "python 3.8" "no pyenv python3.8 installed"
fi

expect "a python without _PyRuntime (python3.99, stripped), and a C program: one line for the first, none for the second" '
	cp "$WORKLOADS/shares" python3.99 && strip python3.99 &&
	"$KILN" record -o p.prof -- ./python3.99 200 >out 2>err || { cat err; exit 1; }
	cat err; test "$(py_lines err)" = 1 &&
	grep -q "^kiln: warning: .*/python3.99. has no _PyRuntime symbol (a stripped or static python?): no python frames, native stacks only$" err &&
	"$KILN" report -i p.prof --folded >f.txt && grep -q "python3.99" f.txt &&
	test -z "$(meta p.prof python_frames)" &&
	"$KILN" record -o q.prof -- "$WORKLOADS/shares" 200 >out 2>err || { cat err; exit 1; }
	test "$(py_lines err)" = 0 && "$KILN" report -i q.prof --folded >g.txt && grep -q "hot_a" g.txt
'

expect "a Python that exits while kiln attaches: no crash, a profile or one error line" '
	for i in 1 2 3 4 5; do
		"$PY_DEB" -c "pass" & pid=$!
		"$KILN" record -q -p $pid -o p$i.prof >out 2>err; rc=$?
		wait $pid
		cat err
		case $rc in
		0) "$KILN" report -i p$i.prof >/dev/null 2>&1 || exit 1 ;;
		1) test "$(wc -l <err)" -le 2 && grep -q "^kiln: error: " err || exit 1 ;;
		*) echo "exit $rc"; exit 1 ;;
		esac
	done
'
finish
