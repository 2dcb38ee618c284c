#!/usr/bin/env bash
# t2804-export-notes: a format that holds fewer values than the profile says which it
# leaves out, on one line, and still writes what it can: folded (one value), chrome and
# firefox (one count); formats that hold everything (pprof, speedscope, json) say nothing.
. "$(dirname "$0")/lib.sh"

KP="$SCRATCH/threads.prof"
"$KILN" record -q -o "$KP" -- "$WORKLOADS/threads" 300 >/dev/null 2>"$SCRATCH/rec.err" || cat "$SCRATCH/rec.err"
"$KILN" heap -q -o "$SCRATCH/h.prof" -- "$WORKLOADS/heap_known" >/dev/null 2>&1
export KP HP="$SCRATCH/h.prof"

expect "folded of a CPU profile: one line naming cpu_ns as not written; the bytes are kiln report --folded's" '
	"$KILN" export -f folded -o f.txt "$KP" 2>err && [ "$(wc -l <err)" -eq 1 ] &&
	grep -q "^kiln: folded stacks keep one value, .samples.; not written: cpu_ns" err &&
	"$KILN" report --folded "$KP" | cmp - f.txt &&
	"$KILN" export -f folded --value cpu_ns -o g.txt "$KP" 2>err && grep -q "keep one value, .cpu_ns.; not written: samples" err
'
expect "folded of a heap profile names every value it leaves out" '
	"$KILN" export -f folded -o f.txt "$HP" 2>err && [ "$(wc -l <err)" -eq 1 ] && [ -s f.txt ] &&
	for v in alloc_count alloc_bytes leaked_count leaked_bytes temp_count; do grep -q "$v" err || exit 1; done &&
	! grep -q "not written:.*peak_bytes" err
'
expect "folded of folded stacks (one value): no note" '
	printf "main;a 3\nmain;b 1\n" >in.folded && "$KILN" export -f folded -o f.txt in.folded 2>err && [ ! -s err ] && [ -s f.txt ]
'
expect "pprof, speedscope and json hold every value: no note" '
	for f in pprof speedscope json; do "$KILN" export -f $f -o out.$f "$KP" 2>err && [ ! -s err ] || { cat err; exit 1; }; done
'
expect "chrome and firefox name cpu_ns as not written" '
	for f in chrome firefox; do "$KILN" export -f $f -o out.$f "$KP" 2>err && grep -q "not written: cpu_ns" err || exit 1; done
'
finish
