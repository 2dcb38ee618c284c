#!/usr/bin/env bash
# t2701-answers-audit: what the audit of issue 12 found wanting: annotate --asm with the
# right source line on every instruction (objdump's own -l names the including file for
# code of an included one), a caller's time on its call instructions, stripped code opened
# with --asm, [python] / [kernel.kallsyms] bracketed once in --callers and --tree, record
# --no-lines, a hot path that restates its function's row left out, MODULE+0xSTART
# names in the flame graph and the diff, and the correctness items of the issue as a new
# user records (no -g): the stripped three-caller shares and the hot loop line at -O2/-O0.
. "$(dirname "$0")/lib.sh"

jq1() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
export -f jq1

for b in strip O2; do
	"$KILN" record -q -o "$SCRATCH/$b.prof" -- "$WORKLOADS/callers3_$b" 300 >/dev/null 2>"$SCRATCH/$b.err" ||
		cat "$SCRATCH/$b.err"
done
export S="$SCRATCH/strip.prof" O2="$SCRATCH/O2.prof"

expect "stripped, no frame pointers, recorded as a new user would (no -g): three callers at 50/30/20 (+-3 points)" '
	"$KILN" report -i "$S" --json >r.json &&
	leaf=$(jq1 r.json "[f[\"function\"] for f in j[\"findings\"] if f[\"kind\"] == \"hotspot\"][0]") &&
	"$KILN" report -i "$S" --callers "$leaf" --json >c.json &&
	python3 -c "
import json
j = json.load(open(\"c.json\"))
e = sorted((x for x in j[\"edges\"] if x[\"name\"] and x[\"name\"].startswith(\"callers3_strip+0x\")),
           key=lambda x: -x[\"percent_of_function\"])
assert len(set(x[\"name\"] for x in e)) == 3, e
for x, want in zip(e, (50, 30, 20)):
    assert abs(x[\"percent_of_function\"] - want) <= 3, e
"
'
expect "the three-caller program at -O2 and -O0: the hot loop line (21) holds most of leaf's self samples" '
	"$KILN" record -q -o o0.prof -- "$WORKLOADS/callers3_O0" 100 >/dev/null 2>&1 &&
	for p in "$O2" o0.prof; do
		"$KILN" annotate leaf -i "$p" --json >l.json || exit 1
		python3 -c "
import json
j = json.load(open(\"l.json\"))
best = max(j[\"lines\"], key=lambda l: l[\"self\"])
assert j[\"file\"].endswith(\"/callers3.c\") and best[\"line\"] == 21 and best[\"self\"] > 0.5 * j[\"self\"], j
" || exit 1
	done
'
expect "--asm: every instruction is headed by a line of callers3.c (the file the code is in), none by the includer" '
	"$KILN" annotate leaf -i "$O2" --asm >a.txt 2>e.txt && cat e.txt &&
	sed -n "/^instructions/,\$p" a.txt >asm &&
	! grep -q "callers3_O2.c" asm &&
	grep -E "^ {16}[^ ]" asm >heads && cat heads &&
	# headings are bare line numbers (the main file) within leaf (lines 17-23), with their text
	! grep -Evq "^ {16}(1[7-9]|2[0-3])  " heads &&
	grep -Eq "^ {16}21  .*6364136223846793005ul" heads &&
	grep -Eq "^ {16}19  .*unsigned long x = n;" heads &&
	"$KILN" annotate leaf -i "$O2" --asm --json >a.json &&
	python3 -c "
import json
j = json.load(open(\"a.json\"))
lines = [i[\"line\"] for i in j[\"instructions\"]]
assert lines and all(17 <= l <= 23 for l in lines), lines
assert abs(sum(i[\"self\"] for i in j[\"instructions\"]) - j[\"self\"]) < 1e-6, j
"
'
expect "--asm of a caller: its time on its three call instructions, 50/30/20 (+-3 points) of its total" '
	"$KILN" annotate drive -i "$O2" --asm --json >d.json &&
	python3 -c "
import json
j = json.load(open(\"d.json\"))
calls = [i for i in j[\"instructions\"] if i[\"asm\"].startswith(\"call\")]
assert len(calls) == 3, calls
got = [100 * c[\"total\"] / j[\"total\"] for c in calls]
for g, want in zip(got, (50, 30, 20)):
    assert abs(g - want) <= 3, got
assert [c[\"line\"] for c in calls] == [32, 33, 34], calls
" &&
	"$KILN" annotate drive -i "$O2" --asm >d.txt &&
	grep -Eq "^ {7} +[0-9.]+ +[0-9a-f]+:  call .*<from_a>" d.txt
'
expect "stripped code: no line table, but --asm shows its instructions from START to its ret, self adding up" '
	"$KILN" report -i "$S" --json >r.json &&
	leaf=$(jq1 r.json "[f[\"function\"] for f in j[\"findings\"] if f[\"kind\"] == \"hotspot\"][0]") &&
	case "$leaf" in callers3_strip+0x*) ;; *) echo "leaf: $leaf"; exit 1 ;; esac &&
	"$KILN" annotate "$leaf" -i "$S" >o 2>e; rc=$?
	[ $rc -eq 1 ] && [ ! -s o ] && [ "$(wc -l <e)" -eq 1 ] && grep -q "no line data" e && grep -q -- "--asm shows" e &&
	"$KILN" annotate "$leaf" -i "$S" --asm >a.txt 2>e && [ ! -s e ] &&
	grep -q "no line data: the module has no DWARF" a.txt &&
	start=${leaf#callers3_strip+0x} &&
	grep -Eq "^ +$start:  " a.txt &&
	"$KILN" annotate "$leaf" -i "$S" --asm --json >a.json &&
	python3 -c "
import json, sys
j = json.load(open(\"a.json\"))
ins = j[\"instructions\"]
assert int(ins[0][\"addr\"], 16) == int(sys.argv[1], 16), ins[0]
assert ins[-1][\"asm\"].startswith(\"ret\"), ins[-1]
assert len(ins) < 40, len(ins)  # the leaf alone, not what follows it
assert j[\"lines\"] == [] and abs(sum(i[\"self\"] for i in ins) - j[\"self\"]) < 1e-6, j[\"self\"]
" "$start"
'
expect "stripped code of a Debian library (xz -9: liblzma): its hottest function opens with --asm" '
	head -c 400000 /dev/urandom >in &&
	"$KILN" record -q -o x.prof -- xz -9 -c in >/dev/null 2>&1 &&
	"$KILN" report -i x.prof --json >x.json &&
	f=$(jq1 x.json "[x[\"name\"] for x in j[\"functions\"] if x[\"name\"].startswith(\"liblzma\")][0]") && echo "$f" &&
	"$KILN" annotate "$f" -i x.prof --asm --json >a.json 2>e && cat e &&
	python3 -c "
import json
j = json.load(open(\"a.json\"))
assert len(j[\"instructions\"]) > 5 and abs(sum(i[\"self\"] for i in j[\"instructions\"]) - j[\"self\"]) < 1e-6
"
'
expect "a Python function has no machine code: --asm says so in one line, exit 1" '
	printf "def burn_loop(n):\n    t = 0\n    for i in range(n):\n        t += i * i\n    return t\nburn_loop(3000000)\n" >w.py &&
	"$KILN" record -q -o p.prof -- /usr/bin/python3 w.py >/dev/null 2>&1 &&
	"$KILN" annotate burn_loop -i p.prof --asm >o 2>e; rc=$?
	[ $rc -eq 1 ] && [ ! -s o ] && [ "$(wc -l <e)" -eq 1 ] && grep -q "cannot disassemble .burn_loop (w.py:1).: its module .\[python\]. is not a file" e
'
expect "--callers, --callees and --tree bracket [python] and [kernel.kallsyms] once" '
	printf "def burn_loop(n):\n    t = 0\n    for i in range(n):\n        t += i * i\n    return t\ndef outer_caller():\n    return burn_loop(3000000)\nouter_caller()\n" >w.py &&
	"$KILN" record -q -o p.prof -- /usr/bin/python3 w.py >/dev/null 2>&1 &&
	"$KILN" report -i p.prof --callers burn_loop >c.txt && cat c.txt &&
	grep -q "^burn_loop (w.py:1)  \[python\]: " c.txt && grep -Eq "outer_caller \(w.py:6\)  \[python\]$" c.txt &&
	"$KILN" report -i p.prof --callees outer_caller >d.txt && grep -Eq "burn_loop \(w.py:1\)  \[python\]$" d.txt &&
	"$KILN" report -i p.prof --tree --percent-limit 0 >t.txt && grep -q "  \[python\]" t.txt &&
	! grep -q "\[\[" c.txt d.txt t.txt
'
expect "record --no-lines: no file:line, no addresses, no source hashes; annotate says what is missing" '
	"$KILN" record -q --no-lines -o n.prof -- "$WORKLOADS/callers3_O2" 100 >/dev/null 2>e &&
	"$KILN" report -i n.prof --json >n.json &&
	[ "$(jq1 n.json "len(j[\"meta\"].get(\"source_files\", \"\"))")" = 0 ] &&
	"$KILN" report -i n.prof --no-findings >r.txt && grep -q " leaf$" r.txt &&
	"$KILN" annotate leaf -i n.prof >o 2>e; rc=$?
	[ $rc -eq 1 ] && [ "$(wc -l <e)" -eq 1 ] && grep -q "no line data" e &&
	"$KILN" record -q -o y.prof -- "$WORKLOADS/callers3_O2" 100 >/dev/null 2>&1 &&
	"$KILN" report -i y.prof --json >y.json &&
	jq1 y.json "j[\"meta\"][\"source_files\"]" | grep -q "callers3.c"
'
expect "a hot path is listed only when its leaf has other paths with 10% of its time or more" '
	printf "_start;main;a 700\nstray;a 20\n_start;main;b 280\n" >one.folded &&
	"$KILN" report -i one.folded --json >o.json &&
	[ "$(jq1 o.json "len([f for f in j[\"findings\"] if \"path\" in f])")" = 0 ] &&
	[ "$(jq1 o.json "len([f for f in j[\"findings\"] if f.get(\"function\") == \"a\"])")" = 1 ] &&
	printf "_start;main;a 500\n_start;other;a 200\n_start;main;b 300\n" >two.folded &&
	"$KILN" report -i two.folded --json >t.json &&
	jq1 t.json "\" | \".join(sorted(f[\"path\"] for f in j[\"findings\"] if \"path\" in f))" >paths &&
	[ "$(cat paths)" = "a <- main <- _start | a <- other <- _start" ]
'
expect "stripped: the flame graph and the diff name functions MODULE+0xSTART, never [module] alone" '
	"$KILN" record -q -o s2.prof -- "$WORKLOADS/callers3_strip" 150 >/dev/null 2>&1 &&
	"$KILN" flame "$S" >f.svg && grep -q "callers3_strip+0x" f.svg && ! grep -q "\[callers3_strip\]" f.svg &&
	"$KILN" diff "$S" s2.prof --folded >d.folded &&
	grep -q "^callers3_strip;.*callers3_strip+0x[0-9a-f]*;callers3_strip+0x[0-9a-f]* [0-9]* [0-9]*$" d.folded &&
	"$KILN" diff "$S" s2.prof >d.svg && grep -q "callers3_strip+0x" d.svg
'
expect "no_frame_pointers on real recordings: -g fp of the -fomit-frame-pointer build gets it, of the frame-pointer build not" '
	"$KILN" record -q -g fp -o a.prof -- "$WORKLOADS/callers3_O2" 100 >/dev/null 2>&1 &&
	"$KILN" record -q -g fp -o b.prof -- "$WORKLOADS/callers3" 100 >/dev/null 2>&1 &&
	"$KILN" report -i a.prof >a.txt && grep -q "^  no_frame_pointers .*--call-graph dwarf" a.txt &&
	"$KILN" report -i b.prof --json >b.json &&
	[ "$(jq1 b.json "len([f for f in j[\"findings\"] if f[\"kind\"] == \"no_frame_pointers\"])")" = 0 ] &&
	"$KILN" report -i "$O2" --json >c.json &&
	[ "$(jq1 c.json "len([f for f in j[\"findings\"] if f[\"kind\"] == \"no_frame_pointers\"])")" = 0 ]
'
finish
