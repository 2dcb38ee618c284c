#!/usr/bin/env bash
# t1971-stat-perfopts: perf stat's -p (an existing process), -a (system-wide), -I (interval
# lines) and -x (CSV fields in perf's order) on real programs, and their bad input.
. "$(dirname "$0")/lib.sh"

# csv_check FILE NFIELDS: every line of FILE has NFIELDS comma-separated fields in perf's
# order ([time,]value,unit,event,run time,percentage,metric value,metric unit).
csv_check() {
	python3 - "$1" "$2" <<'PY'
import sys
lines = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
assert lines, "no CSV lines"
for l in lines:
    f = l.split(",")
    assert len(f) == n, "%d fields, not %d: %r" % (len(f), n, l)
    if n == 8:
        float(f[0]); f = f[1:]
    value, unit, event, runtime, pct, mval, munit = f
    assert event in ("task-clock", "context-switches", "page-faults", "cycles", "cpu-clock"), l
    if value == "<not supported>":
        assert event == "cycles" and runtime == "0", l
        continue
    float(value); int(runtime); p = float(pct)
    assert 0 < p <= 100, l
    assert unit == ("msec" if event.endswith("clock") else ""), l
    float(mval)
    assert munit == ("CPUs utilized" if event.endswith("clock") else "/sec"), l
print(len(lines), "lines parsed")
PY
}
export -f csv_check

expect "stat -p counts a running busy process for --duration, then until it exits" '
	"$WORKLOADS/stat_busy" 100000 & b=$!
	timeout 60 "$KILN" stat -p $b --duration 1 -e task-clock,context-switches 2>err; rc=$?
	kill $b; wait $b 2>/dev/null
	cat err; [ $rc -eq 0 ] &&
	grep -q "Performance counter stats for process id .$b.:" err &&
	ms=$(awk "/ msec  *task-clock/ { print \$1 }" err) && [ -n "$ms" ] &&
	awk -v m="$ms" "BEGIN { exit !(m > 100) }" &&
	grep -q "seconds time elapsed" err &&
	"$WORKLOADS/stat_busy" 200 & b=$!
	timeout 60 "$KILN" stat -p $b -e task-clock 2>err2; rc=$?
	cat err2; [ $rc -eq 0 ] && ! kill -0 $b 2>/dev/null && grep -q "task-clock" err2
'

if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 0 ]; then
	skip "stat -a" "system-wide counting needs root or perf_event_paranoid <= 0"
else
	# system-wide task-clock counts every CPU's time, idle included (as perf's does):
	# nproc CPUs utilized, which no single process could reach on an idle machine
	expect "stat -a --duration 1 counts the whole system: every CPU's time, context switches of all" '
		timeout 60 "$KILN" stat -a --duration 1 -e task-clock,context-switches,cycles 2>err; rc=$?
		cat err; [ $rc -eq 0 ] &&
		grep -q "Performance counter stats for .system wide.:" err &&
		u=$(awk "/ msec  *task-clock/ { print \$5 }" err) && [ -n "$u" ] &&
		awk -v u="$u" -v n="$(nproc)" "BEGIN { exit !(u > n * 0.9 && u < n * 1.1) }" &&
		grep -q "context-switches" err && grep -q "cycles" err
	'
	expect "stat -a with a command counts while it runs and passes on its exit status" '
		check_exit 3 "$KILN" stat -a -e task-clock -- sh -c "exit 3" 2>err && cat err &&
		grep -q "Performance counter stats for .system wide.:" err
	'
fi

expect "stat -I 200 on a 1 s command prints about 5 interval sets (3 to 9)" '
	"$KILN" stat -I 200 -e task-clock,page-faults -- sleep 1 2>err || { cat err; exit 1; }
	cat err
	n=$(grep -c " msec  *task-clock" err) && echo "$n intervals" &&
	[ "$n" -ge 3 ] && [ "$n" -le 9 ] &&
	[ "$(grep -c "page-faults" err)" -eq "$n" ] &&
	head -1 err | grep -q "^#  *time  *counts unit  *events" &&
	awk "/task-clock/ { if (\$1 + 0 <= last) exit 1; last = \$1 + 0 }" err
'

expect "stat -x, prints perf CSV lines (value,unit,event,run time,percentage,metric) and nothing else" '
	"$KILN" stat -x, -e task-clock,context-switches,page-faults,cycles -- "$WORKLOADS/stat_busy" 100 2>err >out || { cat err; exit 1; }
	cat err && [ "$(wc -l <err)" -eq 4 ] && csv_check err 7 &&
	grep -q "^[0-9.]*,msec,task-clock," err
'

expect "stat -I 200 -x, gives the CSV form with the time first; -x; keeps its separator" '
	"$KILN" stat -I 200 -x, -e task-clock,cycles -- sleep 0.5 2>err || { cat err; exit 1; }
	cat err && csv_check err 8 &&
	"$KILN" stat -x";" -e cpu-clock -- sleep 0.1 2>err2 && cat err2 &&
	grep -q "^[0-9.]*;msec;cpu-clock;[0-9]*;[0-9.]*;[0-9.]*;CPUs utilized$" err2
'

expect "stat -I passes on the command exit status" '
	check_exit 5 "$KILN" stat -I 100 -e task-clock -- sh -c "sleep 0.2; exit 5" 2>err
'

expect "bad input: -p of a missing pid, -p with -a, -I 0, -x with --json, -r with -p: one line, non-zero" '
	! "$KILN" stat -p 2147483000 2>e1 && [ "$(wc -l <e1)" -eq 1 ] && cat e1 && grep -q "no process with pid 2147483000" e1 &&
	check_exit 2 "$KILN" stat -p 1 -a 2>e2 && one_line_error e2 &&
	check_exit 2 "$KILN" stat -I 0 -- true 2>e3 && one_line_error e3 &&
	check_exit 2 "$KILN" stat -x, --json -- true 2>e4 && one_line_error e4 &&
	check_exit 2 "$KILN" stat -r 3 -p 1 2>e5 && one_line_error e5 &&
	check_exit 2 "$KILN" stat -p abc 2>e6 && one_line_error e6
'

finish
