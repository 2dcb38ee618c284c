#!/usr/bin/env bash
# agent.sh: kiln agent's cost on a busy machine, against `perf record -a -F 19 -g` (what a
# user would run instead to sample the whole machine at the same rate), in one run:
#   1. CPU: two busy loops keep both CPUs busy; each sampler (the agent with -g auto, its
#      default, and with -g fp, and perf) runs SECONDS (default 120)
#      at 19 Hz and its own CPU time (user + sys, from /proc/PID/stat) is reported as %
#      of one core: over the whole run, and in steady state (after its first 10 s, which
#      hold the start: kernel symbols, the BPF program). Repeated RUNS times, interleaved.
#   2. memory over process churn: the agent runs CHURN seconds (default 3600) while short
#      processes start continuously (a shell that execs a tiny program, a few per second,
#      and a Python interpreter now and then); its resident memory (VmRSS) is read every
#      10 s: first reading (after 10 s), last, highest, and the windows it wrote.
# The agent writes to a sink that refuses (a closed port), so every window goes through
# the spool (a real write per window), bounded at 16 MiB.
#   bench/agent.sh                 (RUNS=3 SECONDS=120 CHURN=3600)
#   bench/agent.sh --quick         (RUNS=2 SECONDS=30 CHURN=90; or set the variables)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
SECONDS_RUN=${SECONDS_RUN:-120}
CHURN=${CHURN:-3600}
if [ "${1:-}" = --quick ]; then
	RUNS=${QUICK_RUNS:-2} SECONDS_RUN=${QUICK_SECONDS:-30} CHURN=${QUICK_CHURN:-90}
fi
K="$PWD/$BUILD/kiln"
W="$PWD/$BUILD/workloads"
[ -x "$K" ] && [ -x "$W/stat_busy" ] || { echo "agent.sh: run make first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "agent.sh: run as root (the agent samples every process)" >&2; exit 1; }
have_perf=1
command -v perf >/dev/null 2>&1 || have_perf=0
out=$(mktemp -d "${TMPDIR:-/tmp}/kiln-bench-agent.XXXXXX")
busy=()
cleanup() {
	for p in "${busy[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$out"
}
trap cleanup EXIT
SINK="clickhouse://127.0.0.1:9/kiln"
TICK=$(getconf CLK_TCK)

# cputime PID: its user + sys seconds
cputime() { awk -v t="$TICK" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat" 2>/dev/null; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
stats() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (!NR) { print "n/a"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3g [%.3g..%.3g]", m, v[1], v[NR] }'
}

echo "machine: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg) before the busy loops"
echo "runs: $RUNS x ${SECONDS_RUN} s per sampler; churn: ${CHURN} s"
for i in 1 2; do
	"$W/stat_busy" 100000000 >/dev/null & busy+=($!)
done

# measure NAME PID: waits for PID, reading its CPU at 10 s and at the end; appends
# whole-run and steady-state % of one core to $out/NAME.all and $out/NAME.steady
measure() {
	local name=$1 pid=$2 t0 c10 c_end t10 t_end
	t0=$(date +%s.%N)
	sleep 10
	c10=$(cputime "$pid"); t10=$(date +%s.%N)
	while kill -0 "$pid" 2>/dev/null; do
		c=$(cputime "$pid"); [ -n "$c" ] && c_end=$c
		t_end=$(date +%s.%N)
		sleep 1
	done
	wait "$pid" 2>/dev/null
	awk -v c="$c_end" -v t="$t_end" -v t0="$t0" 'BEGIN { printf "%.4f\n", 100 * c / (t - t0) }' >>"$out/$name.all"
	awk -v c="$c_end" -v c10="$c10" -v t="$t_end" -v t10="$t10" 'BEGIN { printf "%.4f\n", 100 * (c - c10) / (t - t10) }' >>"$out/$name.steady"
}

for r in $(seq "$RUNS"); do
	rm -rf "$out/sp"
	"$K" agent --sink "$SINK" --spool "$out/sp" --spool-size 16M --duration "$SECONDS_RUN" 2>"$out/agent.err" & a=$!
	measure agent $a
	rm -rf "$out/sp"
	"$K" agent -g fp --sink "$SINK" --spool "$out/sp" --spool-size 16M --duration "$SECONDS_RUN" 2>"$out/agent.err" & a=$!
	measure agentfp $a
	if [ $have_perf = 1 ]; then
		perf record -a -F 19 -g -q -o "$out/perf.data" -- sleep "$SECONDS_RUN" 2>"$out/perf.err" & p=$!
		measure perf $p
	fi
done
echo
echo "1. CPU of the sampler, % of one core, both CPUs busy, 19 Hz, median [min..max] of $RUNS:"
printf "   %-28s whole run %-26s steady state %s\n" "kiln agent (-g auto)" "$(stats "$out/agent.all")" "$(stats "$out/agent.steady")"
printf "   %-28s whole run %-26s steady state %s\n" "kiln agent -g fp" "$(stats "$out/agentfp.all")" "$(stats "$out/agentfp.steady")"
if [ $have_perf = 1 ]; then
	printf "   %-28s whole run %-26s steady state %s\n" "perf record -a -F 19 -g" "$(stats "$out/perf.all")" "$(stats "$out/perf.steady")"
	echo "   (perf only writes the raw samples; symbols come later in perf report, not counted here)"
else
	echo "   perf is not installed: no comparison"
fi
echo "   target: at most 1% of one core"

# 2. memory over churn
rm -rf "$out/sp"
(
	n=0
	while :; do
		sh -c 'exec true'
		"$W/shares" 1 >/dev/null
		n=$((n + 1))
		[ $((n % 50)) = 0 ] && /usr/bin/python3 -c 'sum(range(10**5))' 2>/dev/null
		sleep 0.05
	done
) & churn=$!
busy+=($churn)
"$K" agent --sink "$SINK" --spool "$out/sp" --spool-size 16M --duration "$CHURN" -v 2>"$out/churn.err" & a=$!
sleep 10
first=$(rss_kb $a) last=$first max=$first t=10 series=""
while kill -0 $a 2>/dev/null; do
	v=$(rss_kb $a)
	if [ -n "$v" ]; then
		last=$v
		[ "$v" -gt "$max" ] && max=$v
		[ $((t % 60)) = 0 ] && series="$series ${t}s:$((v / 1024))M"
	fi
	sleep 10
	t=$((t + 10))
done
wait $a
kill $churn 2>/dev/null
procs=$(grep -c "window at" "$out/churn.err")
echo
echo "2. resident memory over ${CHURN} s of process churn (about 15 new processes a second):"
echo "   after 10 s: ${first} KiB; at the end: ${last} KiB; highest: ${max} KiB; ${procs} windows"
echo "   every minute:$series"
echo "   symbol caches started afresh $(grep -c "started afresh" "$out/churn.err") times (every 5 min, or past 128 MiB of heap)"
grep "windows (" "$out/churn.err" | sed 's/^/   /'
