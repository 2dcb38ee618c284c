#!/usr/bin/env bash
# t1703-import: profiles of other tools read by report, flame, diff and export, recognised
# by content: node --cpu-prof (the same top functions as DevTools' bottom-up sums),
# speedscope (kiln's own export and a hand-written evented profile), perf.data through
# perf script, and a clear line when perf is missing.
. "$(dirname "$0")/lib.sh"

KP="$SCRATCH/threads.prof"
"$KILN" record -q -o "$KP" -- "$WORKLOADS/threads" 400 >/dev/null 2>"$SCRATCH/rec.err" || cat "$SCRATCH/rec.err"
export KP

cat >"$SCRATCH/hot.js" <<'JS'
// hotA does three times the work of hotB
function spin(n) { let x = 0; for (let i = 0; i < n; i++) x = (x * 31 + i) | 0; return x; }
function hotA() { return spin(3e6); }
function hotB() { return spin(1e6); }
let s = 0;
const end = Date.now() + 1500;
while (Date.now() < end) { s += hotA(); s += hotB(); }
if (s === 42) console.log(s);
JS
export HOTJS="$SCRATCH/hot.js"

if command -v node >/dev/null; then
	expect "node --cpu-prof: kiln report's top functions are those of the profile's own self counts" '
		node --cpu-prof --cpu-prof-dir=prof --cpu-prof-interval 500 "$HOTJS" && f=$(ls prof/*.cpuprofile) &&
		node "$TOP/tests/npm/check-cpuprofile.js" "$f" | grep -v "^(" | head -1 | cut -f1 >want &&
		"$KILN" report --percent-limit 0 "$f" >r.txt &&
		awk "/Self%/ { on = 1; next } on && /%/ { print \$NF }" r.txt | grep -v "^(" | head -1 >got && diff want got &&
		grep -qx spin got &&
		self_a=$(awk "\$NF == \"hotA\" { print \$2 }" r.txt | tr -d %) && self_b=$(awk "\$NF == \"hotB\" { print \$2 }" r.txt | tr -d %) &&
		awk -v a="$self_a" -v b="$self_b" "BEGIN { exit !(a > 2 * b) }" &&
		"$KILN" flame "$f" >f.svg && grep -q hotA f.svg
	'
else
	skip "node --cpu-prof" "node is not installed"
fi
expect "speedscope: kiln's own export reads back with every stack, thread and value" '
	"$KILN" export -f speedscope -o s.json "$KP" &&
	for v in samples cpu_ns; do
		"$KILN" report --folded --value $v "$KP" >a && "$KILN" report --folded --value $v s.json >b && diff -u a b || exit 1
	done &&
	"$KILN" report s.json >r.txt && grep -q "worker-a" r.txt
'
expect "speedscope: an evented profile (open/close events) becomes samples weighted by time" '
	cat >e.json <<JSON
{"\$schema":"https://www.speedscope.app/file-format-schema.json","shared":{"frames":[{"name":"main"},{"name":"work"},{"name":"io"}]},
 "profiles":[{"type":"evented","name":"app","unit":"milliseconds","startValue":0,"endValue":10,
  "events":[{"type":"O","frame":0,"at":0},{"type":"O","frame":1,"at":1},{"type":"C","frame":1,"at":7},
            {"type":"O","frame":2,"at":7},{"type":"C","frame":2,"at":9},{"type":"C","frame":0,"at":10}]}]}
JSON
	"$KILN" report --folded e.json >out && sort out >got &&
	printf "app;main 2000000\napp;main;io 2000000\napp;main;work 6000000\n" >want && diff -u want got
'
expect "export reads other formats too: Go-style pprof -> speedscope -> pprof keeps the stacks" '
	"$KILN" export -f pprof -o k.pb.gz "$KP" && "$KILN" export -f speedscope -o s.json k.pb.gz &&
	"$KILN" export -f pprof -o k2.pb.gz s.json && "$KILN" report --folded k.pb.gz >a && "$KILN" report --folded k2.pb.gz >b &&
	diff -u a b
'
if command -v perf >/dev/null && perf_record -q -g -o "$SCRATCH/probe.data" -- true >/dev/null; then
	expect "perf.data: read through perf script, threads kept, the same stacks as kiln collapse of perf script" '
		perf_record -q -g -F 999 -o perf.data -- "$WORKLOADS/threads" 300 &&
		"$KILN" report perf.data >r.txt 2>err && grep -q "spin" r.txt && grep -q "worker-a" r.txt &&
		perf script -i perf.data 2>/dev/null | "$KILN" collapse --pid --tid >a.folded &&
		"$KILN" report --folded perf.data | sed "s/^[^;]*;//; s/_\[k\]//g" | sort >b && sed "s/^[^;]*;//" a.folded | sort >c &&
		awk "{ c = \$NF; \$NF = \"\"; s[\$0] += c } END { for (k in s) print k c s[k] }" b | sort >b2 &&
		awk "{ c = \$NF; \$NF = \"\"; s[\$0] += c } END { for (k in s) print k c s[k] }" c | sort >c2 && diff -u c2 b2
	'
	expect "perf.data without perf on PATH: one clear line naming perf and how to install it" '
		perf_record -q -g -o perf.data -- true >/dev/null && mkdir bin && ln -s "$(command -v env)" bin/env &&
		PATH="$T/bin" check_exit 1 "$KILN" report perf.data >out 2>err && [ ! -s out ] &&
		[ "$(wc -l <err)" -eq 1 ] && grep -q "perf.data" err && grep -q "linux-perf" err
	'
else
	skip "perf.data import" "perf record does not work here"
	skip "perf.data without perf" "perf record does not work here"
fi
finish
