#!/usr/bin/env bash
# t1803-lock: kiln lock on a workload with known contention (four threads on one mutex
# with a known hold time, a mutex one thread takes alone, condition waits, a rwlock and
# a spinlock), fork children, real programs (sqlite3, xz -T2), the profile, bad input.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/lib_lock.sh"

expect "four threads on one mutex: exact acquisitions, contention found with its stack, total wait within 20% of the truth" '
	"$KILN" lock --json -- "$WORKLOADS/lock_contend" 50 1000 >o.json 2>err || { cat err; exit 1; }
	truth=$(sed -n "s/.*hot_wait_ns \([0-9]*\).*/\1/p" err) && [ -n "$truth" ] &&
	[ "$(lget o.json "L[\"hot_section mutex\"][\"acquisitions\"]")" = 200 ] &&
	[ "$(lget o.json "L[\"hot_section mutex\"][\"contended\"]")" -gt 0 ] &&
	within "$(lget o.json "L[\"hot_section mutex\"][\"wait_ns\"]")" "$truth" 20 &&
	lget o.json "[s[\"stack\"] for s in L[\"hot_section mutex\"][\"stacks\"] if s[\"what\"]==\"wait\"][0]" >ws &&
	grep -q "hot_section" ws && grep -q "worker" ws &&
	hold=$(sed -n "s/.*hot_hold_ns \([0-9]*\).*/\1/p" err) &&
	within "$(lget o.json "L[\"hot_section mutex\"][\"hold_ns\"]")" "$hold" 20
'
expect "the mutex one thread takes alone: 1000 acquisitions, never contended (and the text view says so)" '
	"$KILN" lock --json -- "$WORKLOADS/lock_contend" 10 100 >o.json 2>err || { cat err; exit 1; }
	[ "$(lget o.json "[l for l in d[\"locks\"] if l[\"acquisitions\"]==1000][0][\"contended\"]")" = 0 ] &&
	"$KILN" lock -- "$WORKLOADS/lock_contend" 10 100 >o.txt 2>err && grep -q "never contended" o.txt
'
expect "condition waits are counted apart from contention; rwlock readers and writers; spinlocks" '
	"$KILN" lock --json -- "$WORKLOADS/lock_contend" 10 100 >o.json 2>err || { cat err; exit 1; }
	[ "$(lget o.json "[l for l in d[\"locks\"] if l[\"cond_waits\"]][0][\"cond_waits\"]")" = 10 ] &&
	[ "$(lget o.json "[l for l in d[\"locks\"] if l[\"cond_waits\"]][0][\"contended\"]")" = 0 ] &&
	[ "$(lget o.json "(L[\"main rwlock\"][\"acquisitions\"], L[\"main rwlock\"][\"read_acquisitions\"])")" = "(110, 100)" ] &&
	[ "$(lget o.json "L[\"main spinlock\"][\"acquisitions\"]")" = 100 ]
'
expect "a hot uncontended lock: exact acquisitions, its short holds timed one in 8 after 4096 and the total estimated" '
	"$KILN" lock --json -- "$WORKLOADS/lock_bench" uncontended 100000 >o.json 2>err || { cat err; exit 1; }
	a=$(lget o.json "max(d[\"locks\"], key=lambda l: l[\"acquisitions\"])[\"acquisitions\"]") &&
	h=$(lget o.json "max(d[\"locks\"], key=lambda l: l[\"acquisitions\"])[\"hold_timed\"]") &&
	echo "acquisitions $a timed $h" && [ "$a" = 100000 ] &&
	[ "$h" -ge $((4096 + (100000 - 4096) / 8 - 10)) ] && [ "$h" -le $((4096 + (100000 - 4096) / 8 + 10)) ] &&
	[ "$(lget o.json "max(d[\"locks\"], key=lambda l: l[\"acquisitions\"])[\"hold_ns\"] > 0")" = True ]
'
expect "fork children: both processes counted" '
	"$KILN" lock --json -- sh -c "\"$WORKLOADS/lock_contend\" 10 100 & \"$WORKLOADS/lock_contend\" 10 100; wait" >o.json 2>err || { cat err; exit 1; }
	[ "$(lget o.json "d[\"processes\"]")" -ge 2 ] &&
	[ "$(lget o.json "sum(l[\"acquisitions\"] for l in d[\"locks\"] if l[\"created\"] and l[\"created\"][0]==\"hot_section\")")" = 80 ]
'
expect "the profile: report shows wait_ns by lock, flame draws it" '
	"$KILN" lock -q -o l.prof -- "$WORKLOADS/lock_contend" 20 500 >/dev/null 2>err || { cat err; exit 1; }
	"$KILN" report -i l.prof --folded >f && grep -q "worker;hot_section;lock mutex hot_section" f &&
	"$KILN" report -i l.prof --value hold_ns --folded >h && [ -s h ] &&
	"$KILN" flame l.prof >w.svg && grep -q "<svg" w.svg
'
expect "real programs: sqlite3 and xz -T2 run under kiln lock with no error" '
	"$KILN" lock --json -- sh -c "sqlite3 :memory: \"create table t(x); insert into t values (1),(2); select count(*) from t;\" >n" >o.json 2>err || { cat err; exit 1; }
	[ "$(cat n)" = 2 ] && [ "$(lget o.json "len(d[\"locks\"])")" -gt 0 ] &&
	head -c 1000000 /dev/urandom >in.bin &&
	"$KILN" lock --json -- sh -c "xz -T2 -k -c in.bin >out.xz" >x.json 2>err2 || { cat err2; exit 1; }
	[ ! -s err2 ] && xz -t out.xz && [ "$(lget x.json "sum(l[\"acquisitions\"] for l in d[\"locks\"])")" -gt 0 ]
'
expect "a static binary is refused in one line; a missing program exits 127" '
	check_exit 1 "$KILN" lock -- "$WORKLOADS/heap_static" 2>err && [ "$(wc -l <err)" -eq 1 ] &&
	grep -q "statically linked" err &&
	check_exit 127 "$KILN" lock -- no-such-program-kiln 2>err2 && [ "$(wc -l <err2)" -eq 1 ]
'
expect "a target that exits at once: one line, its status passed on (or 1)" '
	check_exit 7 "$KILN" lock -- sh -c "exit 7" >out 2>err && [ "$(wc -l <err)" -eq 1 ] &&
	check_exit 1 "$KILN" lock -- true >out 2>err2 && [ "$(wc -l <err2)" -eq 1 ] && grep -q "no lock" err2
'
expect "record --off-cpu names futex waits inside pthread locks as lock waits, condition waits apart" '
	"$KILN" record --off-cpu -o o.prof -- "$WORKLOADS/lock_contend" 20 1000 2>err || { cat err; exit 1; }
	"$KILN" report -i o.prof --folded >f &&
	grep -q "worker;hot_section;pthread_mutex_lock;.*\[off-cpu: lock wait\] [0-9]" f &&
	grep -q "main;pthread_cond_wait;.*\[off-cpu: condition wait\] [0-9]" f
'
expect "kiln heap is unchanged by the lock entry points: a threaded program records as before" '
	"$KILN" heap -q -o h.prof -- "$WORKLOADS/lock_contend" 5 100 2>err || { cat err; exit 1; }
	"$KILN" report -i h.prof >r && [ -s r ]
'
finish
