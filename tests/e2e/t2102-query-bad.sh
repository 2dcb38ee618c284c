#!/usr/bin/env bash
# t2102-query-bad: what kiln query and the local store do with bad input and bad luck:
# a malformed time or label, a missing store, a store from a newer kiln, garbage or a
# truncated file as the database, a read-only store, a writer killed with SIGKILL in the
# middle of a window, a full disk. One clear line, a non-zero exit, the store intact.
. "$(dirname "$0")/lib.sh"

(cd "$SCRATCH" && "$KILN" record -q -F 999 -o rec.prof -- "$WORKLOADS/shares" 1500) >/dev/null 2>"$SCRATCH/rec.err" ||
	{ cat "$SCRATCH/rec.err"; exit 1; }
S="$SCRATCH/store"
"$KILN" query --store "$S" --import "$SCRATCH/rec.prof" --at 2026-01-01T10:00:00Z 2>"$SCRATCH/imp.err" ||
	{ cat "$SCRATCH/imp.err"; exit 1; }
export S V="$SCRATCH"
# whole STORE: every window holds the samples it says it holds (sqlite3's own reading)
whole() {
	local bad
	bad=$(sqlite3 "$1/kiln-store.db" "SELECT count(*) FROM win w WHERE samples != \
(SELECT total(samples) FROM sample s WHERE s.win = w.id); PRAGMA integrity_check;" | tr '\n' ' ')
	[ "$bad" = "0 ok " ] || { echo "store $1: $bad" >&2; return 1; }
}
export -f whole

expect "a malformed time: one line naming it, exit 2" '
	for t in yesterday 2026-13-01 now+1h -5x "" 12abc; do
		check_exit 2 "$KILN" query --store "$S" --from "$t" 2>err || exit 1
		cat err
		grep -q "^kiln query: error: time .$t. is not understood" err && [ "$(grep -c error err)" = 1 ] || exit 1
	done
	check_exit 2 "$KILN" query --store "$S" --from -1h --to -2h 2>err && grep -q "after --from" err
'
expect "a malformed label: one line naming it, exit 2" '
	for l in noequals "9x=1" "=v" "a b=c"; do
		check_exit 2 "$KILN" query --store "$S" --where "$l" 2>err || exit 1
		cat err
		grep -q "^kiln query: error: label" err && grep -q -- "--where KEY=VALUE" err && [ "$(grep -c error err)" = 1 ] || exit 1
	done
	check_exit 2 "$KILN" query --store "$S" --import "$V/rec.prof" --label bad 2>err && grep -q "label .bad." err
'
expect "usage: no store, two stores, a URL as --store, options that do not go together" '
	check_exit 2 "$KILN" query 2>e1 && grep -q "give the store" e1 &&
	check_exit 2 "$KILN" query --store a --source b 2>e2 && grep -q "one of them" e2 &&
	check_exit 2 "$KILN" query --store clickhouse://h:8123/db 2>e3 && grep -q "with --source" e3 &&
	check_exit 2 "$KILN" query --store "$S" --folded --json 2>e4 &&
	check_exit 2 "$KILN" query --store "$S" --import x --from -1h 2>e5 &&
	check_exit 2 "$KILN" query --store "$S" --window 0 --import x 2>e6 && grep -q -- "--window" e6 &&
	check_exit 2 "$KILN" query --store "$S" extra 2>e7 && grep -q "unexpected argument" e7 &&
	"$KILN" query --help >h && grep -q "^examples:" h && grep -q -- "--where K=V" h
'
expect "a missing store: one line, exit 1, nothing created" '
	check_exit 1 "$KILN" query --store nosuch 2>err && cat err && [ "$(wc -l <err)" = 1 ] &&
	grep -q "^kiln: error: store directory .nosuch.: no such directory" err && [ ! -e nosuch ] &&
	mkdir empty && check_exit 1 "$KILN" query --store empty 2>err2 && grep -q "holds no store" err2 &&
	[ -z "$(ls empty)" ] &&
	check_exit 1 "$KILN" query --store "$V/rec.prof" 2>err3 && grep -q "is not a directory" err3
'
expect "a store from a newer kiln: refused in one line naming it and both versions, untouched" '
	cp -r "$S" newer && sqlite3 newer/kiln-store.db "PRAGMA user_version = 9" && sum1=$(md5sum <newer/kiln-store.db) &&
	check_exit 1 "$KILN" query --store newer 2>err && cat err && [ "$(wc -l <err)" = 1 ] &&
	grep -q "^kiln: error: store .newer. has format version 9, newer than this kiln reads (1): use a newer kiln" err &&
	check_exit 1 "$KILN" query --store newer --import "$V/rec.prof" 2>err2 && grep -q "format version 9" err2 &&
	[ "$(md5sum <newer/kiln-store.db)" = "$sum1" ]
'
expect "garbage as kiln-store.db: refused in one line, not overwritten" '
	mkdir g && head -c 100000 /dev/urandom >g/kiln-store.db && sum1=$(md5sum <g/kiln-store.db) &&
	check_exit 1 "$KILN" query --store g 2>err && cat err && [ "$(wc -l <err)" = 1 ] &&
	grep -q "is not a kiln store" err &&
	check_exit 1 "$KILN" query --store g --import "$V/rec.prof" 2>err2 && grep -q "is not a kiln store" err2 &&
	[ "$(md5sum <g/kiln-store.db)" = "$sum1" ] &&
	mkdir o && sqlite3 o/kiln-store.db "CREATE TABLE t(x)" && check_exit 1 "$KILN" query --store o 2>err3 &&
	grep -q "an SQLite database but not a kiln store" err3
'
expect "a truncated database: one line, exit 1, the file untouched" '
	cp -r "$S" tr && sqlite3 tr/kiln-store.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null &&
	size=$(stat -c %s tr/kiln-store.db) && truncate -s $((size / 2)) tr/kiln-store.db && sum1=$(md5sum <tr/kiln-store.db) &&
	check_exit 1 "$KILN" query --store tr 2>err && cat err && [ "$(wc -l <err)" = 1 ] &&
	grep -q "^kiln: error: .*damaged" err && [ "$(md5sum <tr/kiln-store.db)" = "$sum1" ]
'
expect "a store the user may only read: it reads; writing to it is refused in one line" '
	command -v setpriv >/dev/null || exit 0
	d=$(mktemp -d /tmp/kiln-ro.XXXXXX) && cp -r "$S" "$d/ro" && cp "$KILN" "$d/kiln" &&
	rm -f "$d"/ro/*-wal "$d"/ro/*-shm && chmod -R a+rX "$d" && chmod a-w "$d/ro" "$d/ro/kiln-store.db" || exit 1
	setpriv --reuid=65534 --regid=65534 --clear-groups "$d/kiln" query --store "$d/ro" --folded >f 2>err
	rc=$?
	check_exit 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$d/kiln" query --store "$d/ro" \
		--import "$V/rec.prof" 2>err2
	rc2=$?
	chmod 700 "$d/ro" && check_exit 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$d/kiln" query \
		--store "$d/ro" 2>err3
	rc3=$?
	rm -rf "$d"
	cat err err2 err3
	[ $rc = 0 ] && [ $rc2 = 0 ] && [ $rc3 = 0 ] && [ -s f ] && grep -q "cannot write to store .*permission denied" err2 &&
	grep -q "cannot read store .*permission denied" err3 && [ "$(wc -l <err3)" = 1 ]
'
expect "a writer killed with SIGKILL in the middle of a window: the store reads, every window whole, writing resumes" '
	cp -r "$S" k && before=$(sqlite3 k/kiln-store.db "SELECT count(*) FROM win") &&
	for round in 1 2 3; do
		# many small windows: the import is writing when the kill comes
		"$KILN" query --store k --import "$V/rec.prof" --at "2026-02-0${round}T10:00:00Z" --window 1ms 2>/dev/null &
		pid=$!
		sleep 0.$((round * 2))
		kill -9 $pid; wait $pid; echo "import exit $?"
		whole k || exit 1
		"$KILN" query --store k --folded >f 2>err || { cat err; exit 1; }
	done
	after=$(sqlite3 k/kiln-store.db "SELECT count(*) FROM win") && echo "windows $before -> $after" &&
	[ "$after" -gt "$before" ] &&
	"$KILN" query --store k --import "$V/rec.prof" --at 2026-03-01T10:00:00Z 2>err && whole k
'
expect "a full disk: the write fails in one line naming the store and the reason, the store stays whole" '
	mkdir full && mount -t tmpfs -o size=192k tmpfs full 2>/dev/null || { echo "# cannot mount a tmpfs: skipped"; exit 0; }
	"$KILN" query --store full/s --import "$V/rec.prof" --at 2026-01-01T10:00:00Z --window 2ms 2>err
	rc=$?
	cat err
	ok=1
	[ $rc = 1 ] && [ "$(wc -l <err)" = 1 ] && grep -q "cannot write to store .full/s.: the disk is full" err || ok=0
	whole full/s || ok=0
	"$KILN" query --store full/s --folded >f 2>err2 || { cat err2; ok=0; }
	n=$(sqlite3 full/s/kiln-store.db "SELECT count(*) FROM win"); echo "windows stored: $n"
	[ "$n" -gt 0 ] || ok=0
	umount full
	[ $ok = 1 ]
'
finish
