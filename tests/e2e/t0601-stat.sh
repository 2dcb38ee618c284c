#!/usr/bin/env bash
# t0601-stat: kiln stat on real programs: times, memory, counters, the verdict, bad input.
. "$(dirname "$0")/lib.sh"

expect "kiln stat --help shows usage and an example" '
	"$KILN" stat --help >out && grep -q "^usage: kiln stat" out && grep -q "kiln stat -- " out
'
expect "a sleep is classified as waiting, with sane times" '
	"$KILN" stat -- sleep 0.1 2>err >out &&
	grep -q "verdict: waiting" err && grep -q "wall time" err &&
	"$KILN" stat --json -- sleep 0.1 >j.json 2>/dev/null &&
	python3 -c "
import json; d = json.load(open(\"j.json\"))
w = d[\"metrics\"][\"wall_time\"][\"mean\"]
assert 0.1 <= w < 0.3, w
assert d[\"metrics\"][\"user_time\"][\"mean\"] + d[\"metrics\"][\"system_time\"][\"mean\"] < 0.05 * 2
assert d[\"verdict\"][\"class\"] == \"waiting\", d[\"verdict\"]
assert d[\"metrics\"][\"peak_rss\"][\"mean\"] > 100 * 1024
"
'
expect "a busy loop is CPU-bound in user space" '
	"$KILN" stat --json -- "$WORKLOADS/stat_busy" 60 >j.json &&
	python3 -c "
import json; d = json.load(open(\"j.json\"))
v = d[\"verdict\"]; m = d[\"metrics\"]
assert v[\"class\"] == \"cpu-user\", v
assert m[\"user_time\"][\"mean\"] > 0.02, m[\"user_time\"]
assert m[\"user_time\"][\"mean\"] <= m[\"wall_time\"][\"mean\"] * 1.05
tc = d[\"counters\"][\"task-clock\"]
assert tc[\"supported\"] and tc[\"mean\"] > 0.02e9, tc
"
'
expect "a syscall-heavy loop is kernel-heavy" '
	"$KILN" stat --json -- "$WORKLOADS/stat_syscalls" 20 >j.json &&
	python3 -c "
import json; d = json.load(open(\"j.json\"))
v = d[\"verdict\"]
assert v[\"class\"] == \"kernel-heavy\", v
assert v[\"system_fraction\"] >= 0.5, v
"
'
expect "-r N reports mean ± stddev and min … max per figure" '
	"$KILN" stat -r 3 -- sleep 0.01 2>err &&
	grep -q "(3 runs)" err && grep -E -q "wall time +[0-9.]+ ms +± .*\(.* … .*\)" err &&
	"$KILN" stat -r 3 --json -- sleep 0.01 >j.json &&
	python3 -c "
import json; d = json.load(open(\"j.json\"))
assert d[\"runs\"] == 3 and len(d[\"metrics\"][\"wall_time\"][\"values\"]) == 3
"
'
if perf stat -e cycles true 2>&1 | grep -q "not supported"; then
	expect "hardware counters say not supported (no PMU) and the run still succeeds" '
		"$KILN" stat -e cycles,instructions,task-clock -- true 2>err &&
		grep -E -q "cycles +<not supported>" err && grep -E -q "IPC +<not supported>" err &&
		grep -E -q "task-clock +[0-9.]+ .s" err
	'
	skip "instruction counts agree with perf stat" "no hardware PMU on this machine"
else
	skip "hardware counters fall back to not supported" "this machine has a PMU"
	expect "instruction counts agree with perf stat within 1%" '
		# the same events both ways: user + kernel, inherited, enabled at exec; medians of 3
		for i in 1 2 3; do
			"$KILN" stat --json -o j$i.json -e instructions -- "$WORKLOADS/stat_busy" 20 &&
			perf stat -x, -e instructions -o p$i.csv -- "$WORKLOADS/stat_busy" 20 >/dev/null || exit 1
		done
		python3 -c "
import json, statistics as st
k = st.median(json.load(open(\"j%d.json\" % i))[\"counters\"][\"instructions\"][\"mean\"] for i in (1, 2, 3))
p = st.median(float([l for l in open(\"p%d.csv\" % i) if \"instructions\" in l][0].split(\",\")[0]) for i in (1, 2, 3))
assert abs(k - p) / p < 0.01, (k, p)
"
	'
fi
expect "task-clock agrees with user + system time" '
	"$KILN" stat --json -e task-clock -- "$WORKLOADS/stat_busy" 60 >j.json &&
	python3 -c "
import json; d = json.load(open(\"j.json\"))
tc = d[\"counters\"][\"task-clock\"][\"mean\"] / 1e9
cpu = d[\"metrics\"][\"user_time\"][\"mean\"] + d[\"metrics\"][\"system_time\"][\"mean\"]
assert abs(tc - cpu) < 0.2 * cpu + 0.005, (tc, cpu)
"
'
expect "the command'"'"'s exit status is kiln stat'"'"'s" '
	check_exit 3 "$KILN" stat -- sh -c "exit 3" 2>err && grep -q "verdict" err
'
expect "a crashing command: the report still comes, exit 128 + signal" '
	check_exit 139 "$KILN" stat -- sh -c "kill -SEGV \$\$" 2>err && grep -q "verdict" err
'
expect "a command that does not exist is one clear error, exit 127 (as a shell)" '
	check_exit 127 "$KILN" stat -- kiln-no-such-program 2>err &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "kiln-no-such-program.*command not found" err
'
expect "--timeout kills a command that never ends" '
	check_exit 1 "$KILN" stat --timeout 0.3 -- sleep 30 2>err &&
	grep -q "did not finish within" err
'
expect "an unknown event is a usage error listing the known ones" '
	check_exit 2 "$KILN" stat -e cycles,frobs -- true 2>err && grep -q "unknown event '"'"'frobs'"'"'" err &&
	grep -q "task-clock" err
'
expect "no command and bad -r are usage errors" '
	check_exit 2 "$KILN" stat 2>err && grep -q "no command" err &&
	check_exit 2 "$KILN" stat -r 0 -- true 2>err && grep -q "number of runs" err
'
expect "-o writes the report to a file atomically; a directory is an error" '
	"$KILN" stat -o rep.txt -- true && grep -q "verdict" rep.txt &&
	mkdir d && check_exit 1 "$KILN" stat -o d -- true 2>err && grep -q "directory" err
'
expect "--input feeds the command" '
	printf "abc\n" >in.txt && "$KILN" stat --input in.txt --json -o j.json -- sh -c "read x; [ \"\$x\" = abc ]" &&
	python3 -c "import json; assert json.load(open(\"j.json\"))[\"exit_code\"] == 0" &&
	check_exit 1 "$KILN" stat --input missing.txt -- true 2>err && grep -q "missing.txt" err
'
finish
