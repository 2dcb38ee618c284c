#!/usr/bin/env bash
# t1602-record-node: kiln record names JavaScript functions of a node it starts with no
# flag from the user (it sets NODE_OPTIONS for node's perf map), and the split of time
# between two functions matches what the program measured itself; attaching to a node
# without a perf map says how to restart it in one line.
. "$(dirname "$0")/lib.sh"

NODE=$(command -v node || true)
if [ -z "$NODE" ]; then
	skip "node split" "node is not installed"
	finish
	exit
fi
export NODE

# shares FOLDED TRUTH: the profile's alpha/beta split within 5 points of the program's
# own, and few [unknown] samples
shares() {
	/usr/bin/python3 - "$1" "$2" <<-'EOF'
	import json, re, sys
	truth = json.load(open(sys.argv[2]))
	a = b = unk = tot = 0
	for line in open(sys.argv[1]):
	    stack, n = line.rstrip("\n").rsplit(" ", 1)
	    n = float(n)
	    tot += n
	    leaf = stack.split(";")[-1]
	    if re.search(r"\balpha /.*node_split\.js", leaf): a += n
	    if re.search(r"\bbeta /.*node_split\.js", leaf): b += n
	    if "[unknown]" in stack: unk += n
	assert a + b > 0.5 * tot, (a, b, tot)
	got = a / (a + b)
	assert abs(got - truth["alpha"]) <= 0.05, (got, truth)
	assert unk <= 0.05 * tot, (unk, tot)
	print("alpha %.3f (program: %.3f), [unknown] %.1f%%" % (got, truth["alpha"], 100 * unk / tot))
	EOF
}
export -f shares

expect "node split: within 5 points of the program's own timing, no flags given" '
	"$KILN" record -o n.prof -- "$NODE" "$TOP/tests/workloads/node_split.js" 2 >truth.json 2>err &&
	"$KILN" report -i n.prof --folded >n.folded && shares n.folded truth.json
'

expect "the JavaScript frames are JIT frames, and the perf map (and V8 log) kiln asked for are removed" '
	"$KILN" record -o n.prof -- "$NODE" "$TOP/tests/workloads/node_split.js" 0.5 >truth.json 2>err &&
	"$KILN" report -i n.prof --json >n.json &&
	pid=$(/usr/bin/python3 -c "
import json; d = json.load(open(\"n.json\"))
rows = [r for r in d[\"functions\"] if \"node_split.js\" in r[\"name\"]]
assert rows and all(r[\"jit\"] for r in rows), rows[:3]
print(d[\"threads\"][0][\"pid\"])
") && [ -n "$pid" ] && [ ! -e /tmp/perf-$pid.map ] &&
	# --perf-basic-prof also makes V8 (node 20) write isolate-0xADDR-PID-v8.log here
	ls >files && ! grep "^isolate-.*-v8\.log$" files
'

expect "a NODE_OPTIONS of the user is kept (and one that already asks for the map is left alone)" '
	NODE_OPTIONS="--max-old-space-size=200" "$KILN" record -o n.prof -- "$NODE" -e "console.log(process.env.NODE_OPTIONS)" >out 2>/dev/null &&
	grep -q -- "^--max-old-space-size=200 --perf-basic-prof --interpreted-frames-native-stack$" out &&
	NODE_OPTIONS="--perf-basic-prof" "$KILN" record -o n.prof -- "$NODE" -e "console.log(process.env.NODE_OPTIONS)" >out2 2>/dev/null &&
	grep -qx -- "--perf-basic-prof" out2
'

expect "attaching to a node without a perf map: one line says how to restart it" '
	"$NODE" -e "setTimeout(() => {}, 3000)" & pid=$!
	sleep 0.5
	"$KILN" record -p $pid --duration 0.5 -o a.prof 2>err; rc=$?
	kill $pid 2>/dev/null; wait $pid 2>/dev/null
	[ $rc -eq 0 ] && [ "$(grep -c "is node without a perf map" err)" -eq 1 ] &&
	grep -q "NODE_OPTIONS=.--perf-basic-prof" err
'

expect "attaching to a node that has a perf map: no hint" '
	"$NODE" --perf-basic-prof -e "setTimeout(() => {}, 3000)" & pid=$!
	sleep 0.7
	"$KILN" record -p $pid --duration 0.3 -o a.prof 2>err; rc=$?
	kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f /tmp/perf-$pid.map
	[ $rc -eq 0 ] && ! grep -q "perf map" err
'

expect "a copy of node under another name is still node (its ELF identity)" '
	cp "$(readlink -f "$NODE")" ./myruntime &&
	NODE_OPTIONS= "$KILN" record -o n.prof -- ./myruntime -e "console.log(process.env.NODE_OPTIONS)" >out 2>/dev/null &&
	grep -q -- "--perf-basic-prof" out
'

finish
