#!/usr/bin/env bash
# t0702-bench-errors: failing, missing and endless commands; bad parameter ranges and
# options: clear one-line errors and the right exit codes.
. "$(dirname "$0")/lib.sh"

expect "a failing command stops before measuring and names the command" '
	check_exit 1 "$KILN" bench -r 3 "true" "exit 3" --export-json r.json >out 2>err &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "'"'"'exit 3'"'"' failed with exit code 3 before any measurement" err &&
	grep -q -- "--ignore-failure" err && [ ! -e r.json ] && ! grep -q "Benchmark" out
'
expect "a crashing command stops kiln bench with its signal exit code" '
	check_exit 1 "$KILN" bench -r 2 "kill -SEGV \$\$" 2>err && grep -q "failed with exit code 139" err
'
expect "with -i a failing command is measured and its exit codes kept" '
	"$KILN" bench -N -i -r 3 "false" --export-json r.json >out 2>err &&
	python3 -c "
import json; r = json.load(open(\"r.json\"))[\"results\"][0]
assert r[\"exit_codes\"] == [1, 1, 1], r[\"exit_codes\"]
"
'
expect "a command that does not exist: one clear error, exit 1 (with and without a shell)" '
	check_exit 1 "$KILN" bench -N -r 2 "kiln-no-such-cmd --flag" 2>err &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "kiln-no-such-cmd.*command not found" err &&
	check_exit 1 "$KILN" bench -r 2 "kiln-no-such-cmd" 2>err &&
	grep -q "exit code 127 (command not found?)" err
'
expect "--timeout kills a command that never ends and reports it" '
	d="60.$$$RANDOM" &&
	start=$(date +%s%N) &&
	check_exit 1 "$KILN" bench -r 2 --timeout 0.3 "sleep $d" 2>err &&
	end=$(date +%s%N) && [ $(( (end - start) / 1000000 )) -lt 5000 ] &&
	grep -q "'"'"'sleep $d'"'"' did not finish within 300.0 ms" err &&
	! pgrep -f "^sleep $d$" >/dev/null
'
expect "parameter scans with bad ranges are usage errors" '
	check_exit 2 "$KILN" bench -P x 5 1 "sleep {x}" 2>err && grep -q "empty range" err &&
	check_exit 2 "$KILN" bench -P x 0.1 0.5 "sleep {x}" 2>err && grep -q "need a step" err &&
	check_exit 2 "$KILN" bench -P x a 3 "sleep {x}" 2>err && grep -q "not a number" err &&
	check_exit 2 "$KILN" bench -P x 1 3 -D 0 "sleep {x}" 2>err && grep -q "positive step" err &&
	check_exit 2 "$KILN" bench -P x 1 3 -D -1 "sleep {x}" 2>err && grep -q "positive step" err &&
	check_exit 2 "$KILN" bench -P x 0 1000000000 "sleep {x}" 2>err && grep -q "more than" err &&
	check_exit 2 "$KILN" bench -D 0.1 "sleep 1" 2>err && grep -q "needs .-P." err &&
	check_exit 2 "$KILN" bench -P x 1 2 2>err &&
	check_exit 2 "$KILN" bench -L x "" "sleep {x}" 2>err && grep -q "empty value" err &&
	check_exit 2 "$KILN" bench -L x 1,,2 "sleep {x}" 2>err && grep -q "empty value" err &&
	check_exit 2 "$KILN" bench -P x 1 2 -L y 1 "sleep {x}" 2>err && grep -q "cannot be combined" err
'
expect "bad options are usage errors with one clear line" '
	check_exit 2 "$KILN" bench 2>err && grep -q "no command" err &&
	check_exit 2 "$KILN" bench --frob true 2>err && grep -q "unknown option .--frob." err &&
	check_exit 2 "$KILN" bench -r 0 true 2>err && grep -q "whole number" err &&
	check_exit 2 "$KILN" bench -r x true 2>err &&
	check_exit 2 "$KILN" bench -r 3 -m 2 true 2>err && grep -q "cannot be combined" err &&
	check_exit 2 "$KILN" bench -m 5 -M 2 true 2>err && grep -q "above" err &&
	check_exit 2 "$KILN" bench --runs 2>err && grep -q "needs 1 value" err &&
	check_exit 2 "$KILN" bench --fail-if-slower 5 true 2>err && grep -q "needs .--baseline" err &&
	check_exit 2 "$KILN" bench -n a -n b true 2>err && grep -q "2 command names for 1 commands" err &&
	check_exit 2 "$KILN" bench -p x -p y -p z true false 2>err && grep -q "once per command" err &&
	check_exit 2 "$KILN" bench --timeout nope true 2>err && grep -q "duration" err &&
	check_exit 2 "$KILN" bench -N "echo '"'"'open" 2>err && grep -q "unterminated quote" err
'
expect "a failing --prepare or --setup is an error naming it" '
	check_exit 1 "$KILN" bench -r 2 -p "exit 4" true 2>err && grep -q "prepare command .exit 4. failed with exit code 4" err &&
	check_exit 1 "$KILN" bench -r 2 -s false true 2>err && grep -q "setup command .false. failed" err
'
expect "--input that is missing or a pipe is an error" '
	check_exit 1 "$KILN" bench -r 2 --input nope.txt true 2>err && grep -q "nope.txt" err &&
	check_exit 1 "$KILN" bench -r 2 --input /dev/stdin true </dev/null 2>err && grep -q "regular file" err
'
expect "exports to an unwritable place fail with exit 1 and leave nothing behind" '
	mkdir d && check_exit 1 "$KILN" bench -N -r 2 true --export-json d 2>err && grep -q "directory" err &&
	check_exit 1 "$KILN" bench -N -r 2 true --export-csv no/such/dir.csv 2>err && grep -q "directory .no/such. does not exist" err &&
	[ -z "$(ls d)" ]
'
expect "a shell that does not exist is an error" '
	check_exit 1 "$KILN" bench -S kiln-no-such-shell -r 2 true 2>err && grep -q "shell" err
'
finish
