#!/usr/bin/env bash
# t1950-annotate: kiln annotate on a workload whose hot loop is one known source line
# (tests/workloads/annotate_loop.c, the line after "HOT_LINE"): the line holds most of the
# leaf's self samples, the JSON adds up to kiln report's self/total, --asm lists the
# instructions under their lines, and bad input gets one line and a non-zero exit.
. "$(dirname "$0")/lib.sh"

SRC="$TOP/tests/workloads/annotate_loop.c"
HOT=$(( $(grep -n "HOT_LINE: the next line" "$SRC" | cut -d: -f1) + 1 ))
P="$SCRATCH/loop.prof"
"$KILN" record -o "$P" -- "$WORKLOADS/annotate_loop" 400 >/dev/null 2>"$SCRATCH/rec.err" ||
	{ cat "$SCRATCH/rec.err"; exit 1; }
export SRC HOT P

jget() {
	/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
export -f jget

expect "the hot loop's line holds most of hot_leaf's self samples, with its source text" '
	"$KILN" annotate hot_leaf -i "$P" >out 2>err || { cat err; exit 1; }
	grep -q "^hot_leaf  \[annotate_loop\]" out &&
	line=$(awk -v h="$HOT" "\$3 == h && NF > 3" out) && [ -n "$line" ] &&
	echo "$line" | grep -q "6364136223846793005ul" &&
	pct=$(echo "$line" | awk "{print int(\$1)}") && [ "$pct" -ge 50 ] ||
		{ echo "hot line $HOT:"; cat out; exit 1; }
'

expect "--json: lines add up to the self and total of kiln report --json; the hot line has the most self" '
	"$KILN" annotate hot_leaf -i "$P" --json >a.json 2>err || { cat err; exit 1; }
	"$KILN" report -i "$P" --json --percent-limit 0 >r.json || exit 1
	[ "$(jget a.json "d[\"function\"]")" = hot_leaf ] &&
	[ "$(jget a.json "d[\"file\"]")" = "$SRC" ] &&
	rs=$(jget r.json "[f[\"self\"] for f in d[\"functions\"] if f[\"name\"]==\"hot_leaf\"][0]") &&
	rt=$(jget r.json "[f[\"total\"] for f in d[\"functions\"] if f[\"name\"]==\"hot_leaf\"][0]") &&
	[ "$(jget a.json "d[\"self\"]")" = "$rs" ] && [ "$(jget a.json "d[\"total\"]")" = "$rt" ] &&
	[ "$(jget a.json "int(sum(l[\"self\"] for l in d[\"lines\"]))")" = "$rs" ] &&
	[ "$(jget a.json "all(l[\"total\"] <= d[\"total\"] and l[\"self\"] <= l[\"total\"] for l in d[\"lines\"])")" = True ] &&
	[ "$(jget a.json "max(d[\"lines\"], key=lambda l: l[\"self\"])[\"line\"]")" = "$HOT" ] ||
		{ cat a.json; exit 1; }
'

expect "the caller drive: its samples (total) on the line of the call, none in its own code" '
	"$KILN" annotate drive -i "$P" --json >a.json 2>err || { cat err; exit 1; }
	call=$(grep -n "hot_leaf(1000000)" "$SRC" | cut -d: -f1) &&
	[ "$(jget a.json "max(d[\"lines\"], key=lambda l: l[\"total\"])[\"line\"]")" = "$call" ] &&
	[ "$(jget a.json "d[\"lines\"][[l[\"line\"] for l in d[\"lines\"]].index($call)][\"total\"] >= 0.9 * d[\"total\"]")" = True ] ||
		{ cat a.json; exit 1; }
'

expect "--asm: instructions with percentages under the hot line; their self adds up to the function's" '
	"$KILN" annotate hot_leaf -i "$P" --asm >out 2>err || { cat err; exit 1; }
	grep -q "^instructions (objdump -d of " out &&
	awk -v h="$HOT" "/^ +[0-9]+  / && \$1 == h {on=1; next} /^ +[0-9]+  /{on=0} on && /[0-9a-f]+:  / && \$1+0 > 0 {n++} END {exit !(n > 0)}" out ||
		{ cat out; exit 1; }
	"$KILN" annotate hot_leaf -i "$P" --asm --json >a.json || exit 1
	[ "$(jget a.json "int(sum(i[\"self\"] for i in d[\"instructions\"]))")" = "$(jget a.json "int(d[\"self\"])")" ] &&
	[ "$(jget a.json "all(i[\"asm\"] for i in d[\"instructions\"])")" = True ] || { cat a.json; exit 1; }
'

expect "no match, and several matches (listed): one line, exit 1" '
	"$KILN" annotate no_such_function_xyz -i "$P" >out 2>err; rc=$?
	[ $rc = 1 ] && [ ! -s out ] && [ $(wc -l <err) = 1 ] && grep -q "no function matches .no_such_function_xyz." err || { cat err; exit 1; }
	"$KILN" annotate a -i "$P" >out 2>err; rc=$?
	[ $rc = 1 ] && [ $(wc -l <err) = 1 ] && grep -q "matches [0-9]* functions" err &&
	[ "$(grep -o "[a-z_]*@[a-z_.0-9-]*" err | wc -l)" -ge 2 ] ||
		{ cat err; exit 1; }
'

expect "folded stacks carry no lines: one line saying so, exit 1" '
	printf "main;drive;hot_leaf 10\n" >in.folded &&
	"$KILN" annotate hot_leaf -i in.folded >out 2>err; rc=$?
	[ $rc = 1 ] && [ $(wc -l <err) = 1 ] && grep -q "no line data" err && grep -q "folded" err || { cat err; exit 1; }
'

expect "--source-dir: an unchanged copy is shown; a changed one is refused; --json and --no-source still annotate" '
	mkdir -p src && cp "$SRC" src/ && touch -d "2001-01-01" src/annotate_loop.c &&
	"$KILN" annotate hot_leaf -i "$P" --source-dir src >out 2>err || { cat err; exit 1; }
	grep -q "6364136223846793005ul" out &&
	echo "/* changed */" >>src/annotate_loop.c &&
	{ "$KILN" annotate hot_leaf -i "$P" --source-dir src >out 2>err; rc=$?; } ;
	[ $rc = 1 ] && [ $(wc -l <err) = 1 ] && grep -q "changed since recording" err || { echo rc=$rc; cat err; exit 1; }
	"$KILN" annotate hot_leaf -i "$P" --source-dir src --json >out 2>err || { cat err; exit 1; }
	"$KILN" annotate hot_leaf -i "$P" --source-dir src --no-source >out 2>err || { cat err; exit 1; }
	awk -v h="$HOT" "\$3 == h" out | grep -q . || { cat out; exit 1; }
'

expect "a source file that cannot be found: the lines without text, and a note" '
	"$KILN" annotate hot_leaf -i "$P" --source-dir "$T/nowhere" >out 2>err || { cat err; exit 1; }
	grep -q "not found" err && ! grep -q "6364136223846793005ul" out && awk -v h="$HOT" "\$3 == h" out | grep -q . ||
		{ cat out err; exit 1; }
'

expect "--asm: a copy with the same build-id is fine; another build, or the module missing: one line, exit 1" '
	cp "$WORKLOADS/annotate_loop" ./loop &&
	"$KILN" record -o p.prof -- ./loop 100 >/dev/null 2>&1 || exit 1
	"$KILN" annotate hot_leaf -i p.prof --asm >out 2>err || { cat err; exit 1; }
	touch -d "2001-01-01" loop &&
	"$KILN" annotate hot_leaf -i p.prof --asm >out 2>err || { cat err; exit 1; }
	cp "$WORKLOADS/callers3" ./loop &&
	{ "$KILN" annotate hot_leaf -i p.prof --asm >out 2>err; rc=$?; } ;
	[ $rc = 1 ] && [ $(wc -l <err) = 1 ] && grep -q "is not the one profiled (build-id" err || { echo rc=$rc; cat err; exit 1; }
	rm loop &&
	{ "$KILN" annotate hot_leaf -i p.prof --asm >out 2>err; rc=$?; } ;
	[ $rc = 1 ] && [ $(wc -l <err) = 1 ] && grep -q "missing on this machine" err || { echo rc=$rc; cat err; exit 1; }
	"$KILN" annotate hot_leaf -i p.prof >out 2>err || { cat err; exit 1; }
'

expect "a Python function: its hot line, with the text of the script" '
	printf "def work(n):\n    s = 0\n    for i in range(n):\n        s += i * i %% 7\n    return s\n\nwork(3000000)\n" >w.py &&
	"$KILN" record -o py.prof -- /usr/bin/python3 w.py >/dev/null 2>err || { cat err; exit 1; }
	"$KILN" annotate "work (w.py:1)" -i py.prof --json >a.json 2>err || { cat err; exit 1; }
	[ "$(jget a.json "max(d[\"lines\"], key=lambda l: l[\"self\"])[\"line\"]")" = 4 ] &&
	[ "$(jget a.json "d[\"file\"]")" = "$T/w.py" ] || { cat a.json; exit 1; }
	"$KILN" annotate "work (w.py:1)" -i py.prof >out 2>err && grep -q "s += i \* i" out || { cat out err; exit 1; }
'

expect "usage: no function, two functions, --help" '
	"$KILN" annotate -i "$P" >out 2>err; [ $? = 2 ] || exit 1
	"$KILN" annotate a b -i "$P" >out 2>err; [ $? = 2 ] || exit 1
	"$KILN" annotate --help >out && grep -q "^examples:" out
'

finish
