#!/usr/bin/env bash
# t0102-collapse-badinput: kiln collapse on bad input (clear one-line errors, counted
# warnings, never a crash or a half-written file), and on real `perf script` output.
. "$(dirname "$0")/lib.sh"
PEER="$DATA/flamegraph-collapse"
VERTX="$PEER/inputs/perf-vertx-stacks-01.txt"
export PEER VERTX

expect "a missing file: one-line error, exit 1" '
	check_exit 1 "$KILN" collapse nosuch.txt >out 2>err && [ ! -s out ] &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "cannot open '"'"'nosuch.txt'"'"': no such file" err
'
expect "a directory: one-line error, exit 1" '
	mkdir d && check_exit 1 "$KILN" collapse d >out 2>err && [ ! -s out ] &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "directory" err
'
expect "an unreadable file: one-line error, exit 1" '
	[ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null || exit 0
	cp "$VERTX" f.txt && chmod 000 f.txt && chmod 755 . &&
	check_exit 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$KILN" collapse f.txt >out 2>err &&
	grep -q "permission denied" err
'
expect "binary garbage: one-line error, exit 1, no output" '
	head -c 100000 /dev/urandom >garbage &&
	check_exit 1 "$KILN" collapse garbage >out 2>err && [ ! -s out ] &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "does not look like .perf script. output" err
'
expect "binary garbage with -o: no output file, no temporary left" '
	head -c 100000 /dev/urandom >garbage &&
	check_exit 1 "$KILN" collapse -o out.folded garbage 2>err &&
	[ ! -e out.folded ] && [ "$(ls | wc -l)" -eq 2 ]
'
expect "-o keeps an existing file when the input is bad" '
	echo keep >out.folded && check_exit 1 "$KILN" collapse -o out.folded nosuch 2>err &&
	[ "$(cat out.folded)" = keep ]
'
expect "-o into a missing directory: one-line error, exit 1" '
	check_exit 1 "$KILN" collapse -o nodir/out.folded "$VERTX" 2>err &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "nodir/out.folded" err
'
expect "a truncated last line: the rest is collapsed, one warning, exit 0" '
	head -c 500000 "$VERTX" >cut.txt && tail -c 20 cut.txt | grep -qv "^$" &&
	"$KILN" collapse cut.txt >out 2>err && [ -s out ] && [ "$(wc -l <err)" -le 1 ] &&
	awk "{ s += \$NF } END { exit !(s > 100) }" out && grep -q "skipped 1 line" err
'
expect "junk lines among good ones: skipped with one counted warning" '
	{ head -n 1000 "$VERTX"; echo "this is junk"; printf "\x01\x02\x03 junk\n"; tail -n +1001 "$VERTX"; } >j.txt &&
	"$KILN" collapse j.txt >out 2>err && [ "$(wc -l <err)" -eq 1 ] &&
	grep -q "skipped 2 lines" err && grep -q "first: line 1001" err
'
expect "a 10 MB line: skipped with a warning, output otherwise identical" '
	{ head -n 2000 "$VERTX"; head -c 10000000 /dev/zero | tr "\0" x; echo; tail -n +2001 "$VERTX"; } >big.txt &&
	"$KILN" collapse --pid big.txt >out 2>err &&
	"$KILN" collapse --pid "$VERTX" >want && cmp out want && grep -q "skipped 1 line" err
'
expect "a 10 MB symbol: kept whole" '
	{ echo "prog 1 1.0: cycles:"; printf "\t1 "; head -c 10000000 /dev/zero | tr "\0" s; echo " (/bin/prog)"; echo; } >bigsym.txt &&
	"$KILN" collapse bigsym.txt >out 2>err && [ "$(wc -c <out)" -eq $((10000000 + 8)) ] # "prog;" NAME " 1\n"
'
expect "invalid UTF-8 in names passes through byte for byte" '
	printf "prog 1 1.0: cycles:\n\t1 f\xff\xfe\xc3 (/bin/p\xe9)\n\t2 [unknown] (/lib/\xc0\xafx.so)\n\n" >u.txt &&
	"$KILN" collapse u.txt >out 2>err && printf "prog;[\xc0\xafx.so];f\xff\xfe\xc3 1\n" >want && cmp out want
'
expect "empty input: empty output, exit 0, nothing on stderr" '
	: >empty.txt && "$KILN" collapse empty.txt >out 2>err && [ ! -s out ] && [ ! -s err ] &&
	"$KILN" collapse - </dev/null >out 2>err && [ ! -s out ] && [ ! -s err ]
'
expect "only comments: empty output, a warning, exit 0" '
	head -n 20 "$PEER/inputs/perf-funcab-cmd-01.txt" | grep "^#" >c.txt &&
	"$KILN" collapse c.txt >out 2>err && [ ! -s out ] && grep -q "no samples" err
'
expect "a truncated .gz: what it holds, one warning, exit 0" '
	gzip -c "$VERTX" | head -c 20000 >cut.gz &&
	"$KILN" collapse cut.gz >out 2>err && [ -s out ] && grep -q "truncated" err
'
expect "a truncated .zst: what it holds, a warning, exit 0" '
	command -v zstd >/dev/null || exit 0
	zstd -q -c "$VERTX" | head -c 5000 >cut.zst &&
	"$KILN" collapse cut.zst >out 2>err && grep -q "truncated" err
'
expect "a corrupt .gz: one-line error, exit 1, no output" '
	{ gzip -c "$VERTX" | head -c 100; head -c 5000 /dev/urandom; } >bad.gz &&
	check_exit 1 "$KILN" collapse bad.gz >out 2>err && [ ! -s out ] &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "not valid gzip" err
'
expect "an unknown option: exit 2 with a usage hint" '
	check_exit 2 "$KILN" collapse --frob "$VERTX" >out 2>err && [ ! -s out ] &&
	grep -q "unknown option .--frob." err && grep -q "kiln collapse --help" err
'
expect "two input files: usage error, exit 2" '
	check_exit 2 "$KILN" collapse "$VERTX" "$VERTX" >out 2>err && grep -q "one input" err
'
expect "--help: usage, options and an example on stdout, exit 0" '
	"$KILN" collapse --help >out 2>err && [ ! -s err ] && grep -q "^usage: kiln collapse" out &&
	grep -q -- "--pid" out && grep -q -- "--addrs" out && grep -q "perf script | kiln collapse" out &&
	"$KILN" help collapse >out2 && cmp out out2
'

# Real perf script output of a program with a known call chain.
if ! command -v perf >/dev/null; then
	skip "perf record + kiln collapse on a real program" "perf is not installed"
elif ! perf_record -q -e cpu-clock -o "$SCRATCH/probe.data" true >/dev/null; then
	skip "perf record + kiln collapse on a real program" "perf record fails here (perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null))"
else
	expect "perf record -g + perf script + kiln collapse show the workload's call chain" '
		perf_record -q -g -e cpu-clock -F 499 -o perf.data "$WORKLOADS/collapse_chain" 400 &&
		perf script -i perf.data >perf.txt 2>/dev/null && gzip -k perf.txt &&
		"$KILN" collapse perf.txt >out 2>err && [ ! -s err ] &&
		grep -q "^collapse_chain;.*main;chain_outer;chain_middle;chain_inner [0-9]*$" out &&
		awk "/chain_inner [0-9]+\$/ { s += \$NF } { t += \$NF } END { exit !(s > t / 2) }" out &&
		"$KILN" collapse perf.txt.gz >outgz && cmp out outgz &&
		"$KILN" collapse --tid --all perf.txt >tid && grep -q "^collapse_chain-[?0-9]*/[0-9]*;" tid
	'
fi
finish
