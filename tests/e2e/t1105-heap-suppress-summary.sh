#!/usr/bin/env bash
# t1105-heap-suppress-summary: kiln heap's summary at the end counts the leaks a
# suppressions file hides as the report does, also for leaks made long before the end
# (whose samples were written out and dropped from memory while the program ran).
. "$(dirname "$0")/lib.sh"

expect "leaks made a second before the end: the summary hides them as the report does" '
	printf "leak:leak_me\n" >supp &&
	"$KILN" heap --suppressions supp -o l.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_leak_late.py" 2>err || { cat err; exit 1; }
	grep -q "^kiln heap: 10 leaked blocks (9.81 KiB) suppressed" err || { cat err; exit 1; }
	"$KILN" heap report l.prof >rep || exit 1
	sum=$(grep "leaked .* in .* blocks" err | sed "s/.*leaked \(.*\) in \([0-9,]*\) blocks.*/\1 \2/") &&
	rsum=$(grep "^leaked " rep | sed "s/^leaked *\(.*\) in \([0-9,]*\) blocks.*/\1 \2/") &&
	[ "$sum" = "$rsum" ] && grep -q "^leaked .*(and 10 blocks, 9.81 KiB, suppressed)" rep || { cat err rep; exit 1; }
'

finish
