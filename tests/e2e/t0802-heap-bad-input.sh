#!/usr/bin/env bash
# t0802-heap-bad-input: programs LD_PRELOAD cannot reach, hostile programs, programs
# that die, kiln itself killed, and broken profile files.
. "$(dirname "$0")/lib.sh"

site_value() {
	awk -v f="$2" '{ n = $NF; $NF = ""; sub(/ $/, ""); k = split($0, a, ";"); if (a[k] == f) s += n } END { printf "%.0f\n", s + 0 }' "$1"
}
export -f site_value

expect "a statically linked program is refused before it runs" '
	check_exit 1 "$KILN" heap -o s.prof -- "$WORKLOADS/heap_static" ran 2>err &&
	grep -q "statically linked" err && [ "$(wc -l <err)" -eq 1 ] && [ ! -e ran ] && [ ! -e s.prof ]
'
expect "a set-user-ID program is refused before it runs" '
	id nobody >/dev/null 2>&1 || exit 0
	cp "$WORKLOADS/heap_known" suid && chown nobody suid && chmod 4755 suid || exit 1
	[ "$(id -u)" != "$(id -u nobody)" ] || exit 0
	check_exit 1 "$KILN" heap -o s.prof -- ./suid 2>err && grep -q "set-user-ID" err && [ ! -e s.prof ]
'
expect "a missing program exits 127, a directory 1, each with one line" '
	check_exit 127 "$KILN" heap -- no-such-program-kiln 2>err && grep -q "command not found" err &&
	[ "$(wc -l <err)" -eq 1 ] && check_exit 127 "$KILN" heap -- ./no-such-program 2>err1 &&
	grep -q "no such file" err1 && mkdir d && check_exit 1 "$KILN" heap -- ./d 2>err2 &&
	grep -q "directory" err2
'
expect "an unwritable output is an error before the program runs" '
	check_exit 1 "$KILN" heap -o /nonexistent/dir/x.prof -- sh -c "touch ran" 2>err &&
	grep -q "x.prof" err && [ ! -e ran ] || { cat err; exit 1; }
	check_exit 1 "$KILN" heap -o . -- "$WORKLOADS/heap_known" 2>err2 && grep -q "directory" err2
'
expect "a program that closes every descriptor and changes directory is recorded" '
	"$KILN" heap -q -o h.prof -- "$WORKLOADS/heap_hostile" exit || exit 1
	"$KILN" heap report h.prof --folded --value leaked_count >l && [ "$(site_value l after_close)" = 3 ] &&
	"$KILN" heap report h.prof --folded --value leaked_bytes >b && [ "$(site_value b after_close)" = 15000 ]
'
expect "_exit: its status is returned and the data kept" '
	check_exit 3 "$KILN" heap -q -o h.prof -- "$WORKLOADS/heap_hostile" _exit &&
	"$KILN" heap report h.prof --folded --value leaked_count >l && [ "$(site_value l after_close)" = 3 ]
'
for sig in abort:ABRT:134 kill:KILL:137 segv:SEGV:139; do
	mode=${sig%%:*} rest=${sig#*:} name=${rest%%:*} code=${rest#*:}
	expect "a program that dies of SIG$name: clear message, data kept" "
		check_exit $code \"\$KILN\" heap -o h.prof -- \"\$WORKLOADS/heap_hostile\" $mode 2>err || exit 1
		grep -q \"killed by signal [0-9]* (SIG$name); the profile holds everything up to then\" err || { cat err; exit 1; }
		\"\$KILN\" heap report h.prof --folded --value leaked_count >l && [ \"\$(site_value l after_close)\" = 3 ] &&
		\"\$KILN\" heap report h.prof >rep && grep -q \"^ended         signal [0-9]* (SIG$name)\" rep
	"
done
expect "kiln stopped (SIGSTOP): the program does not wait for it, finishes, and the profile loads" '
	"$WORKLOADS/heap_bench" 30000000 >want || exit 1
	"$KILN" heap -q -o big.prof -- "$WORKLOADS/heap_bench" 30000000 >got &
	kp=$!
	for i in $(seq 200); do [ -s big.prof ] && [ "$(stat -c %s big.prof)" -gt 200 ] && break; sleep 0.05; done
	sleep 0.3
	bp=$(pgrep -P $kp heap_bench)
	kill -STOP $kp
	[ -n "$bp" ] || { kill -CONT $kp; wait $kp; echo "the program ended before kiln was stopped"; exit 0; }
	# with its reader silent, the library stops recording within seconds: the program
	# runs on to its normal end with its normal output
	for i in $(seq 300); do [ "$(ps -o stat= -p $bp 2>/dev/null | cut -c1)" = Z ] && break; kill -0 $bp 2>/dev/null || break; sleep 0.1; done
	st=$(ps -o stat= -p $bp 2>/dev/null | cut -c1)
	kill -CONT $kp
	[ -z "$st" ] || [ "$st" = Z ] || { kill -KILL $bp; echo "the program hung ($st)"; exit 1; }
	wait $kp
	cmp want got || exit 1
	"$KILN" heap report big.prof >rep 2>err || { cat err; exit 1; }
'
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
expect "a full session file system: the program runs on normally (no SIGBUS)" '
	"$WORKLOADS/heap_bench" 2000000 >want || exit 1
	for size in 1m 6m; do
		unshare -m sh -c "mount -t tmpfs -o size=$size none /mnt && mkdir /mnt/s &&
			KILN_HEAP_DIR=/mnt/s LD_PRELOAD=$BUILD/libkiln-heap.so $WORKLOADS/heap_bench 2000000" >got 2>err ||
			{ echo "size $size: exit $?"; cat err; exit 1; }
		cmp want got && [ ! -s err ] || exit 1
	done
'
expect "the output file system fills up: error, exit 1, the program runs to its end" '
	py=/usr/bin/python3; [ -x $py ] || py=$(command -v python3)
	# python3 makes a profile of some 8 to 12 KiB: more than 4 KiB holds
	unshare -m sh -c "mount -t tmpfs -o size=4k none /mnt &&
		\"$KILN\" heap -o /mnt/p.prof -- $py -c \"print(6 * 7)\" >$T/out; echo \$?" >rc 2>err
	grep -qx 42 out || exit 1
	[ "$(cat rc)" = 1 ] && grep -q "No space left\|no space" err && grep -q "incomplete" err &&
	! grep -q "wrote" err || { cat rc err; exit 1; }
'
else
	skip "a full session file system" "needs root and unshare -m to mount a small tmpfs"
fi
expect "report on bad files: missing, directory, garbage, folded text, truncated" '
	check_exit 1 "$KILN" heap report nothing.prof 2>e1 && grep -q "nothing.prof" e1 &&
	mkdir dir && check_exit 1 "$KILN" heap report dir 2>e2 && grep -q "dir" e2 &&
	head -c 5000 /dev/urandom >junk && check_exit 1 "$KILN" heap report junk 2>e3 &&
	printf "main;work 10\n" >f.folded && check_exit 1 "$KILN" heap report f.folded 2>e4 &&
	grep -q "not a heap profile" e4 || exit 1
	"$KILN" heap -q -o k.prof -- "$WORKLOADS/heap_known" || exit 1
	size=$(stat -c %s k.prof)
	for cut in 20 100 $((size / 2)) $((size - 10)); do
		head -c $cut k.prof >cut.prof
		"$KILN" heap report cut.prof >/dev/null 2>err; rc=$?
		[ $rc -le 1 ] || { echo "cut at $cut: exit $rc"; exit 1; }
		"$KILN" heap chart cut.prof >/dev/null 2>&1; [ $? -le 1 ] || exit 1
		"$KILN" heap histogram cut.prof >/dev/null 2>&1; [ $? -le 1 ] || exit 1
	done
'
expect "a profile of another kind is not a heap profile" '
	printf "a;b 3\n" >x.folded && check_exit 1 "$KILN" heap chart x.folded 2>err && grep -q "not a heap profile" err
'
finish
