#!/usr/bin/env bash
# t2803-viewer-functions: the viewers show kiln's functions as kiln report does. speedscope
# groups by its frame entries and DevTools by callFrame (name, script, start line), so a
# function sampled at two lines must still be one entry: speedscope itself (the npm
# release build in headless chromium) shows each function once in its Sandwich view with
# kiln's self count, and DevTools' bottom-up grouping of a .cpuprofile gives kiln's counts.
. "$(dirname "$0")/lib.sh"

KP="$SCRATCH/threads.prof"
"$KILN" record -q -o "$KP" -- "$WORKLOADS/threads" 600 >/dev/null 2>"$SCRATCH/rec.err" || cat "$SCRATCH/rec.err"
NPM=$("$TOP/tests/npm/setup.sh" 2>"$SCRATCH/npm.err") || NPM=
export KP NPM
# kilnself FILE [ARGS]: "NAME<TAB>SELF" for every function with self samples, as kiln report counts
kilnself() {
	local f=$1
	shift
	"$KILN" report --percent-limit 0 "$@" "$f" |
		awk '/^ +Self% +Total%/ { on = 1; next } on && /%/ && $3 > 0 { n = $NF; if (n == "(inlined)") n = $(NF - 1); print n "\t" $3 }' |
		LC_ALL=C sort
}
# tid NAME: the thread id of kiln's thread NAME in $KP
tid() { "$KILN" report "$KP" | awk -v n="$1" '/^ +Share +Samples +PID +TID +Name/ { on = 1; next } on && $5 == n { print $4; exit }'; }
export -f kilnself tid

expect "the recording has a function sampled at two lines (what this test is about)" '
	"$KILN" export -f json -o k.json "$KP" && python3 -c "
import json, collections
j = json.load(open(\"k.json\"))
c = collections.Counter(f[\"name\"] for f in j[\"frames\"])
assert c[\"spin\"] >= 2, c
"
'
expect "chrome .cpuprofile: DevTools's bottom-up rows (by callFrame) are kiln's functions with kiln's self counts" '
	"$KILN" export -f chrome -o c.cpuprofile "$KP" 2>/dev/null &&
	node "$TOP/tests/npm/check-cpuprofile.js" c.cpuprofile | sed "s/_\[[kij]\]	/	/" | LC_ALL=C sort >c.txt &&
	kilnself "$KP" >k.txt && [ -s k.txt ] && diff -u k.txt c.txt
'
if [ -n "$NPM" ]; then
	expect "speedscope: per thread, each function is one frame entry with kiln's self count" '
		"$KILN" export -f speedscope -o s.json "$KP" &&
		for name in worker-a worker-b; do
			t=$(tid $name) && [ -n "$t" ] &&
			p=$(KILN_NPM="$NPM" node "$TOP/tests/npm/check-speedscope.js" s.json | cut -f1 | grep "^$name (.*/$t): samples\$") &&
			KILN_NPM="$NPM" node "$TOP/tests/npm/check-speedscope.js" s.json "$p" | sed "s/_\[[kij]\]	/	/" | LC_ALL=C sort >s.txt &&
			kilnself "$KP" --tid "$t" >k.txt && [ -s k.txt ] && diff -u k.txt s.txt || exit 1
		done
	'
	if [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
		expect "speedscope itself loads the export: its Sandwich view of worker-a has spin once, with kiln's self count" '
			"$KILN" export -f speedscope -o s.json "$KP" && t=$(tid worker-a) &&
			p=$(KILN_NPM="$NPM" node "$TOP/tests/npm/check-speedscope.js" s.json | cut -f1 | grep "^worker-a (.*/$t): samples\$") &&
			KILN_NPM="$NPM" timeout 120 node "$TOP/tests/npm/speedscope-browser.js" s.json "$p" shot.png >rows.txt &&
			cat rows.txt | head -5 && [ "$(grep -c "^spin	" rows.txt)" -eq 1 ] &&
			kilnself "$KP" --tid "$t" | awk -F "\t" "\$1 == \"spin\" { print \$2 }" >k.txt &&
			awk -F "\t" "\$1 == \"spin\" { print \$2 }" rows.txt | diff - k.txt
		'
	else
		skip "speedscope in a browser" "chromium is not installed"
	fi
else
	skip "speedscope frame entries" "npm packages not installed: $(cat "$SCRATCH/npm.err")"
	skip "speedscope in a browser" "npm packages not installed"
fi
expect "a round trip through speedscope and chrome keeps every stack and count (functions, not lines)" '
	"$KILN" export -f speedscope -o s.json "$KP" && "$KILN" report --folded "$KP" >a && "$KILN" report --folded s.json >b &&
	diff -u a b && "$KILN" export -f chrome -o c.cpuprofile "$KP" 2>/dev/null &&
	"$KILN" report --folded c.cpuprofile | sed "s/^[^;]*;//" | awk "{ c = \$NF; \$NF = \"\"; s[\$0] += c } END { for (k in s) print k c s[k] }" | sort >c2 &&
	sed "s/^[^;]*;//" a | awk "{ c = \$NF; \$NF = \"\"; s[\$0] += c } END { for (k in s) print k c s[k] }" | sort >a2 && diff -u a2 c2
'
finish
