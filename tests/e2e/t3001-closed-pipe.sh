#!/usr/bin/env bash
# t3001-closed-pipe: a reader that stops early (kiln report | head) ends kiln's output
# quietly, whatever the command and however much output was still to come; a full disk
# on standard output is still one line and exit 1.
. "$(dirname "$0")/lib.sh"

# a profile whose every output is large: many distinct stacks
python3 -c '
for i in range(20000):
    print("prog;main;f%d;g%d;h%d %d" % (i % 97, i, i % 13, i % 7 + 1))' >"$SCRATCH/big.folded"
export P="$SCRATCH/big.folded"

expect "report, folded, tree, json, callees, flame, diff, export (every format) into a closed pipe: no message" '
	: >err &&
	for i in 1 2 3; do
		"$KILN" report -i "$P" --top 1000000 2>>err | head -c 100 >/dev/null
		"$KILN" report -i "$P" --folded 2>>err | head -1 >/dev/null
		"$KILN" report -i "$P" --tree 2>>err | head -1 >/dev/null
		"$KILN" report -i "$P" --json 2>>err | head -c 10 >/dev/null
		"$KILN" flame "$P" 2>>err | head -c 10 >/dev/null
		"$KILN" diff "$P" "$P" --folded 2>>err | head -1 >/dev/null
		"$KILN" report -i "$P" --callees main 2>>err | head -1 >/dev/null
		for f in pprof speedscope firefox chrome json folded; do
			"$KILN" export -f $f "$P" 2>>err | head -c 10 >/dev/null
		done
	done
	cat err; [ ! -s err ]
'

expect "a full disk on standard output: one line naming it, exit 1" '
	"$KILN" report -i "$P" --folded >/dev/full 2>err; rc=$?
	cat err; [ $rc -eq 1 ] && [ "$(wc -l <err)" -eq 1 ] && grep -q "standard output" err &&
	"$KILN" export -f chrome "$P" >/dev/full 2>err; rc=$?
	cat err; [ $rc -eq 1 ] && [ "$(wc -l <err)" -eq 1 ] && grep -q "standard output" err
'

finish
