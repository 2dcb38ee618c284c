#!/usr/bin/env bash
# t1104-heap-suppressions: a C++ program that leaks nothing reports no leaks (the
# allocator pools every program keeps are suppressed built-in), one that leaks reports
# it, and a suppressions file in LeakSanitizer's format hides a named leak, saying how
# many it hid.
. "$(dirname "$0")/lib.sh"

if ! command -v g++ >/dev/null; then
	skip "C++ programs and suppressions" "g++ is not installed (scripts/deps.sh --test installs it)"
	finish
	exit
fi
g++ -O1 -g -o "$SCRATCH/noleak" "$DATA/heap/noleak.cpp" && g++ -O1 -g -o "$SCRATCH/leak" "$DATA/heap/leak.cpp" ||
	{ echo "cannot build the C++ test programs"; exit 1; }
export NOLEAK="$SCRATCH/noleak" LEAK="$SCRATCH/leak"
# jnum KEY FILE: a number of the JSON summary
jnum() { grep -o "\"$1\":[0-9.e+-]*" "$2" | head -1 | cut -d: -f2; }
export -f jnum

expect "a C++ program that leaks nothing: no leaks (stdio buffer and libstdc++ pool suppressed)" '
	"$NOLEAK" >want && "$KILN" heap -o n.prof -- "$NOLEAK" >got 2>err && cmp want got || { cat err; exit 1; }
	grep -q "leaked 0 B in 0 blocks" err && grep -q "suppressed" err || { cat err; exit 1; }
	"$KILN" heap report n.prof >rep && grep -q "^leaked        0 B in 0 blocks (and [0-9]* blocks" rep || { cat rep; exit 1; }
	sed -n "/^LEAKS/,/^\$/p" rep | grep -q "^  none" || { cat rep; exit 1; }
	grep -q "libstdc++ emergency exception pool (built-in)" rep && grep -q "stdio stream buffers (built-in)" rep || { cat rep; exit 1; }
	"$KILN" heap report n.prof --json >j && [ "$(jnum leaked_count j)" = 0 ] && [ "$(jnum suppressed_count j)" -ge 2 ]
'
expect "a C++ program that leaks: its leaks are reported, exactly" '
	"$KILN" heap -q -o l.prof -- "$LEAK" >/dev/null || exit 1
	"$KILN" heap report l.prof --folded --value leaked_count >lc && "$KILN" heap report l.prof --folded --value leaked_bytes >lb || exit 1
	grep -q "forget_list(int) 10\$" lc && grep -q "keep_buffer() 1\$" lc || { cat lc; exit 1; }
	grep -q "forget_list(int) 1280\$" lb && grep -q "keep_buffer() 1000\$" lb || { cat lb; exit 1; }
	# the pools are not in the leak list
	! grep -q "_IO_file_doallocate\|_dl_init" lc || { cat lc; exit 1; }
	"$KILN" heap report l.prof --json >j && [ "$(jnum leaked_count j)" = 11 ] && [ "$(jnum leaked_bytes j)" = 2280 ]
'
expect "--suppressions FILE hides a named leak; the report says how many it hid" '
	printf "# LeakSanitizer format\n\n  leak:keep_buffer  \n" >my.supp
	"$KILN" heap -o s.prof --suppressions my.supp -- "$LEAK" >/dev/null 2>err || { cat err; exit 1; }
	grep -q "leaked 1.25 KiB in 10 blocks" err || { cat err; exit 1; }
	"$KILN" heap report s.prof >rep || exit 1
	grep -q "^leaked        1.25 KiB in 10 blocks (and 3 blocks" rep &&
	grep -q "^ *1 *1000 B  leak:keep_buffer (my.supp:3)" rep || { cat rep; exit 1; }
	# the rules travel with the profile: kiln report applies them too
	"$KILN" report -i s.prof --json >j && [ "$(jnum leaked_count j)" = 10 ] &&
	grep -q "\"rule\":\"leak:keep_buffer\",\"origin\":\"my.supp:3\",\"count\":1,\"bytes\":1000" j || { cat j; exit 1; }
	"$KILN" heap report s.prof --folded --value leaked_count >lc && ! grep -q keep_buffer lc && grep -q forget_list lc
'
expect "report --suppressions: LeakSanitizer patterns with *, ^ and \$" '
	"$KILN" heap -q -o l.prof -- "$LEAK" >/dev/null || exit 1
	printf "leak:^forget_l*t(int)\$\n" >a.supp && "$KILN" heap report l.prof --suppressions a.supp --json >j &&
	[ "$(jnum leaked_count j)" = 1 ] && [ "$(jnum leaked_bytes j)" = 1000 ] || { cat j; exit 1; }
	printf "leak:^orget_list\n" >b.supp && "$KILN" heap report l.prof --suppressions b.supp --json >j &&
	[ "$(jnum leaked_count j)" = 11 ] || { cat j; exit 1; }
	# a module path and a source file name match too
	printf "leak:leak.cpp\n" >c.supp && "$KILN" heap report l.prof --suppressions c.supp --json >j &&
	[ "$(jnum leaked_count j)" = 0 ] && [ "$(jnum suppressed_count j)" -ge 13 ] || { cat j; exit 1; }
'
expect "a bad suppressions file: one line naming the line, exit 1, the program not run" '
	printf "leak:ok\nfrob:x\n" >bad.supp
	check_exit 1 "$KILN" heap -o b.prof --suppressions bad.supp -- sh -c "touch ran" 2>err &&
	[ ! -e ran ] && [ "$(wc -l <err)" = 1 ] && grep -q "bad.supp:2: .frob:x. is not a leak suppression" err || { cat err; exit 1; }
	check_exit 1 "$KILN" heap -o b.prof --suppressions missing.supp -- true 2>err && grep -q "missing.supp" err &&
	"$KILN" heap -q -o l.prof -- "$LEAK" >/dev/null && check_exit 1 "$KILN" heap report l.prof --suppressions bad.supp 2>err &&
	[ "$(wc -l <err)" = 1 ] || { cat err; exit 1; }
'
finish
