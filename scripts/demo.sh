#!/usr/bin/env bash
# demo.sh: `make demo`: do kiln's main job on a bundled example and say where the results are.
# 1. Profiles a bundled program (tests/workloads/shares_leaf.c: 60/30/10% of its time in
#    three call paths, whose hot leaf function sets up no frame pointer, so perf record -g
#    would lose a frame) with kiln record, prints kiln report's table and call tree, and
#    draws the flame graph.
# 2. Collapses a bundled `perf script` sample (a Vert.x web server recorded with
#    perf record -g, from FlameGraph's test data) and draws it too.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN="$BUILD/kiln"
OUT=demo
PROG="$BUILD/workloads/shares_leaf"
mkdir -p "$OUT"

echo "demo: kiln record -o $OUT/shares.prof -- $PROG"
"$KILN" record -o "$OUT/shares.prof" -- "$PROG" >/dev/null
echo
"$KILN" report -i "$OUT/shares.prof" --top 8
echo
"$KILN" report -i "$OUT/shares.prof" --tree --percent-limit 5
"$KILN" flame --title "shares_leaf: CPU (kiln record)" "$OUT/shares.prof" -o "$OUT/shares.svg"
echo
echo "demo: profile: $PWD/$OUT/shares.prof  (see kiln report --help for more views)"
echo "demo: flame graph: $PWD/$OUT/shares.svg"

SAMPLE=tests/data/flamegraph-collapse/inputs/perf-vertx-stacks-01.txt
"$KILN" collapse --all -o "$OUT/vertx.folded" "$SAMPLE"
"$KILN" flame --title "Vert.x web server, CPU (perf record -g)" --colors java \
	"$OUT/vertx.folded" -o "$OUT/vertx.svg"
stacks=$(wc -l <"$OUT/vertx.folded")
samples=$(awk '{ s += $NF } END { print s }' "$OUT/vertx.folded")
echo
echo "demo: also collapsed a perf script sample, $SAMPLE,"
echo "      into $stacks distinct stacks ($samples samples): $OUT/vertx.folded"
echo "demo: its flame graph: $PWD/$OUT/vertx.svg"
echo "      open the graphs in a browser: hover for counts, click to zoom, Ctrl-F to search"

# 3. A Python program's heap, at Python lines (CPython 3.11: Debian's python3 or pyenv's)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
if [ -n "$PY" ]; then
	# its CPU time, in Python functions (alpha 60%, beta 30% inside zlib, gamma 10%)
	echo
	echo "demo: kiln record -o $OUT/python.prof -- $PY tests/workloads/py_shares.py 1.5 $OUT/py-truth.json"
	"$KILN" record -q -o "$OUT/python.prof" -- "$PY" tests/workloads/py_shares.py 1.5 "$OUT/py-truth.json" 2>/dev/null
	"$KILN" report -i "$OUT/python.prof" --top 6 --no-findings
	"$KILN" flame --title "py_shares.py: CPU time (kiln record)" "$OUT/python.prof" -o "$OUT/python.svg"
	echo "demo: the program's own measurement of its shares: $(cat "$OUT/py-truth.json" 2>/dev/null)"
	echo "demo: Python CPU flame graph: $PWD/$OUT/python.svg"
	PYPROG=tests/workloads/py_alloc_truth.py
	echo
	echo "demo: kiln heap -o $OUT/python-heap.prof -- $PY $PYPROG"
	"$KILN" heap -q -o "$OUT/python-heap.prof" -- "$PY" "$PYPROG" 2>/dev/null
	"$KILN" heap report "$OUT/python-heap.prof" --top 3
	"$KILN" flame --title "py_alloc_truth.py: heap at its peak (kiln heap)" "$OUT/python-heap.prof" \
		-o "$OUT/python-heap.svg"
	echo
	echo "demo: Python heap profile: $PWD/$OUT/python-heap.prof"
	echo "demo: its flame graph (Python frames in Python blue): $PWD/$OUT/python-heap.svg"
fi

# 4. Always on: kiln agent samples the whole machine into a local store while the bundled
# program runs; kiln query reads one process back for a time range
echo
echo "demo: kiln agent --store $OUT/store --window 2 --duration 6   (the whole machine, 19 Hz per CPU)"
rm -rf "$OUT/store" "$OUT/spool" "$OUT/stop"
( while [ ! -e "$OUT/stop" ]; do "$PROG" >/dev/null 2>&1; done ) &
prog_pid=$!
if "$KILN" agent --store "$OUT/store" --spool "$OUT/spool" --window 2 --duration 6 2>"$OUT/agent.err"; then
	touch "$OUT/stop"; wait "$prog_pid"
	echo "demo: kiln query --store $OUT/store --from -1m --comm shares_leaf --top 4"
	"$KILN" query --store "$OUT/store" --from -1m --comm shares_leaf --top 4 || true
	echo "demo: the store's labels: kiln query --store $OUT/store --list"
	echo "demo: browse it: kiln serve --store $OUT/store   (then open http://127.0.0.1:8377/)"
else
	touch "$OUT/stop"; wait "$prog_pid"
	echo "demo: kiln agent could not run here: $(head -1 "$OUT/agent.err")"
fi
