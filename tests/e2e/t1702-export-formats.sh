#!/usr/bin/env bash
# t1702-export-formats: kiln export -f speedscope | firefox | chrome | json | folded,
# each checked by the other side's own rules: speedscope's schema (ajv) and importer
# rules, the Firefox Profiler's processing code (its profiler-cli from npm), the
# .cpuprofile loader's rules; the numbers equal kiln's own, per thread.
. "$(dirname "$0")/lib.sh"

KP="$SCRATCH/threads.prof"
"$KILN" record -q -o "$KP" -- "$WORKLOADS/threads" 600 >/dev/null 2>"$SCRATCH/rec.err" || cat "$SCRATCH/rec.err"
NPM=$("$TOP/tests/npm/setup.sh" 2>"$SCRATCH/npm.err") || NPM=
export KP NPM
# kilnthreads FILE: "NAME<TAB>SAMPLES" per thread, from kiln report's thread table
kilnthreads() {
	"$KILN" report "$1" | awk '/^ +Share +Samples +PID +TID +Name/ { on = 1; next } on && NF == 0 { exit }
		on { print $5 " (" $3 "/" $4 ")\t" $2 }' | sed 's/ (\([0-9]*\)\/\1)/ (\1)/' | sort
}
export -f kilnthreads

if [ -n "$NPM" ]; then
	expect "speedscope: valid by speedscope's schema and importer rules; one profile per thread and value, totals equal kiln's" '
		"$KILN" export -f speedscope -o s.json "$KP" 2>err && { [ ! -s err ] || { cat err; false; }; } &&
		KILN_NPM="$NPM" node "$TOP/tests/npm/check-speedscope.js" s.json >profiles.txt &&
		kilnthreads "$KP" >k.txt && cat profiles.txt &&
		# two values (samples, cpu_ns) per thread entry (three threads; a thread sampled
		# before it named itself has a second entry under its first name)
		[ "$(wc -l <profiles.txt)" -eq $((2 * $(wc -l <k.txt))) ] &&
		awk -F "\t" "\$1 ~ /: samples\$/ { sub(/: samples\$/, \"\", \$1); print \$1 \"\t\" \$4 }" profiles.txt | sort >ss.txt &&
		kilnthreads "$KP" >k.txt && [ -s k.txt ] && diff -u k.txt ss.txt &&
		grep -q "\"unit\":\"nanoseconds\"" s.json && grep -q "\"name\":\"burn_a\"" s.json
	'
	expect "Firefox Profiler: its own processing code (profiler-cli) loads the export; thread samples equal kiln's" '
		"$KILN" export -f firefox -o ff.json "$KP" 2>err && grep -q "not written: cpu_ns" err &&
		PQ="node $NPM/@firefox-devtools/profiler-cli/dist/profiler-cli.js" && export HOME="$T" &&
		trap "timeout 20 $PQ stop --all >/dev/null 2>&1" EXIT &&
		{ timeout 60 $PQ load ff.json >load.txt 2>&1; true; } &&
		for i in $(seq 40); do timeout 20 $PQ thread list >threads.txt 2>/dev/null && break; sleep 0.5; done &&
		grep -q "worker-a" threads.txt &&
		for h in $(grep -Eo "^[ *] +t-[0-9]+" threads.txt | grep -o "t-[0-9]*"); do
			timeout 30 $PQ thread samples --thread $h --json >s.json &&
			node -e "const j = require(\"./s.json\"); console.log(j.friendlyThreadName + \"\t\" + j.categoryBreakdown.totalSamples)" >>ff.txt || exit 1
		done && sort ff.txt >ffs.txt && kilnthreads "$KP" >k.txt && diff -u k.txt ffs.txt
	'
	expect "Firefox Profiler: the call tree puts burn_a under run in worker-a, with the same self count as kiln" '
		"$KILN" export -f firefox -o ff.json "$KP" 2>/dev/null &&
		PQ="node $NPM/@firefox-devtools/profiler-cli/dist/profiler-cli.js" && export HOME="$T" &&
		trap "timeout 20 $PQ stop --all >/dev/null 2>&1" EXIT &&
		{ timeout 60 $PQ load ff.json >/dev/null 2>&1; true; } &&
		for i in $(seq 40); do timeout 20 $PQ thread list >threads.txt 2>/dev/null && break; sleep 0.5; done &&
		h=$(grep "worker-a" threads.txt | grep -Eo "^[ *] +t-[0-9]+" | grep -o "t-[0-9]*" | head -1) &&
		timeout 30 $PQ thread samples --thread "$h" --json >s.json; rc=$?
		timeout 30 $PQ thread samples-top-down --thread "$h" >td.txt 2>&1
		[ $rc -eq 0 ] && grep -q "burn_a" td.txt &&
		node -e "const j = require(\"./s.json\"); for (const f of j.topFunctionsByTotal) if (f.name == \"spin\") console.log(f.selfSamples)" >ff.txt &&
		"$KILN" report --tid "$(awk "/worker-a/ { print \$4 }" <("$KILN" report "$KP"))" --percent-limit 0 "$KP" |
			awk "\$NF == \"spin\" { print \$3 }" >k.txt && [ -s k.txt ] && diff k.txt ff.txt
	'
else
	skip "speedscope schema" "npm packages not installed: $(cat "$SCRATCH/npm.err")"
	skip "Firefox Profiler processing" "npm packages not installed"
	skip "Firefox Profiler call tree" "npm packages not installed"
fi
expect "chrome .cpuprofile: the loader's rules hold; self samples per function equal kiln's" '
	"$KILN" export -f chrome -o c.cpuprofile "$KP" 2>err && grep -q "holds one thread" err &&
	node "$TOP/tests/npm/check-cpuprofile.js" c.cpuprofile >c.txt &&
	"$KILN" report --percent-limit 0 "$KP" | awk "/Self%/ { on = 1; next } on && \$3 > 0 { print \$NF \"\t\" \$3 }" >k.txt &&
	head -1 k.txt >k1 && sed "s/_\[k\]//" c.txt | head -1 >c1 && diff k1 c1 &&
	[ "$(awk -F "\t" "{ s += \$2 } END { print s }" c.txt)" = "$("$KILN" report "$KP" | sed -n "2s/.*: \([0-9]*\) samples.*/\1/p")" ]
'
expect "chrome .cpuprofile reads back: the same stacks and counts (threads merged)" '
	"$KILN" export -f chrome -o c.cpuprofile "$KP" 2>/dev/null &&
	"$KILN" report --folded "$KP" | sed "s/^[^;]*;//" | awk "{ c = \$NF; \$NF = \"\"; s[\$0] += c } END { for (k in s) print k c s[k] }" | sort >a &&
	"$KILN" report --folded c.cpuprofile | sed "s/^[^;]*;//" | awk "{ c = \$NF; \$NF = \"\"; s[\$0] += c } END { for (k in s) print k c s[k] }" | sort >b &&
	diff -u a b
'
expect "json: kiln's model as JSON; every sample, value, thread and frame is there" '
	"$KILN" export -f json -o k.json "$KP" && "$KILN" report --folded "$KP" >k.folded &&
	python3 -c "
import json, sys
j = json.load(open(\"k.json\"))
assert j[\"format\"] == \"kiln-profile\" and j[\"version\"] == 1
n = len(j[\"samples\"][\"stack\"])
assert n == len(j[\"samples\"][\"thread\"]) == len(j[\"samples\"][\"time_ns\"])
assert [v[\"name\"] for v in j[\"value_types\"]] == [\"samples\", \"cpu_ns\"]
assert all(len(col) == n for col in j[\"samples\"][\"values\"])
names = {f[\"name\"] for f in j[\"frames\"]}
assert {\"spin\", \"burn_a\", \"burn_b\"} <= names, names
# kernel frames keep their flag: those kiln report marks _[k] (a short run may have none)
kern = {f[\"name\"] for f in j[\"frames\"] if \"kernel\" in f[\"flags\"]}
marked = {x[:-4] for line in open(\"k.folded\") for x in line.rsplit(\" \", 1)[0].split(\";\") if x.endswith(\"_[k]\")}
assert marked <= kern, marked - kern
assert all(\"kernel\" in f[\"flags\"] for f in j[\"frames\"] if f[\"module\"] == \"[kernel.kallsyms]\")
assert {t[\"comm\"] for t in j[\"threads\"]} >= {\"worker-a\", \"worker-b\"}
for parent, frame in j[\"stacks\"]:
    assert 0 < frame <= len(j[\"frames\"])
print(int(sum(j[\"samples\"][\"values\"][0])))
" >n.txt && [ "$(cat n.txt)" = "$("$KILN" report "$KP" | sed -n "2s/.*: \([0-9]*\) samples.*/\1/p")" ]
'
expect "folded: the same bytes as kiln report --folded; --value picks another value" '
	"$KILN" export -f folded "$KP" >a && "$KILN" report --folded "$KP" >b && cmp a b &&
	"$KILN" export -f folded --value cpu_ns "$KP" >c && "$KILN" report --folded --value cpu_ns "$KP" >d && cmp c d
'
expect "a heap profile to speedscope keeps every value (bytes units)" '
	"$KILN" heap -q -o h.prof -- "$WORKLOADS/heap_known" >/dev/null 2>&1 &&
	"$KILN" export -f speedscope -o h.json h.prof && grep -q "\"unit\":\"bytes\"" h.json &&
	for v in alloc_bytes peak_bytes alloc_count; do grep -q ": $v\"" h.json || exit 1; done
'
finish
