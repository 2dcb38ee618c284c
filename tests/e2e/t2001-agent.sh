#!/usr/bin/env bash
# t2001-agent: kiln agent on the real machine: the shares of a 60/30/10 program and of a
# Python program from its windows, each process's labels (pid, comm, exe, build id
# against readelf, cgroup, service), SIGTERM writes the last window, kill -9 and a
# restart leave whole files and a visible gap, the spool's bound, bad options and no
# permission. The sink here is one that cannot take windows (a closed port), so every
# window goes to the spool, where `kiln report` reads it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_python.sh"
. "$(dirname "$0")/lib_agent.sh"

DOWN_SINK="clickhouse://127.0.0.1:9/kiln" # the discard port: nothing listens
export DOWN_SINK

# windows DIR: the spooled windows, oldest first
windows() {
	ls "$1"/*.kiln.prof 2>/dev/null | sort
}
# folded_all DIR [REPORT OPTIONS]: the folded stacks of every window, one after another
folded_all() {
	local d=$1 f
	shift
	for f in $(windows "$d"); do
		"$KILN" report -i "$f" --folded "$@" 2>/dev/null
	done
}
# wmeta FILE KEY: a meta value of a window
wmeta() {
	"$KILN" report -i "$1" --json 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["meta"].get(sys.argv[1], ""), end="")' "$2"
}
export -f windows folded_all wmeta

if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 0 ]; then
	skip "kiln agent" "sampling every process needs root or CAP_PERFMON"
	finish
	exit $?
fi

expect "--help: the options and an example, exit 0" '
	"$KILN" agent --help >out 2>err && grep -q -- "--store DIR" out && grep -q -- "--spool-size" out &&
	grep -q "^examples:" out && grep -q "kiln agent --store" out && [ ! -s err ]
'

expect "bad options: one error line each, exit 2, nothing started" '
	for args in "" "--store a --sink clickhouse://h:1/d" "--sink http://h/x" "--store clickhouse://h:1/d" \
		"--store s -F 0" "--store s -F x" "--store s --window 0" "--store s --window 2h" "--store s --label bad" \
		"--store s --label host=x" "--store s --label 9k=v" "--store s --spool-size 1" "--store s -g lbr" \
		"--store s --duration -1" "--store s extra" "--store s --bogus" \
		"--sink clickhouse://h:1/d --retain-age 7d" "--store s --retain-age 10s" "--store s --retain-size 1K"; do
		check_exit 2 "$KILN" agent $args 2>err || { echo "args: $args"; exit 1; }
		one_line_error err || { echo "args: $args"; exit 1; }
		[ "$(grep -c "error" err)" = 1 ] || { echo "args: $args"; cat err; exit 1; }
	done
	[ ! -e s ]
'

if command -v setpriv >/dev/null && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 0 ]; then
	expect "no permission (as nobody): one line naming perf_event_paranoid and CAP_PERFMON, exit 1" '
		chmod 777 "$T"
		check_exit 1 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
			"$KILN" agent --sink "$DOWN_SINK" --spool "$T/sp" --duration 1 2>err &&
		cat err && [ "$(wc -l <err)" = 1 ] && grep -q "perf_event_paranoid" err && grep -q "CAP_PERFMON" err &&
		[ ! -e "$T/sp" ]
	'
else
	skip "no permission" "setpriv missing or perf_event_paranoid allows everyone"
fi

expect "60/30/10 program: shares within 5 points from the windows, labels (pid, comm, exe, build id, cgroup, service)" '
	cg=""
	if mkdir /sys/fs/cgroup/unified/kiln-t2001-$$.service 2>/dev/null; then
		cg=/sys/fs/cgroup/unified/kiln-t2001-$$.service
	elif mkdir /sys/fs/cgroup/kiln-t2001-$$.service 2>/dev/null; then
		cg=/sys/fs/cgroup/kiln-t2001-$$.service
	fi
	# shares runs its 60/30/10 in 50 rounds: one run after another, all in the cgroup
	( [ -n "$cg" ] && echo $BASHPID >"$cg/cgroup.procs"
	  while [ ! -e stop ]; do "$WORKLOADS/shares" 1000 >/dev/null & echo $! >cur; echo $! >>pids; wait; done ) & w=$!
	sleep 0.3
	"$KILN" agent --sink "$DOWN_SINK" --spool sp -F 199 --window 2 --duration 7 --label env=ci 2>err; rc=$?
	touch stop; kill $(cat cur); wait $w 2>/dev/null
	[ -n "$cg" ] && rmdir "$cg"
	cat err; [ $rc = 0 ] || exit 1
	n=$(windows sp | wc -l); echo "$n windows"; [ "$n" -ge 3 ] && [ "$n" -le 5 ] || exit 1
	# its own runs only: other programs named shares may run on this machine
	folded_all sp --pid $(paste -sd, pids) >f.txt
	for fn in work_a:60 work_b:30 work_c:10; do
		s=$(share f.txt ${fn%:*} work_a work_b work_c); echo "${fn%:*}: $s% (want ${fn#*:})"
		within "$s" "${fn#*:}" 5 || exit 1
	done
	# every window: host, the agent label, its range, the process labels
	bid=$(readelf -n "$WORKLOADS/shares" | sed -n "s/.*Build ID: *//p")
	[ -n "$bid" ] || exit 1
	prev_end="" checked=0
	for f in $(windows sp); do
		[ "$(wmeta $f host)" = "$(hostname)" ] && [ "$(wmeta $f labels)" = "env=ci" ] || { echo "meta of $f"; exit 1; }
		start=$(wmeta $f window_start_ns); end=$(wmeta $f window_end_ns)
		# contiguous, and cut at multiples of the window after the first
		[ -z "$prev_end" ] || [ "$start" = "$prev_end" ] || { echo "gap before $f"; exit 1; }
		[ -z "$prev_end" ] || [ $((start % 2000000000)) = 0 ] || { echo "$f not aligned"; exit 1; }
		prev_end=$end
		# the processes named shares: pid, exe, build id, cgroup, service
		"$KILN" report -i $f --json 2>/dev/null | python3 -c "
import json, sys
m = json.load(sys.stdin)[\"meta\"]
for k, v in m.items():
    if k.startswith(\"proc.\") and k[5:] in open(\"pids\").read().split():
        print(k[5:], v.replace(\"\n\", \" \"))" >procs.txt
		while read -r pid labels; do
			checked=$((checked + 1))
			echo " $labels " | grep -q " comm=shares " && echo " $labels " | grep -q " exe=$WORKLOADS/shares " &&
			echo " $labels " | grep -q " build_id=$bid " ||
				{ echo "labels of $pid in $f: $labels"; exit 1; }
			if [ -n "$cg" ]; then
				echo " $labels " | grep -q " cgroup=/kiln-t2001-$$.service " &&
				echo " $labels " | grep -q " service=kiln-t2001-$$ " ||
					{ echo "cgroup labels of $pid in $f: $labels"; exit 1; }
			else
				echo " $labels " | grep -q " cgroup=/" || exit 1
			fi
		done <procs.txt
	done
	echo "$checked processes labelled"; [ "${checked:-0}" -ge 3 ] || exit 1
	[ "$(wmeta $(windows sp | tail -1) lost)" != "" ]
'

expect "SIGTERM: the partial last window is written (service from --label), exit 0" '
	"$WORKLOADS/shares" 100000 & w=$!
	"$KILN" agent --sink "$DOWN_SINK" --spool sp --window 60 --label service=checkout 2>err & a=$!
	sleep 3
	kill -TERM $a; wait $a; rc=$?
	kill $w; wait $w 2>/dev/null
	cat err; [ $rc = 0 ] || exit 1
	# windows start at multiples of 60 s on the wall clock: one window, or two when a
	# minute began during the 3 s (the first closed then, the second written at SIGTERM)
	n=$(windows sp | wc -l) && echo "$n windows" && [ "$n" -ge 1 ] && [ "$n" -le 2 ] || exit 1
	d=0 found=0 svc=0
	for f in $(windows sp); do
		d=$(( d + ($(wmeta $f window_end_ns) - $(wmeta $f window_start_ns)) / 1000000 ))
		"$KILN" report -i $f --pid $w >rep.txt 2>&1 && grep -q "work_a" rep.txt && found=1
		wmeta $f proc.$w | grep -qx "service=checkout" && svc=1
	done
	echo "windows of $d ms in all, work_a found: $found, service label: $svc"
	[ $found = 1 ] && [ $svc = 1 ] && [ $d -ge 1000 ] && [ $d -le 10000 ]
'

expect "kill -9, then a restart: every spooled file whole, the time it was down has no window" '
	"$KILN" agent --sink "$DOWN_SINK" --spool sp --window 1 2>err1 & a=$!
	sleep 4.5
	kill -KILL $a; wait $a 2>/dev/null
	killed=$(date +%s%N)
	sleep 2
	started=$(date +%s%N)
	"$KILN" agent --sink "$DOWN_SINK" --spool sp --window 1 --duration 3 2>err2 || { cat err2; exit 1; }
	ls sp; ! ls sp | grep -v "^[0-9]*\.kiln\.prof$" || { echo "stray files"; exit 1; }
	n=0 prev_end=0 gap=0
	for f in $(windows sp); do
		"$KILN" report -i $f >/dev/null 2>e || { cat e; exit 1; }
		! grep -q "warning" e || { cat e; exit 1; }
		s=$(wmeta $f window_start_ns); e=$(wmeta $f window_end_ns)
		[ "$s" -ge "$prev_end" ] || { echo "$f overlaps"; exit 1; }
		# no window covers the time the agent was down
		[ "$e" -le "$killed" ] || [ "$s" -ge "$killed" ] || { echo "$f covers the kill"; exit 1; }
		[ "$s" -ge "$started" ] || [ "$e" -le "$killed" ] || { echo "$f made up for the gap"; exit 1; }
		[ "$prev_end" != 0 ] && [ $((s - prev_end)) -gt 1500000000 ] && gap=1
		prev_end=$e n=$((n + 1))
	done
	echo "$n windows"; [ $gap = 1 ] && [ $n -ge 3 ]
'

expect "the spool stays under --spool-size: the oldest windows dropped, and said" '
	"$KILN" agent --sink "$DOWN_SINK" --spool sp --spool-size 4K --window 1 --duration 5 2>err || { cat err; exit 1; }
	cat err; grep -q "dropped the .* oldest window" err &&
	n=$(windows sp | wc -l) && [ "$n" -ge 1 ] &&
	total=$(cat $(windows sp) | wc -c) && newest=$(wc -c <$(windows sp | tail -1)) &&
	echo "$n files, $total bytes" && [ "$total" -le $((4096 + newest)) ] &&
	last=$(wmeta $(windows sp | tail -1) window_end_ns) && now=$(date +%s%N) &&
	[ $((now - last)) -lt 60000000000 ]
'

if [ -x /usr/bin/python3 ]; then
	expect "a Python program: alpha/beta/gamma within 5 points of its own measure, from the windows" '
		for attempt in 1 2; do
			rm -rf sp
			/usr/bin/python3 "$PYW/py_shares.py" 7 own.json & p=$!
			"$KILN" agent --sink "$DOWN_SINK" --spool sp -F 199 --window 2 --duration 6 2>err || { cat err; exit 1; }
			wait $p
			folded_all sp --pid $p >f.txt
			grep -q "alpha (py_shares.py:" f.txt && shares_ok f.txt own.json 5 && break
			[ $attempt = 2 ] && { cat err; head f.txt; exit 1; }
		done
		true
	'
else
	skip "python" "no /usr/bin/python3"
fi

finish
