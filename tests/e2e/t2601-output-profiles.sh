#!/usr/bin/env bash
# t2601-output-profiles: the commands that write a whole kiln.prof at the end (lock -o,
# latency -o, query -o: kp_profile_save) and latency --svg treat the output path as
# t1201 checks for the others: a character device stays a device (a rename over it made
# /dev/null a regular file for root), a FIFO's reader gets the profile, a symbolic link
# stays a link to the new content with its permissions, and an unwritable path is one
# line before the program runs, not after; and kiln export's write errors on standard
# output are one line. (A FIFO reader has a timeout: the old rename left it waiting
# forever.)
#
# The device is a private copy of /dev/null (mknod c 1 3 in the scratch directory), so
# that a regression destroys a scratch node rather than the machine's /dev/null.
. "$(dirname "$0")/lib.sh"

# A store with one recording in it, for kiln query.
"$KILN" record -q -o "$SCRATCH/rec.prof" -- "$WORKLOADS/shares" 100 >/dev/null 2>"$SCRATCH/rec.err" &&
	"$KILN" query --store "$SCRATCH/store" --import "$SCRATCH/rec.prof" --at 2026-01-01T10:00:00Z \
		2>>"$SCRATCH/rec.err" || { cat "$SCRATCH/rec.err"; exit 1; }
export STORE="$SCRATCH/store"

# write KIND OUT [MARK]: runs the command KIND writing its profile to OUT (MARK: a file
# the program creates when it runs).
write() {
	local m=${3:-ran}
	case $1 in
	lock) "$KILN" lock -q -o "$2" -- sh -c "touch $m; exec \"\$0\" 4 50 2>/dev/null" "$WORKLOADS/lock_contend" >/dev/null ;;
	latency) "$KILN" latency write -q -o "$2" -- sh -c "touch $m; echo x" >/dev/null ;;
	latency-svg) "$KILN" latency write -q --svg "$2" -- sh -c "touch $m; echo x" >/dev/null ;;
	query) "$KILN" query --store "$STORE" --from 2026-01-01T09:00:00Z -o "$2" ;;
	esac
}
# looks_right KIND FILE: FILE holds what KIND writes
looks_right() {
	case $1 in
	latency-svg) grep -q "</svg>" "$2" ;;
	*) [ "$(head -c 8 "$2")" = KILNPROF ] && "$KILN" report -i "$2" >/dev/null ;;
	esac
}
export -f write looks_right
KINDS="lock latency latency-svg query"

for k in $KINDS; do
	expect "$k: a regular file is written whole, its permissions kept" "
		echo old >out && chmod 640 out && write $k out 2>err && looks_right $k out &&
		[ \"\$(stat -c %a out)\" = 640 ] && ! ls | grep -q tmp || { cat err; exit 1; }
	"
done

if ! mknod "$SCRATCH/probe" c 1 3 2>/dev/null; then
	skip "-o a character device" "cannot make a device node here (mknod)"
else
	for k in $KINDS; do
		expect "$k: -o a character device (a copy of /dev/null) writes to it, it stays a device" "
			mknod null c 1 3 && write $k null 2>err && [ -c null ] &&
			[ \"\$(stat -c %t,%T null)\" = 1,3 ] && [ ! -s err ] && ! ls | grep -q tmp || { ls -l; cat err; exit 1; }
		"
	done
fi

for k in $KINDS; do
	expect "$k: -o a FIFO: the reader gets the bytes, the FIFO stays" "
		mkfifo fifo && { timeout 60 cat fifo >got & } && write $k fifo 2>err && wait &&
		[ -p fifo ] && looks_right $k got && ! ls | grep -q tmp || { cat err; exit 1; }
	"
	expect "$k: -o a symbolic link writes the file it points to and keeps the link" "
		mkdir d && echo old >d/real && ln -s d/real link && write $k link 2>err &&
		[ -L link ] && [ \"\$(readlink link)\" = d/real ] && looks_right $k d/real &&
		! ls d | grep -q tmp || { cat err; exit 1; }
	"
	expect "$k: a missing directory is one line naming it, before the program runs" "
		check_exit 1 write $k nodir/out 2>err && [ \"\$(wc -l <err)\" = 1 ] &&
		grep -q \"directory 'nodir' does not exist\" err && [ ! -e ran ] || { cat err; exit 1; }
	"
done
# The class of fault: a rename() onto a path the user gave. Every rename in the sources is
# one of these, each audited: the output helper (regular files only), the .old of record
# and heap (a regular file only) and its restoring, the agent's spool (its own directory),
# the heap and lock files of the preload library (in /dev/shm, its own names). A new one
# belongs in util/output.c, or in this list once audited.
expect "every rename() in src/ is an audited one (the output helper decides for user paths)" '
	cd "$TOP" && grep -rnoE "\brename(at2?)?\(" --include="*.c" src | cut -d: -f1 | sort | uniq -c |
		awk "{ print \$2, \$1 }" >"$T/got"
	printf "%s\n" "src/lib/agent/agent.c 1" "src/lib/collect/record.c 1" "src/lib/profile/profile_io.c 1" \
		"src/lib/util/output.c 1" "src/preload/kh_lock.c 1" "src/preload/kh_shm.c 1" >"$T/want"
	diff -u "$T/want" "$T/got" >"$T/d" || { echo "rename() call sites changed (audit them):"; cat "$T/d"; exit 1; }
'

# kiln export's writers: a write error on standard output was reported twice for some
# formats (speedscope, chrome: once by export, once by the final check of stdout).
if [ -w /dev/full ]; then
	expect "export to a full standard output: one error line for every format" '
		"$KILN" record -q -o r.prof -- "$WORKLOADS/shares" 50 >/dev/null 2>&1 || exit 1
		bad=0
		for f in pprof speedscope firefox chrome folded json; do
			"$KILN" export -f $f r.prof >/dev/full 2>err; rc=$?
			if [ $rc = 0 ] || [ "$(grep -c error err)" != 1 ] || ! grep -q "cannot write to standard output: No space" err; then
				echo "export -f $f: exit $rc, stderr:"; cat err; bad=1
			fi
		done; [ $bad = 0 ]
	'
else
	skip "export to a full standard output" "no /dev/full"
fi
finish
