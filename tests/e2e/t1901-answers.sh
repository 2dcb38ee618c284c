#!/usr/bin/env bash
# t1901-answers: from numbers to answers (issue 12): a stripped program's functions keep
# apart (named MODULE+0xSTART from their unwind tables), --callers/--callees with known
# shares, --sort module|command, report-time --no-inline, and the findings: each one
# present when the profile shows it and absent when it does not.
. "$(dirname "$0")/lib.sh"

jq1() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
export -f jq1

# one recording per build of the three-caller program (50/30/20 into one leaf)
for b in strip O0 O2; do
	"$KILN" record -q -g dwarf -o "$SCRATCH/$b.prof" -- "$WORKLOADS/callers3_$b" 400 >/dev/null 2>"$SCRATCH/$b.err" ||
		cat "$SCRATCH/$b.err"
done
export S="$SCRATCH/strip.prof" O0="$SCRATCH/O0.prof" O2="$SCRATCH/O2.prof"

expect "stripped, no frame pointers: the leaf has three distinct callers at 50/30/20 (+-3 points)" '
	"$KILN" report -i "$S" --json >r.json &&
	leaf=$(jq1 r.json "[f[\"function\"] for f in j[\"findings\"] if f[\"kind\"] == \"hotspot\"][0]") &&
	case "$leaf" in callers3_strip+0x*) ;; *) echo "leaf: $leaf"; exit 1 ;; esac &&
	"$KILN" report -i "$S" --callers "$leaf" --json >c.json &&
	jq1 c.json "sorted([e[\"percent_of_function\"] for e in j[\"edges\"] if e[\"name\"].startswith(\"callers3_strip+0x\")], reverse=True)" >shares &&
	cat shares &&
	python3 -c "
import ast,sys
s = ast.literal_eval(open(\"shares\").read())
assert len(s) == 3, s
for got, want in zip(s, (50, 30, 20)):
    assert abs(got - want) <= 3, (got, want)
"
'
expect "stripped: folded, tree and table name functions MODULE+0xSTART, never [module] alone" '
	"$KILN" report -i "$S" --folded >f.txt &&
	grep -q "callers3_strip+0x[0-9a-f]*;callers3_strip+0x[0-9a-f]* [0-9]*$" f.txt &&
	! grep -q "\[callers3_strip\]" f.txt &&
	"$KILN" report -i "$S" --tree >t.txt && grep -q "callers3_strip+0x" t.txt &&
	"$KILN" report -i "$S" >r.txt && grep -Eq "callers3_strip +callers3_strip\+0x[0-9a-f]+$" r.txt
'
expect "the same build gives the same names run after run" '
	"$KILN" record -q -g dwarf -o again.prof -- "$WORKLOADS/callers3_strip" 100 >/dev/null 2>&1 &&
	"$KILN" report -i again.prof --folded | grep -o "callers3_strip+0x[0-9a-f]*" | sort -u >a &&
	"$KILN" report -i "$S" --folded | grep -o "callers3_strip+0x[0-9a-f]*" | sort -u >b &&
	comm -23 a b >new && [ ! -s new ]
'
expect "no_symbols: present for the stripped build (with what to do), absent for the -g build" '
	"$KILN" report -i "$S" >r.txt && grep -q "^  no_symbols .*callers3_strip.*do not strip" r.txt &&
	"$KILN" report -i "$S" --json >r.json &&
	jq1 r.json "\" \".join(\",\".join(f[\"modules\"]) for f in j[\"findings\"] if f[\"kind\"] == \"no_symbols\")" >mods &&
	{ [ "$(cat mods)" = callers3_strip ] || { echo "modules: $(cat mods)"; grep no_symbols r.txt; false; }; } &&
	"$KILN" report -i "$O2" --json >o.json &&
	[ "$(jq1 o.json "len([f for f in j[\"findings\"] if f[\"kind\"] == \"no_symbols\"])")" = 0 ]
'
expect "no_symbols for a stripped system library names its debug package, found at record time" '
	head -c 300000 /dev/urandom >in &&
	"$KILN" record -q -o xz.prof -- xz -9 -c in >/dev/null 2>&1 &&
	"$KILN" report -i xz.prof --json >x.json &&
	jq1 x.json "j[\"meta\"][\"packages\"]" >pk && cat pk &&
	if [ -e /var/lib/dpkg/info/xz-utils.list ]; then grep -q "^xz-utils /usr/bin/xz$" pk; fi &&
	jq1 x.json "[f[\"message\"] for f in j[\"findings\"] if f[\"kind\"] == \"no_symbols\"]" >m && cat m &&
	if grep -q "liblzma" m && [ -e /var/lib/dpkg/info/liblzma5:amd64.list ]; then grep -q "liblzma5-dbgsym" m; fi
'
expect "debug_build: the -O0 build gets it (naming the module), the -O2 build does not" '
	"$KILN" report -i "$O0" --json >a.json &&
	jq1 a.json "[f for f in j[\"findings\"] if f[\"kind\"] == \"debug_build\"]" >d &&
	grep -q "callers3_O0" d && grep -q "without optimisation" d &&
	"$KILN" report -i "$O0" >a.txt && grep -q "^  debug_build " a.txt &&
	"$KILN" report -i "$O2" --json >b.json &&
	[ "$(jq1 b.json "len([f for f in j[\"findings\"] if f[\"kind\"] == \"debug_build\"])")" = 0 ] &&
	"$KILN" report -i "$S" --json >c.json &&
	[ "$(jq1 c.json "len([f for f in j[\"findings\"] if f[\"kind\"] == \"debug_build\"])")" = 0 ]
'
expect "hotspot: the leaf, share with its 95% interval and Amdahl ceiling, its three paths; nothing under 5%" '
	"$KILN" report -i "$O2" --json >r.json &&
	python3 -c "
import json
j = json.load(open(\"r.json\"))
h = [f for f in j[\"findings\"] if f[\"kind\"] == \"hotspot\" and \"path\" not in f]
assert [f[\"function\"] for f in h] == [\"leaf\"], h
paths = [f for f in j[\"findings\"] if f[\"kind\"] == \"hotspot\" and \"path\" in f]
assert [f[\"path\"] for f in paths] == [\"leaf <- from_%s <- drive\" % c for c in \"abc\"], paths
for f, want in zip(paths, (0.5, 0.3, 0.2)):
    assert abs(f[\"share\"] - want) <= 0.03 and f[\"ci95\"][0] < f[\"share\"] < f[\"ci95\"][1], f
f = h[0]
lo, hi = f[\"ci95\"]
# (a run whose every sample lands in leaf has share 1, the top of its interval, no finite ceiling)
assert lo < f[\"share\"] <= hi and f[\"share\"] > 0.9, f
if f[\"share\"] < 1:
    # share is printed to 4 decimals: near 1 that rounding moves 1/(1-share) a lot, so
    # the ceiling is checked through the share it implies
    assert abs((1 - 1 / f[\"max_speedup\"]) - f[\"share\"]) <= 6e-5, f
else:
    assert \"max_speedup\" not in f and hi == 1, f
fn = {x[\"name\"]: x for x in j[\"functions\"]}
assert abs(fn[\"leaf\"][\"self_percent\"] / 100 - f[\"share\"]) < 1e-3
"
'
expect "few_samples: a 20 Hz recording gets it, the 999 Hz one does not" '
	"$KILN" record -q -F 20 -o few.prof -- "$WORKLOADS/callers3_O2" 100 >/dev/null 2>&1 &&
	"$KILN" report -i few.prof --json >f.json &&
	jq1 f.json "[f[\"message\"] for f in j[\"findings\"] if f[\"kind\"] == \"few_samples\"]" >m &&
	grep -q "samples" m && grep -q "for +-1 point" m &&
	"$KILN" report -i "$O2" --json >o.json &&
	[ "$(jq1 o.json "len([f for f in j[\"findings\"] if f[\"kind\"] == \"few_samples\"])")" = 0 ]
'
expect "waiting: a program that sleeps most of its run gets it (and the hint to --off-cpu)" '
	"$KILN" record -q -o w.prof -- python3 -c "import time; time.sleep(0.8); sum(range(300000))" >/dev/null 2>&1 &&
	"$KILN" report -i w.prof >w.txt && grep -q "^  waiting .*--off-cpu" w.txt
'
expect "waiting is a fact about one run: a folded profile (no wall time) never gets it" '
	printf "a;b;c 500\na;b;d 500\n" >x.folded &&
	"$KILN" report -i x.folded --json >x.json &&
	jq1 x.json "\" \".join(sorted(set(f[\"kind\"] for f in j[\"findings\"])))" >k && cat k &&
	grep -q hotspot k && ! grep -q waiting k
'
expect "truncated_stacks: a 1 KiB stack copy truncates stacks and says which flag fixes it" '
	"$KILN" record -q -g dwarf,1K -o t.prof -- python3 -c "
import re
def f(n):
    return f(n - 1) if n else sum(len(re.findall(\"a+\", \"ab\" * 200)) for _ in range(3000))
f(60)" >/dev/null 2>&1 &&
	"$KILN" report -i t.prof --json >t.json &&
	jq1 t.json "[f[\"message\"] for f in j[\"findings\"] if f[\"kind\"] == \"truncated_stacks\"]" >m &&
	grep -q "call-graph dwarf" m &&
	"$KILN" report -i "$O2" --json >o.json &&
	[ "$(jq1 o.json "len([f for f in j[\"findings\"] if f[\"kind\"] == \"truncated_stacks\"])")" = 0 ]
'
expect "--callees: what a function calls, self included; --callers of a caller-less root" '
	"$KILN" report -i "$O2" --callees drive >c.txt &&
	grep -Eq "^ +[0-9.]+% +[0-9.]+% +[0-9]+  from_a  \[callers3_O2\]$" c.txt &&
	grep -Eq "^ +[0-9.]+% .*from_c" c.txt &&
	"$KILN" report -i "$O2" --callees leaf@callers3_O2 >l.txt && grep -q "(self)" l.txt
'
expect "--callers: a name that matches nothing, or several (listed): one line, non-zero exit" '
	"$KILN" report -i "$O2" --callers no_such_function >o 2>e; rc=$?
	[ $rc -ne 0 ] && [ ! -s o ] && [ "$(wc -l <e)" -eq 1 ] && grep -q "no function matches .no_such_function." e &&
	"$KILN" report -i "$O2" --callers from_ >o 2>e; rc=$?
	[ $rc -ne 0 ] && [ "$(wc -l <e)" -eq 1 ] && grep -q "from_a@callers3_O2" e && grep -q "from_c@callers3_O2" e &&
	check_exit 2 "$KILN" report -i "$O2" --callers leaf --callees leaf &&
	check_exit 2 "$KILN" report -i "$O2" --callers leaf --tree
'
expect "--sort module and --sort command: one row per module / per command in every view" '
	# the program spends nearly all its time in its own module (kernel time for page
	# faults and the timer can take a few points on a loaded machine): the first row
	"$KILN" report -i "$O2" --sort module --no-findings >m.txt &&
	awk "/Self%/ { on = 1; next } on && NF { print; exit }" m.txt >first.txt &&
	grep -Eq "^ *([5-9][0-9]\.[0-9]+|100\.00)% .* callers3_O2 +callers3_O2$" first.txt &&
	! grep -q " leaf$" m.txt &&
	"$KILN" report -i "$O2" --sort module --folded >m.folded &&
	! grep -q "leaf" m.folded && grep -q "callers3_O2" m.folded &&
	"$KILN" report -i "$O2" --sort command --json >c.json &&
	[ "$(jq1 c.json "j[\"functions\"][0][\"name\"]")" = callers3_O2 ] &&
	[ "$(jq1 c.json "sum(1 for f in j[\"functions\"] if \"leaf\" in f[\"name\"])")" = 0 ] &&
	check_exit 2 "$KILN" report -i "$O2" --sort nonsense ||
	{ cat m.txt; jq1 c.json "[(f[\"name\"], f[\"self\"]) for f in j[\"functions\"]]"; exit 1; }
'
expect "--no-inline at report time: an inlined frame merges into its caller" '
	printf "main;work;helper_[i] 30\nmain;work 10\nmain;other 60\n" >i.folded &&
	"$KILN" report -i i.folded --json >a.json &&
	"$KILN" report -i i.folded --no-inline --json >b.json &&
	python3 -c "
import json
a = {f[\"name\"]: f for f in json.load(open(\"a.json\"))[\"functions\"]}
b = {f[\"name\"]: f for f in json.load(open(\"b.json\"))[\"functions\"]}
assert a[\"work\"][\"self\"] == 10 and \"helper_[i]\" in a, a
assert \"helper_[i]\" not in b and b[\"work\"][\"self\"] == 40 and b[\"other\"][\"self\"] == 60, b
" &&
	"$KILN" report -i i.folded --no-inline --folded >c.folded && grep -q "main;work 40$" c.folded && ! grep -q helper c.folded
'
expect "io_bound: an off-CPU profile of a program that mostly sleeps gets it; a computing one does not" '
	"$KILN" record -q --off-cpu -o s.prof -- sleep 0.6 >/dev/null 2>&1 &&
	"$KILN" report -i s.prof --json >s.json &&
	jq1 s.json "[f[\"share\"] for f in j[\"findings\"] if f[\"kind\"] == \"io_bound\"]" >io &&
	python3 -c "import sys; v = eval(open(\"io\").read()); sys.exit(not (len(v) == 1 and v[0] > 0.8))" &&
	"$KILN" record -q --off-cpu -o c.prof -- "$WORKLOADS/shares" >/dev/null 2>&1 &&
	"$KILN" report -i c.prof --json >c.json &&
	[ "$(jq1 c.json "len([f for f in j[\"findings\"] if f[\"kind\"] == \"io_bound\"])")" = 0 ]
'
finish
