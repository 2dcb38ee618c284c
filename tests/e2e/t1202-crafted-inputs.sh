#!/usr/bin/env bash
# t1202-crafted-inputs: the inputs that sanitizers and fuzzing caught, each made here
# (tests/fuzz/kprof.py writes the crafted kiln.prof files): every one gets a clear answer
# and no crash. Under the sanitized build (BUILD=build-san) these also fail on the
# overread, overflow, leak or NULL offset that each one used to cause.
. "$(dirname "$0")/lib.sh"

KPROF="$TOP/tests/fuzz/kprof.py"
export KPROF

expect "perf script with a NUL byte inside an event name: collapsed, the other event counted apart" '
	printf "prog 1 1.0: 1 cpu\0clock:\n\t1 b (/bin/prog)\n\nprog 1 1.0: 1 cpu\0clock:\n\t1 b (/bin/prog)\n\nprog 1 2.0: 1 cpu\0clockXXXXXXXXXXXX:\n\t1 c (/bin/prog)\n\n" >nul.perf &&
	"$KILN" collapse nul.perf >out 2>err && [ "$(cat out)" = "prog;b 2" ] &&
	grep -q "skipped 1 of other events" err
'

expect "kiln.prof whose sample stack deltas overflow: damaged, no intact samples, exit 1" '
	python3 "$KPROF" crafted stack-delta-overflow x.prof &&
	check_exit 1 "$KILN" report x.prof 2>err && grep -q "is damaged" err && grep -q "holds no intact samples" err &&
	check_exit 1 "$KILN" flame x.prof 2>err2 >/dev/null && grep -q "holds no intact samples" err2
'

expect "heap views of a heap profile with no intact samples: one error, exit 1 (the profile was leaked)" '
	python3 "$KPROF" crafted heap-no-intact-samples h.prof && bad=0;
	for sub in report chart histogram; do
		check_exit 1 "$KILN" heap $sub h.prof >/dev/null 2>err.$sub &&
		[ "$(grep -c "error:" err.$sub)" = 1 ] && grep -q "holds no intact samples" err.$sub || bad=1;
	done; [ $bad = 0 ]
'

expect "kiln.prof whose first chunk is empty: an answer, not NULL + 0" '
	python3 "$KPROF" crafted empty-first-chunk e.prof &&
	check_exit 1 "$KILN" report e.prof 2>err && grep -q "holds no values" err &&
	python3 "$KPROF" crafted heap-empty-samples-chunk he.prof &&
	"$KILN" report he.prof >/dev/null 2>err2; [ $? -le 1 ]
'

expect "kiln.prof with samples but no functions: report, tree and JSON (a function table leaked)" '
	python3 "$KPROF" crafted no-functions n.prof &&
	"$KILN" report n.prof >t 2>&1 && grep -q "2 samples" t && "$KILN" report --value bytes n.prof >/dev/null &&
	"$KILN" report --tree n.prof >/dev/null && "$KILN" report --json --value bytes n.prof >j &&
	python3 -c "import json, sys; d = json.load(open(\"j\")); sys.exit(d[\"samples\"] != 2)"
'

# deep_folded N: one stack of N frames f0;...;fN-1 (count 5) and a short one beside it.
deep_folded() {
	python3 -c "import sys; n = int(sys.argv[1]); print(\";\".join(\"f%d\" % i for i in range(n)) + \" 5\"); print(\"f0;f1;g 3\")" "$1"
}
export -f deep_folded

expect "report --json --tree of a 70,000-frame stack: complete JSON (recursion overflowed the C stack)" '
	# with a 1 MiB stack: a walk that recursed per frame needs far more
	deep_folded 70000 >deep.folded && (ulimit -s 1024 && "$KILN" report --json --tree deep.folded >j 2>err) &&
	# a process node, 70,000 frames and g: 70,002 nodes, each closed by "]}", and the whole document
	# (counted from the tree on: the findings before it close arrays too)
	[ "$(grep -o "\"children\":\[" j | wc -l)" = 70002 ] && [ "$(sed "s/.*\"tree\"://" j | grep -o "\]}" | wc -l)" = 70003 ] &&
	python3 -c "
import json, sys
s = open(\"j\").read()
# replace the deep nesting by a marker, then parse the rest as JSON
i = s.index(\"\\\"tree\\\":\")
d = json.loads(s[:i] + \"\\\"tree\\\":[]}\")
sys.exit(d[\"total\"] != 8 or not s.rstrip().endswith(\"]}\"))"
'

expect "report --tree of a 100,000-frame stack: bounded indentation, deeper levels numbered" '
	deep_folded 100000 >deep.folded && (ulimit -s 1024 && "$KILN" report --tree deep.folded >t 2>err) &&
	size=$(wc -c <t) && [ "$size" -lt 40000000 ] &&
	widest=$(awk "{ if (length(\$0) > m) m = length(\$0) } END { print m }" t) && [ "$widest" -lt 300 ] &&
	grep -q "└─ f62$" t && grep -q "└─ \[65\] f64$" t && grep -q "└─ \[100000\] f99999$" t &&
	[ "$(grep -c "" t)" -gt 100000 ]
'

expect "report --tree of a shallow stack is drawn as before (no depth numbers)" '
	printf "main;a;b 30\nmain;a;c 20\nmain;d 10\n" >s.folded && "$KILN" report --tree --percent-limit 0 s.folded >t &&
	grep -q "│  ├─ b$" t && grep -q "│  └─ c$" t && grep -q "└─ d$" t && ! grep -q "\[[0-9]*\] " t
'

finish
