#!/usr/bin/env bash
# t0703-bench-baseline: --save-baseline, --baseline and --fail-if-slower (the CI guard);
# bad baselines (missing, corrupt, other commands, newer format) are clear errors.
. "$(dirname "$0")/lib.sh"

expect "a slower command fails the guard: exit 1 naming it, by how much, with what confidence" '
	"$KILN" bench -N -r 10 -n work "sleep 0.01" --save-baseline base.json >/dev/null &&
	python3 -c "import json; assert json.load(open(\"base.json\"))[\"results\"][0][\"command\"] == \"work\"" &&
	check_exit 1 "$KILN" bench -N -r 10 -n work "sleep 0.03" --baseline base.json --fail-if-slower 10 >out 2>err &&
	grep -q "'"'"'work'"'"' is [0-9.]*% slower than its baseline in '"'"'base.json'"'"'" err &&
	grep -q "confidence" err && grep -q "the limit is 10%" err &&
	grep -q "Against baseline" out && grep -E -q "work .* slower$" out
'
expect "the same command against its baseline passes the guard (exit 0)" '
	"$KILN" bench -N -r 10 -n work "sleep 0.01" --save-baseline base.json >/dev/null &&
	"$KILN" bench -N -r 10 -n work "sleep 0.01" --baseline base.json --fail-if-slower 25 >out 2>err &&
	! grep -q "error" err
'
expect "a faster command passes the guard and is reported faster" '
	"$KILN" bench -N -r 10 -n work "sleep 0.03" --save-baseline base.json >/dev/null &&
	"$KILN" bench -N -r 10 -n work "sleep 0.01" --baseline base.json --fail-if-slower 5 >out 2>err &&
	grep -E -q "work .* faster$" out
'
expect "slower but within the limit: exit 0 with a note" '
	"$KILN" bench -N -r 10 -n work "sleep 0.01" --save-baseline base.json >/dev/null &&
	"$KILN" bench -N -r 10 -n work "sleep 0.03" --baseline base.json --fail-if-slower 900 >out 2>err &&
	grep -q "within the 900% limit" err
'
expect "a missing baseline is an error before anything runs" '
	check_exit 1 "$KILN" bench -N -r 2 "touch ran" --baseline nope.json 2>err &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "cannot open baseline .nope.json.: no such file" err && [ ! -e ran ]
'
expect "a corrupt baseline is an error with the place of the damage" '
	printf "{\"results\": [ {\"command\": \"x\", \"times\": [0.1,\n" >bad.json &&
	check_exit 1 "$KILN" bench -N -r 2 true --baseline bad.json 2>err &&
	grep -q "baseline .bad.json. is not valid JSON (line" err &&
	: >empty.json && check_exit 1 "$KILN" bench -N -r 2 true --baseline empty.json 2>err &&
	grep -q "not valid JSON" err &&
	echo "[1,2]" >arr.json && check_exit 1 "$KILN" bench -N -r 2 true --baseline arr.json 2>err &&
	grep -q "no top-level object" err &&
	echo "{\"results\": [{\"command\": \"true\", \"times\": [0.1, \"x\"]}]}" >t.json &&
	check_exit 1 "$KILN" bench -N -r 2 true --baseline t.json 2>err && grep -q "bad run time" err &&
	echo "{\"results\": [{\"command\": \"true\"}]}" >n.json &&
	check_exit 1 "$KILN" bench -N -r 2 true --baseline n.json 2>err && grep -q "no run times" err &&
	mkdir dir.json && check_exit 1 "$KILN" bench -N -r 2 true --baseline dir.json 2>err && grep -q "directory" err
'
expect "a baseline from other commands is an error naming what it has" '
	"$KILN" bench -N -r 3 "sleep 0.001" --save-baseline base.json >/dev/null &&
	check_exit 1 "$KILN" bench -N -r 2 "touch ran" --baseline base.json 2>err &&
	grep -q "has no result for .touch ran. (it has .sleep 0.001.)" err && [ ! -e ran ]
'
expect "a baseline of a newer format is refused" '
	echo "{\"kiln_format\": 99, \"results\": [{\"command\": \"true\", \"times\": [0.1]}]}" >new.json &&
	check_exit 1 "$KILN" bench -N -r 2 true --baseline new.json 2>err && grep -q "kiln_format 99" err
'
expect "a hyperfine --export-json file works as a baseline" '
	command -v hyperfine >/dev/null || exit 0
	hyperfine -N -r 5 --export-json hf.json "sleep 0.01" >/dev/null 2>&1 &&
	"$KILN" bench -N -r 5 "sleep 0.01" --baseline hf.json --fail-if-slower 50 >out &&
	grep -q "Against baseline" out
'
finish
