#!/usr/bin/env bash
# t1501-python-cpu: Python frames in kiln record's CPU samples: shares of a 60/30/10
# program against its own clock (command and -p), the C callee above its Python caller,
# two threads, the frame form, --python-internals, the quick self-check.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_python.sh"

PY_DEB=/usr/bin/python3
PY_ENV=$(command -v python3)
export PY_DEB PY_ENV

if [ ! -x "$PY_DEB" ]; then
	skip "python3 tests" "/usr/bin/python3 is not installed"
	finish
	exit $?
fi

for py in "$PY_DEB" "$PY_ENV"; do
	expect "$py: alpha/beta/gamma shares within 3 points of the program's own, zlib above beta" '
		for attempt in 1 2; do
			"$KILN" record -o p.prof -- '"$py"' "$PYW/py_shares.py" 4 own.json >out 2>err || { cat err; exit 1; }
			"$KILN" report -i p.prof --folded >f.txt || exit 1
			shares_ok f.txt own.json 3 && break
			[ $attempt = 2 ] && exit 1
		done
		c=$(callee_share f.txt beta "deflate|libz|zlib") && echo "beta with zlib above: $c%" &&
		awk -v c="$c" "BEGIN { exit !(c > 80) }" &&
		# nothing of the interpreter between Python frames by default
		! grep "(py_shares.py:" f.txt | grep -q "_PyEval_EvalFrameDefault\|PyObject_Vectorcall" &&
		grep -q "^python3[.0-9]*;<module> (py_shares.py:1);main (py_shares.py:[0-9]*);loop (py_shares.py:[0-9]*);alpha (py_shares.py:[0-9]*) " f.txt
	'
done

expect "frames carry the executing line: the frame of alpha is named by its first line and module [python]" '
	"$KILN" record -q -o p.prof -- "$PY_DEB" "$PYW/py_shares.py" 1 own.json >out 2>err || { cat err; exit 1; }
	"$KILN" report -i p.prof --json >r.json &&
	"$KILN" report -i p.prof --tree >tree.txt &&
	first=$(grep -n "^def alpha" "$PYW/py_shares.py" | cut -d: -f1) &&
	grep -q "alpha (py_shares.py:$first)" tree.txt &&
	pyjson r.json "[f for f in j[\"functions\"] if f[\"name\"].startswith(\"alpha (\")][0][\"module\"]" | grep -qx "\[python\]"
'

expect "--python-internals keeps the eval loop and interpreter frames around the Python frames" '
	"$KILN" record -q --python-internals -o p.prof -- "$PY_DEB" "$PYW/py_shares.py" 1 own.json >out 2>err || { cat err; exit 1; }
	"$KILN" report -i p.prof --folded >f.txt &&
	grep -q "Py_BytesMain;.*;_PyEval_EvalFrameDefault;<module> (py_shares.py:1);main (py_shares.py:[0-9]*);loop (py_shares.py:[0-9]*);alpha (py_shares.py:" f.txt
'

expect "two Python threads: the samples of each thread show its own functions, shares within 3 points" '
	for attempt in 1 2; do
		"$KILN" record -o p.prof -- "$PY_DEB" "$PYW/py_shares.py" 4 own.json threads >out 2>err || { cat err; exit 1; }
		"$KILN" report -i p.prof --folded >f.txt || exit 1
		shares_ok f.txt own.json 3 && break
		[ $attempt = 2 ] && exit 1
	done
	# each thread (by tid) shows only its own functions, under threading'"'"'s bootstrap
	"$KILN" report -i p.prof --json >r.json &&
	ok=0 && for tid in $(pyjson r.json "\" \".join(str(t[\"tid\"]) for t in j[\"threads\"])"); do
		"$KILN" report -i p.prof --tid $tid --folded >t.txt || exit 1
		if grep -q "alpha (" t.txt; then
			! grep -q "beta (\|gamma (" t.txt && ok=$((ok + 1)) || { echo "thread $tid mixes"; exit 1; }
			grep -q ";Thread._bootstrap (threading.py:[0-9]*);.*;loop (py_shares.py:[0-9]*);alpha (" t.txt || exit 1
		elif grep -q "beta (" t.txt; then
			grep -q "gamma (" t.txt && ok=$((ok + 1))
		fi
	done
	test $ok = 2
'

expect "-p on a running Python: shares within 5 points of its own" '
	for attempt in 1 2; do
		"$PY_DEB" "$PYW/py_shares.py" 5 own.json & pid=$!
		sleep 0.5
		"$KILN" record -p $pid --duration 3 -o p.prof >out 2>err || { cat err; exit 1; }
		wait $pid
		"$KILN" report -i p.prof --folded >f.txt || exit 1
		shares_ok f.txt own.json 5 && break
		[ $attempt = 2 ] && exit 1
	done
	test "$(meta p.prof python_frames)" = bpf
'

expect "a Python that exits while attached: the recording ends with its frames" '
	"$PY_DEB" "$PYW/py_probe.py" & pid=$!
	"$KILN" record -p $pid -o p.prof >out 2>err; rc=$?
	wait $pid
	cat err; test $rc = 0 &&
	"$KILN" report -i p.prof --folded >f.txt && grep -q "kiln_probe_fn (py_probe.py:" f.txt
'

expect "samples match their BPF records: every sample of a followed Python has its record" '
	"$KILN" record -q -o p.prof -- "$PY_DEB" "$PYW/py_shares.py" 2 own.json >out 2>err || { cat err; exit 1; }
	m=$(meta p.prof python_records_matched) && u=$(meta p.prof python_samples_unmatched) &&
	r=$(meta p.prof python_records) && g=$(meta p.prof python_max_gap_ns) &&
	echo "matched $m unmatched $u records $r max gap $g ns" &&
	test "$m" -gt 200 && test "$u" -lt $((m / 50 + 5)) && test "$g" -lt 200000
'

expect "quick self-check: kiln_probe_fn through the python3 shim of pyenv" '
	"$KILN" record -q -o p.prof -- python3 "$PYW/py_probe.py" >out 2>err || { cat err; exit 1; }
	"$KILN" report -i p.prof --folded >f.txt && grep -q kiln_probe_fn f.txt
'
finish
