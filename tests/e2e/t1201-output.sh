#!/usr/bin/env bash
# t1201-output: every command's output file (-o, --export-*, --save-baseline) through the
# shared output helper: a character device stays a device, a FIFO's reader gets the bytes,
# a symbolic link stays a link to the new content, an unwritable or missing directory is
# one line before any work, and a write error is reported once.
#
# The device is a private copy of /dev/null (mknod c 1 3 in the scratch directory), so
# that a regression destroys a scratch node rather than the machine's /dev/null.
. "$(dirname "$0")/lib.sh"

# setup: inputs for every command in the current directory.
setup() {
	printf 'main;a;b 30\nmain;a;c 20\nmain;d 10\n' >x.folded &&
	printf 'main;a;b 10\nmain;a;c 20\nmain;d 30\n' >y.folded &&
	printf 'prog 1 1.0: 1 cpu-clock:\n\t1 b (/bin/prog)\n\t2 main (/bin/prog)\n\n' >x.perf &&
	"$KILN" heap -q -o h.prof -- "$WORKLOADS/heap_known" >/dev/null
}
# write KIND OUT: runs the command KIND writing its output file to OUT.
write() {
	case $1 in
	flame) "$KILN" flame x.folded -o "$2" ;;
	diff) "$KILN" diff x.folded y.folded -o "$2" ;;
	diff-folded) "$KILN" diff --folded x.folded y.folded -o "$2" ;;
	collapse) "$KILN" collapse x.perf -o "$2" ;;
	heap-chart) "$KILN" heap chart h.prof -o "$2" ;;
	bench-json) "$KILN" bench -N -r 2 --export-json "$2" true ;;
	bench-baseline) "$KILN" bench -N -r 2 --save-baseline "$2" true ;;
	bench-csv) "$KILN" bench -N -r 2 --export-csv "$2" true ;;
	bench-md) "$KILN" bench -N -r 2 --export-markdown "$2" true ;;
	stat) "$KILN" stat -o "$2" -- true ;;
	stat-json) "$KILN" stat --json -o "$2" -- true ;;
	esac
}
# looks_right KIND FILE: FILE holds what KIND writes.
looks_right() {
	case $1 in
	flame | diff | heap-chart) grep -q "</svg>" "$2" ;;
	diff-folded) grep -q "^main;d 10 30$" "$2" ;;
	collapse) grep -q "^prog;main;b 1$" "$2" ;;
	bench-json | bench-baseline | stat-json) python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$2" ;;
	bench-csv) grep -q "^command," "$2" ;;
	bench-md) grep -q "^| Command" "$2" ;;
	stat) grep -q "wall" "$2" ;;
	esac
}
export -f setup write looks_right
KINDS="flame diff diff-folded collapse heap-chart bench-json bench-baseline bench-csv bench-md stat stat-json"

for k in $KINDS; do
	expect "$k: a regular file is written whole, its permissions kept" "
		setup && echo old >out && chmod 640 out && write $k out 2>err && looks_right $k out &&
		[ \"\$(stat -c %a out)\" = 640 ] && ! ls | grep -q tmp
	"
done

if ! mknod "$SCRATCH/probe" c 1 3 2>/dev/null; then
	skip "-o a character device" "cannot make a device node here (mknod)"
else
	for k in $KINDS; do
		expect "$k: -o a character device (a copy of /dev/null) writes to it, it stays a device" "
			setup && mknod null c 1 3 && write $k null 2>err && [ -c null ] &&
			[ \"\$(stat -c %t,%T null)\" = 1,3 ] && [ ! -s err ] && ! ls | grep -q tmp
		"
	done
fi

# record and heap write their profile as they go (profile_io.c's writer, not the helper):
# a device or FIFO is written in place there too, and never removed.
if mknod "$SCRATCH/probe2" c 1 3 2>/dev/null; then
	expect "record -o and heap -o a character device: written to, it stays a device" '
		mknod null c 1 3 && "$KILN" record -q -o null -- true 2>err && [ -c null ] &&
		"$KILN" heap -q -o null -- true 2>>err && [ -c null ] && [ "$(stat -c %t,%T null)" = 1,3 ]
	'
fi
expect "record -o and heap -o a FIFO: the reader gets a kiln profile" '
	mkfifo fifo && { cat fifo >got & } && "$KILN" record -q -o fifo -- true 2>err && wait &&
	[ -p fifo ] && [ "$(head -c 8 got)" = KILNPROF ] &&
	{ cat fifo >got2 & } && "$KILN" heap -q -o fifo -- true 2>>err && wait &&
	[ "$(head -c 8 got2)" = KILNPROF ]
'

for k in $KINDS; do
	expect "$k: -o a FIFO: the reader gets the bytes, the FIFO stays" "
		setup && mkfifo fifo && { cat fifo >got & } && write $k fifo 2>err && wait &&
		[ -p fifo ] && looks_right $k got && ! ls | grep -q tmp
	"
done

for k in $KINDS; do
	expect "$k: -o a symbolic link writes the file it points to and keeps the link" "
		setup && mkdir d && echo old >d/real && ln -s d/real link && write $k link 2>err &&
		[ -L link ] && [ \"\$(readlink link)\" = d/real ] && looks_right $k d/real &&
		! ls d | grep -q tmp
	"
done

expect "a dangling symbolic link is refused in one line, and nothing is created" '
	setup && ln -s nowhere.svg dang && check_exit 1 "$KILN" flame x.folded -o dang 2>err &&
	[ "$(wc -l <err)" = 1 ] && grep -q "symbolic link to a file that does not exist" err &&
	[ ! -e nowhere.svg ]
'

for k in $KINDS; do
	expect "$k: a missing directory is one line naming it" "
		setup && check_exit 1 write $k nodir/out 2>err && [ \"\$(wc -l <err)\" = 1 ] &&
		grep -q \"directory 'nodir' does not exist\" err
	"
done
expect "an output path that is a directory is one line" '
	setup && mkdir dir && check_exit 1 "$KILN" flame x.folded -o dir 2>err &&
	[ "$(wc -l <err)" = 1 ] && grep -q "it is a directory" err
'

# Root writes anywhere: an immutable directory (chattr +i) is one that root cannot write.
if ! { mkdir -p "$SCRATCH/imm" && chattr +i "$SCRATCH/imm" 2>/dev/null; }; then
	skip "an unwritable directory is found before the work" "chattr +i does not work here"
else
	chattr -i "$SCRATCH/imm"
	expect "bench --export-json / --save-baseline into an unwritable directory: one line, nothing run" '
		mkdir ro && chattr +i ro &&
		check_exit 1 "$KILN" bench -N -r 2 --export-json ro/r.json "touch ran" 2>err1;
		r1=$?;
		check_exit 1 "$KILN" bench -r 2 --save-baseline ro/b.json "touch ran2" 2>err2;
		r2=$?;
		chattr -i ro;
		[ $r1 = 0 ] && [ $r2 = 0 ] && [ ! -e ran ] && [ ! -e ran2 ] &&
		[ "$(wc -l <err1)" = 1 ] && grep -q "cannot write '\''ro/r.json'\'': no permission to create files in '\''ro'\''" err1 &&
		[ "$(wc -l <err2)" = 1 ] && grep -q "ro/b.json" err2
	'
	expect "stat -o into an unwritable directory: one line, the command is not run" '
		mkdir ro && chattr +i ro && check_exit 1 "$KILN" stat -o ro/s.txt -- touch ran 2>err;
		r=$?; chattr -i ro;
		[ $r = 0 ] && [ ! -e ran ] && [ "$(wc -l <err)" = 1 ] && grep -q "ro/s.txt" err
	'
	expect "flame, diff, collapse, heap chart into an unwritable directory: one line each" '
		setup && mkdir ro && chattr +i ro && bad=0;
		for k in flame diff collapse heap-chart; do
			check_exit 1 write $k ro/out 2>err.$k && [ "$(wc -l <err.$k)" = 1 ] &&
			grep -q "no permission" err.$k || bad=1;
		done;
		chattr -i ro; [ $bad = 0 ]
	'
fi

# A write error on standard output is one line, not one from the command and one from
# the final check of stdout.
if [ -w /dev/full ]; then
	expect "write errors on standard output are reported once" '
		setup && awk "BEGIN { for (i = 0; i < 3000; i++) printf \"main;f%d;g%d %d\\n\", i, i, i + 1 }" >big.folded &&
		bad=0;
		for c in "report --json big.folded" "report --tree --percent-limit 0 big.folded" "flame x.folded" "diff x.folded y.folded" "diff --folded x.folded y.folded" \
			 "diff --top 5 x.folded y.folded" "collapse x.perf" "report x.folded" \
			 "report --tree x.folded" "report --json x.folded" "heap report h.prof" \
			 "heap chart h.prof" "heap histogram h.prof" "bench -N -r 2 true" \
			 "stat --json -- true" "--help" "flame --help"; do
			"$KILN" $c >/dev/full 2>err; rc=$?;
			if [ $rc = 0 ] || [ "$(wc -l <err)" != 1 ] || ! grep -q "cannot write" err; then
				echo "kiln $c: exit $rc, stderr:"; cat err; bad=1;
			fi;
		done; [ $bad = 0 ]
	'
else
	skip "write errors on standard output are reported once" "no /dev/full"
fi

finish
