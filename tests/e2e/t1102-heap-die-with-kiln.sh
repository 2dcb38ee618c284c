#!/usr/bin/env bash
# t1102-heap-die-with-kiln: kiln heap and kiln record killed or signalled while their
# program runs: the program does not outlive kiln (PR_SET_PDEATHSIG, and the guard
# process for a program that changes credentials), /dev/shm keeps nothing of kiln's,
# signals sent to kiln alone reach the program, exit codes are as docs/kiln-heap.md says.
. "$(dirname "$0")/lib.sh"

# wait_gone PID: up to 10 s for PID to be gone (or a zombie); fails otherwise
wait_gone() {
	for _ in $(seq 100); do
		st=$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)
		[ -z "$st" ] || [ "$st" = Z ] && return 0
		sleep 0.1
	done
	echo "process $1 still running after kiln was killed" >&2
	kill -KILL "$1" 2>/dev/null
	return 1
}
# wait_file FILE: up to 20 s for FILE to exist
wait_file() {
	for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.1; done
	echo "$1 never appeared" >&2
	return 1
}
# the pid of the process whose command line is exactly the words given, child of $1
child_of() {
	pgrep -P "$1" -x "$2" | head -1
}
export -f wait_gone wait_file child_of

for mode in heap record; do
expect "SIGKILL to kiln $mode: its sleeping program is gone, /dev/shm holds nothing of kiln's" "
	\"\$KILN\" $mode -q -o p.prof -- sleep 300 2>err &
	kp=\$!
	for i in \$(seq 200); do sp=\$(child_of \$kp sleep); [ -n \"\$sp\" ] && break; sleep 0.05; done
	[ -n \"\$sp\" ] || { echo no sleep; cat err; kill -KILL \$kp; exit 1; }
	sleep 0.2
	kill -KILL \$kp; wait \$kp 2>/dev/null
	wait_gone \$sp || exit 1
	for i in \$(seq 50); do ls -d /dev/shm/kiln-heap-\$kp-* >/dev/null 2>&1 || break; sleep 0.1; done
	if ls -d /dev/shm/kiln-heap-\$kp-* 2>/dev/null; then echo 'left in /dev/shm'; exit 1; fi
"
expect "SIGKILL to kiln $mode whose program changed its user id (PDEATHSIG cleared): gone too" "
	[ \"\$(id -u)\" = 0 ] && command -v setpriv >/dev/null || exit 0
	\"\$KILN\" $mode -q -o p.prof -- setpriv --reuid=65534 --regid=65534 --clear-groups sleep 300 2>err &
	kp=\$!
	for i in \$(seq 200); do sp=\$(child_of \$kp sleep); [ -n \"\$sp\" ] && break; sleep 0.05; done
	[ -n \"\$sp\" ] || { echo no sleep; cat err; kill -KILL \$kp; exit 1; }
	[ \"\$(ps -o uid= -p \$sp | tr -d ' ')\" = 65534 ] || { echo 'setpriv did not change the user'; exit 1; }
	grep -q '^PDeathSig' /proc/\$sp/status 2>/dev/null
	kill -KILL \$kp; wait \$kp 2>/dev/null
	wait_gone \$sp || exit 1
	for i in \$(seq 50); do ls -d /dev/shm/kiln-heap-\$kp-* >/dev/null 2>&1 || break; sleep 0.1; done
	if ls -d /dev/shm/kiln-heap-\$kp-* 2>/dev/null; then echo 'left in /dev/shm'; exit 1; fi
"
done

expect "a normal run leaves no guard process and nothing in /dev/shm" '
	"$KILN" heap -q -o p.prof -- sleep 0.2 &
	kp=$!
	wait $kp || exit 1
	pgrep -f "^$KILN heap -q -o p.prof -- sleep 0.2" && { echo "a kiln process is left"; exit 1; }
	! ls -d /dev/shm/kiln-heap-$kp-* 2>/dev/null
'

# The program: a Python script that reports the signals it gets and exits 5 on SIGINT;
# it ignores SIGTERM when told to.
cat >"$SCRATCH/sig.py" <<'PY'
import os, signal, sys, time
def on_int(sig, frame):
    open("got-int", "w").write("INT\n")
    sys.exit(5)
signal.signal(signal.SIGINT, on_int)
if len(sys.argv) > 1 and sys.argv[1] == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
keep = [bytearray(4096) for _ in range(100)]
open("ready", "w").close()
for _ in range(600):
    time.sleep(0.1)
sys.exit(7)
PY
export SIGPY="$SCRATCH/sig.py"

expect "SIGINT sent to kiln heap alone reaches the program; kiln exits with its status" '
	"$KILN" heap -q -o p.prof -- /usr/bin/python3 "$SIGPY" 2>err &
	kp=$!
	wait_file ready || { kill -KILL $kp; exit 1; }
	kill -INT $kp
	wait $kp; rc=$?
	[ "$rc" = 5 ] && grep -q INT got-int || { echo "exit $rc"; cat err; exit 1; }
	"$KILN" heap report p.prof >rep && grep -q "^ended         exit 5" rep || { cat rep; exit 1; }
'
expect "SIGTERM to kiln heap: a program that dies of it makes kiln exit 143" '
	"$KILN" heap -q -o p.prof -- sleep 300 2>err &
	kp=$!
	for i in $(seq 200); do sp=$(child_of $kp sleep); [ -n "$sp" ] && break; sleep 0.05; done
	kill -TERM $kp
	wait $kp; rc=$?
	[ "$rc" = 143 ] || { echo "exit $rc"; cat err; exit 1; }
'
expect "SIGTERM to kiln heap whose program ignores it: the third ends it, kiln exits 143" '
	"$KILN" heap -q -o p.prof -- /usr/bin/python3 "$SIGPY" ignore-term 2>err &
	kp=$!
	wait_file ready || { kill -KILL $kp; exit 1; }
	pp=$(pgrep -P $kp -f sig.py | head -1)
	kill -TERM $kp; sleep 0.3
	kill -0 $pp 2>/dev/null || { echo "the program ended at the first SIGTERM"; exit 1; }
	kill -TERM $kp; sleep 0.3; kill -TERM $kp
	wait $kp; rc=$?
	[ "$rc" = 143 ] || { echo "exit $rc"; cat err; exit 1; }
	grep -q "did not end after three signals" err || { cat err; exit 1; }
	wait_gone $pp || exit 1
	"$KILN" heap report p.prof >rep 2>rerr || { cat rep rerr; exit 1; }
'
expect "kiln heap killed 0.3 s into a run: the profile holds the first events" '
	"$KILN" heap -q -o p.prof -- /usr/bin/python3 -c "
import time
keep = [bytearray(100000) for i in range(50)]
time.sleep(300)" 2>err &
	kp=$!
	sleep 0.3
	kill -KILL $kp; wait $kp 2>/dev/null
	"$KILN" heap report p.prof --json >rep.json 2>rerr || { cat rerr; exit 1; }
	"$KILN" heap report p.prof >rep 2>/dev/null
	# startup of python itself took part of the 0.3 s: at least its first allocations
	grep -q "^allocations   [1-9]" rep || { cat rep rerr; exit 1; }
'
finish
