#!/usr/bin/env bash
# t0202-flame-bad-input: kiln flame on input that is not what it should be: a clear
# message, a non-zero exit when nothing could be drawn, valid XML otherwise, and never
# a half-written output file.
. "$(dirname "$0")/lib.sh"

if ! command -v xmllint >/dev/null || ! command -v python3 >/dev/null; then
	skip "kiln flame on bad input" "xmllint or python3 missing (scripts/deps.sh --test installs them)"
	finish
	exit
fi

expect "a missing file: one-line error naming it, exit 1, no output file" '
	check_exit 1 "$KILN" flame nosuch.folded -o out.svg 2>err &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "nosuch.folded" err && [ ! -e out.svg ]
'
expect "a directory instead of a file" '
	mkdir d && check_exit 1 "$KILN" flame d >out.svg 2>err && [ "$(wc -l <err)" -eq 1 ] &&
	grep -q "error.*'"'"'d'"'"'" err && [ ! -s out.svg ]
'
expect "empty input is an error" '
	: >empty && check_exit 1 "$KILN" flame empty >out.svg 2>err && grep -q "empty" err && [ ! -s out.svg ] &&
	check_exit 1 "$KILN" flame - </dev/null >out.svg 2>err && grep -q "empty" err
'
expect "binary garbage is an error" '
	python3 -c "import random,sys; r=random.Random(7); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(200000)))" >garbage &&
	check_exit 1 "$KILN" flame garbage >out.svg 2>err && [ "$(wc -l <err)" -eq 1 ] &&
	grep -q "neither a kiln profile nor folded stacks" err && [ ! -s out.svg ]
'
expect "only zero counts: nothing to draw" '
	printf "a;b 0\nc 0\n" >in.folded &&
	check_exit 1 "$KILN" flame in.folded >out.svg 2>err && grep -q "nothing to draw" err
'
expect "negative and non-numeric counts are skipped with one warning that counts them" '
	printf "a;b -5\na;c xyz\na;d 3\na;e\n\na;f 1e400\n" >in.folded &&
	"$KILN" flame in.folded >out.svg 2>err && xmllint --noout out.svg &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "skipped 4 malformed lines (first at line 1); negative counts" err &&
	grep -q "<title>d (3 samples, 100.00%)</title>" out.svg && ! grep -q "<title>[bcef] (" out.svg
'
expect "a truncated last line: complete lines drawn, the cut one counted as malformed or used" '
	printf "a;b 10\na;c 5" >whole && "$KILN" flame whole >w.svg 2>err && [ ! -s err ] &&
	grep -q "<title>c (5 samples" w.svg &&
	printf "a;b 10\na;c;d" >cut && "$KILN" flame cut >c.svg 2>err && xmllint --noout c.svg &&
	grep -q "skipped 1 malformed line (first at line 2)" err && grep -q "<title>b (10 samples, 100.00%)" c.svg
'
expect "invalid UTF-8 and XML specials in names give valid XML" '
	printf "main;\\xff\\xfe bad;\\xc3\\x28 4\nmain;<script>alert(1)</script> 2\nmain;a&b\"c'"'"'d 1\nmain;\\xef\\xbf\\xbe;\\x01ctl 1\n" >in.folded &&
	"$KILN" flame in.folded >out.svg && xmllint --noout out.svg &&
	grep -q "&lt;script&gt;alert(1)&lt;/script&gt;" out.svg && ! grep -q "<script>alert" out.svg &&
	grep -q "a&amp;b&quot;c&apos;d" out.svg && grep -q "$(printf "\\xef\\xbf\\xbd")" out.svg
'
expect "a 10 MB line: one huge name, and 2 million frames deep; SVGs stay small and valid" '
	python3 -c "import sys; sys.stdout.write(\"main;\" + \"x\" * 10000000 + \" 5\nmain;ok 5\n\")" >name.folded &&
	"$KILN" flame name.folded >name.svg && xmllint --noout name.svg &&
	[ "$(stat -c %s name.svg)" -lt 100000 ] && grep -q "<title>ok (5 samples" name.svg &&
	python3 -c "import sys; sys.stdout.write(\";\".join([\"abcd\"] * 2000000) + \" 3\n\")" >deep.folded &&
	"$KILN" flame deep.folded >deep.svg 2>err && xmllint --noout --huge deep.svg &&
	[ "$(stat -c %s deep.svg)" -le 2097152 ] && grep -q "drew the widest" err
'
expect "-o: a failed run leaves the existing file untouched" '
	printf "a;b 1\n" >good && "$KILN" flame good -o out.svg && cp out.svg before.svg &&
	printf "x\n" >bad && check_exit 1 "$KILN" flame bad -o out.svg 2>err &&
	cmp out.svg before.svg && [ "$(ls | grep -c tmp)" -eq 0 ]
'
expect "-o: a run killed while reading leaves no file and no temporary file" '
	mkfifo fifo &&
	{ "$KILN" flame fifo -o out.svg 2>err & pid=$!; } &&
	exec 3>fifo && printf "a;b 1\na;c 2\n" >&3 && sleep 0.3 &&
	kill -TERM $pid && exec 3>&- && { wait $pid; true; } &&
	[ ! -e out.svg ] && [ "$(ls | grep -c tmp)" -eq 0 ]
'
expect "-o into a missing directory fails cleanly" '
	printf "a;b 1\n" >good && check_exit 1 "$KILN" flame good -o nodir/out.svg 2>err &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "nodir/out.svg" err
'
expect "a closed pipe or a full disk on stdout is an error, not a crash" '
	printf "a;b 1\n" >good &&
	{ [ ! -w /dev/full ] || { check_exit 1 "$KILN" flame good >/dev/full 2>err && grep -q "cannot write" err; }; }
'
finish
