#!/usr/bin/env bash
# t2401-lock-attach: kiln lock -p PID on running programs: the known-contention workload
# t1803 uses (four threads on one mutex with a known hold, a mutex one thread takes
# alone), started first and attached to, with its work done entirely while kiln traces
# (LOCK_CONTEND_ATTACH=1: it waits for the uprobes), so counts are exact; real programs
# (sqlite3, xz -T2) fed through a FIFO once kiln's probes are in; duration and Ctrl-C;
# bad input (no such process, a static binary, no permission, usage).
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || [ ! -e /sys/bus/event_source/devices/uprobe/type ]; then
	skip "kiln lock -p" "needs root and uprobes"
	finish
	exit $?
fi

. "$(dirname "$0")/lib_lock.sh"

expect "-p on a running program: exact acquisitions, contention found with its stack, the other mutex never contended, total wait within 20% of the truth" '
	LOCK_CONTEND_ATTACH=1 "$WORKLOADS/lock_contend" 50 1000 2>w.err & pid=$!
	"$KILN" lock -p $pid --json -o l.prof >o.json 2>err; rc=$?
	wait $pid; wrc=$?
	[ $rc = 0 ] && [ $wrc = 0 ] || { cat err w.err; exit 1; }
	grep -q "^attached" w.err &&
	truth=$(sed -n "s/.*hot_wait_ns \([0-9]*\).*/\1/p" w.err) && [ -n "$truth" ] &&
	hold=$(sed -n "s/.*hot_hold_ns \([0-9]*\).*/\1/p" w.err) &&
	echo "hot: $(lget o.json "L[\"hot_section mutex\"]") truth wait $truth hold $hold" &&
	[ "$(lget o.json "L[\"hot_section mutex\"][\"acquisitions\"]")" = 200 ] &&
	[ "$(lget o.json "L[\"hot_section mutex\"][\"contended\"]")" -gt 0 ] &&
	within "$(lget o.json "L[\"hot_section mutex\"][\"wait_ns\"]")" "$truth" 20 &&
	within "$(lget o.json "L[\"hot_section mutex\"][\"hold_ns\"]")" "$hold" 20 &&
	lget o.json "[s[\"stack\"] for s in L[\"hot_section mutex\"][\"stacks\"] if s[\"what\"]==\"wait\"][0]" >ws &&
	grep -q "hot_section" ws && grep -q "worker" ws &&
	[ "$(lget o.json "L[\"cold_section mutex\"][\"acquisitions\"]")" = 1000 ] &&
	[ "$(lget o.json "L[\"cold_section mutex\"][\"contended\"]")" = 0 ] &&
	[ "$(lget o.json "L[\"cold_section mutex\"][\"wait_ns\"]")" = 0 ] &&
	[ "$(lget o.json "d[\"processes\"]")" = 1 ]
'
expect "-p: condition waits apart from contention, rwlock readers and writers, and a thread started after attaching" '
	LOCK_CONTEND_ATTACH=1 "$WORKLOADS/lock_contend" 10 100 2>w.err & pid=$!
	"$KILN" lock -p $pid --hold-stacks 0 --json >o.json 2>err; rc=$?
	wait $pid
	[ $rc = 0 ] || { cat err w.err; exit 1; }
	# the condition-variable mutex: main takes it 10 times, the signaller (started after
	# kiln attached) 10 times; with every hold'"'"'s stack kept, its own shows
	# (the signaller can find the mutex held by main between a wake-up and its unlock:
	# a real contention, likelier with -p, whose probes lengthen every hold; but the
	# waits for the signal, 2 ms or more each, are condition waits, not lock waits)
	echo "cv mutex: $(lget o.json "[(l[\"acquisitions\"], l[\"contended\"], l[\"wait_ns\"], l[\"cond_waits\"], l[\"cond_wait_ns\"]) for l in d[\"locks\"] if l[\"cond_waits\"]][0]")" &&
	[ "$(lget o.json "[l for l in d[\"locks\"] if l[\"cond_waits\"]][0][\"cond_waits\"]")" = 10 ] &&
	[ "$(lget o.json "[l[\"cond_wait_ns\"] >= 15e6 and l[\"wait_ns\"] < l[\"cond_wait_ns\"] / 4 for l in d[\"locks\"] if l[\"cond_waits\"]][0]")" = True ] &&
	[ "$(lget o.json "[l for l in d[\"locks\"] if l[\"cond_waits\"]][0][\"acquisitions\"]")" = 20 ] &&
	lget o.json "[l[\"stacks\"] for l in d[\"locks\"] if l[\"cond_waits\"]][0]" | grep -q "signaller" &&
	[ "$(lget o.json "(L[\"main rwlock\"][\"acquisitions\"], L[\"main rwlock\"][\"read_acquisitions\"])")" = "(110, 100)" ]
'
expect "-p: the text view and the profile are the same as the preload path (report, flame, diff read them)" '
	LOCK_CONTEND_ATTACH=1 "$WORKLOADS/lock_contend" 20 500 2>w.err & pid=$!
	"$KILN" lock -p $pid -o a.prof >o.txt 2>err; rc=$?
	wait $pid
	[ $rc = 0 ] || { cat err; exit 1; }
	grep -q "^mutex hot_section (lock_contend.c:[0-9]*)  \[pid $pid, 0x" o.txt &&
	grep -q "never contended" o.txt && grep -q "waited longest:" o.txt &&
	"$KILN" report -i a.prof --folded >f && grep -q "worker;hot_section;lock mutex hot_section" f &&
	"$KILN" report -i a.prof --value hold_ns --folded >h && [ -s h ] &&
	"$KILN" flame a.prof >w.svg && grep -q "<svg" w.svg &&
	"$KILN" lock -q -o b.prof -- "$WORKLOADS/lock_contend" 20 500 >/dev/null 2>&1 &&
	"$KILN" diff b.prof a.prof >d.txt && [ -s d.txt ]
'
expect "-p on sqlite3 started first and fed once attached: no errors, its locks counted" '
	mkfifo q.fifo
	sqlite3 :memory: <q.fifo >q.out 2>q.err & spid=$!
	exec 3>q.fifo
	"$KILN" lock -p $spid --json >s.json 2>s.err 3>&- & k=$!
	probed $spid 3>&- || { cat s.err; exit 1; }
	/usr/bin/python3 -c "
print(\"create table t(a integer primary key, b text);\")
print(\"begin;\")
for i in range(5000): print(f\"insert into t(b) values (\x27r{i}\x27);\")
print(\"commit;\")
print(\"select count(*) from t;\")" >&3
	exec 3>&-
	wait $spid; wait $k; rc=$?
	[ $rc = 0 ] && [ ! -s s.err ] && [ ! -s q.err ] && [ "$(cat q.out)" = 5000 ] || { cat s.err q.err; exit 1; }
	echo "sqlite3: $(lget s.json "[(l[\"lock\"], l[\"acquisitions\"]) for l in d[\"locks\"]]")" &&
	[ "$(lget s.json "sum(l[\"acquisitions\"] for l in d[\"locks\"])")" -gt 5000 ]
'
expect "-p on xz -T2 started first and fed once attached: its threads (started after) counted, no errors, output intact" '
	head -c 3000000 /dev/urandom >in.bin
	mkfifo x.fifo
	xz -T2 -1 -c <x.fifo >out.xz 2>x.err & xpid=$!
	exec 4>x.fifo
	"$KILN" lock -p $xpid --json >x.json 2>k.err 4>&- & k=$!
	probed $xpid 4>&- || { cat k.err; exit 1; }
	cat in.bin >&4
	exec 4>&-
	wait $xpid; wait $k; rc=$?
	[ $rc = 0 ] && [ ! -s k.err ] && [ ! -s x.err ] || { cat k.err x.err; exit 1; }
	xz -dc out.xz | cmp - in.bin &&
	echo "xz: $(lget x.json "[(l[\"lock\"], l[\"acquisitions\"], l[\"contended\"], l[\"cond_waits\"]) for l in d[\"locks\"]]")" &&
	[ "$(lget x.json "sum(l[\"acquisitions\"] for l in d[\"locks\"])")" -gt 0 ] &&
	[ "$(lget x.json "sum(l[\"cond_waits\"] for l in d[\"locks\"])")" -gt 0 ]
'
expect "-p stops at --duration and at Ctrl-C (SIGINT), with what it saw" '
	"$WORKLOADS/lock_contend" 10000000 1 2>/dev/null & pid=$!
	"$KILN" lock -p $pid -d 1 --json >d.json 2>err; rc=$?
	[ $rc = 0 ] || { kill $pid; cat err; exit 1; }
	[ "$(lget d.json "L[\"hot_section mutex\"][\"acquisitions\"] > 0")" = True ] || { kill $pid; exit 1; }
	"$KILN" lock -p $pid --json >i.json 2>err2 & k=$!
	probed $pid; kill -INT $k; wait $k; rc=$?
	# kiln stopped for the signal: the program still runs
	kill -0 $pid; alive=$?
	kill $pid; wait $pid 2>/dev/null
	[ $rc = 0 ] && [ $alive = 0 ] || { echo "rc $rc alive $alive"; cat err2; exit 1; }
	[ "$(lget i.json "L[\"hot_section mutex\"][\"acquisitions\"] > 0")" = True ]
'
expect "-p of a missing process, of a static binary: one line, exit 1" '
	check_exit 1 "$KILN" lock -p 999999999 2>e1 && [ "$(wc -l <e1)" -eq 1 ] && grep -q "no process with pid 999999999" e1 || exit 1
	"$WORKLOADS/lock_static" 30 & sp=$!
	sleep 0.2
	check_exit 1 "$KILN" lock -p $sp 2>e2; rc=$?
	kill $sp; wait $sp 2>/dev/null
	[ $rc = 0 ] && [ "$(wc -l <e2)" -eq 1 ] && grep -q "statically linked" e2
'
expect "-p without permission: one line that says root is needed, exit 1" '
	command -v setpriv >/dev/null || exit 0
	sleep 30 & p=$!
	setpriv --reuid=65534 --regid=65534 --clear-groups sleep 30 & q=$!
	sleep 0.2
	check_exit 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$KILN" lock -p $p 2>e1; r1=$?
	check_exit 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$KILN" lock -p $q 2>e2; r2=$?
	kill $p $q; wait 2>/dev/null
	[ $r1 = 0 ] && [ $r2 = 0 ] && cat e1 e2 &&
	[ "$(wc -l <e1)" -eq 1 ] && [ "$(wc -l <e2)" -eq 1 ] && grep -q "needs root" e1 && grep -q "needs root" e2
'
expect "usage: -p with a command, --duration without -p, a bad pid: exit 2" '
	check_exit 2 "$KILN" lock -p 1 -- true 2>e1 && check_exit 2 "$KILN" lock -d 1s -- true 2>e2 &&
	check_exit 2 "$KILN" lock -p abc 2>e3 && grep -q "either" e1 && grep -q "duration" e2
'
finish
