#!/usr/bin/env bash
# heap.sh: kiln heap against heaptrack (Debian's), in one run, on an allocation-bound
# program (build/workloads/heap_bench: N malloc+free pairs, default 20 million):
#   baseline, kiln heap (every allocation), kiln heap --sample 512K, heaptrack.
# Prints wall time (median and min of REPS runs), ns added per pair, the overhead
# ratio heaptrack/kiln, profile sizes, peak RSS of each tool, and whether kiln's
# profile size and memory stay flat when the program makes 4x more allocations.
# The machine is shared and noisy: the minimum of REPS runs is the figure compared,
# the median and maximum show the noise.
#   bench/heap.sh                N=20000000 REPS=5 HT_REPS=1 by default
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN=$PWD/$BUILD/kiln
PROG=$PWD/$BUILD/workloads/heap_bench
N=${N:-20000000}
REPS=${REPS:-5}
HT_REPS=${HT_REPS:-1}
T=$(mktemp -d /tmp/kiln-bench-heap.XXXXXX)
trap 'rm -rf "$T"' EXIT
export KILN_NO_PROGRESS=1
for tool in python3 /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "heap.sh: needs $tool"; exit 1; }
done
[ -x "$KILN" ] && [ -x "$PROG" ] || { echo "heap.sh: build first (make)"; exit 1; }
HT=$(command -v heaptrack || true)
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); N=$N pairs, $REPS runs each"

# run NAME CMD...: one timed run; appends "NAME wall_s user_s sys_s maxrss_kb" to $T/runs
run() {
	local name=$1 s e
	shift
	s=$(date +%s.%N)
	/usr/bin/time -f "%U %S %M" -o "$T/time" "$@" >"$T/out" 2>"$T/err" || { echo "$name failed:"; cat "$T/err"; return 1; }
	e=$(date +%s.%N)
	echo "$name $(python3 -c "print($e - $s)") $(cat "$T/time")" >>"$T/runs"
}

: >"$T/runs"
for i in $(seq "$REPS"); do
	run base "$PROG" "$N" || exit 1
	run full "$KILN" heap -q -o "$T/full.prof" -- "$PROG" "$N" || exit 1
	run sampled "$KILN" heap -q --sample 512K -o "$T/sampled.prof" -- "$PROG" "$N" || exit 1
done
if [ -n "$HT" ]; then
	for i in $(seq "$HT_REPS"); do
		rm -f "$T"/ht.*
		run heaptrack "$HT" -o "$T/ht" "$PROG" "$N" || exit 1
	done
else
	echo "heaptrack is not installed (scripts/deps.sh --test installs it): its column is empty"
fi
# memory and size must not grow with the number of allocations
run full4 "$KILN" heap -q -o "$T/full4.prof" -- "$PROG" $((N * 4)) || exit 1

"$KILN" heap report "$T/full.prof" --json >"$T/full.json" || exit 1
"$KILN" heap report "$T/full4.prof" --json >"$T/full4.json" || exit 1
"$KILN" heap report "$T/sampled.prof" --json >"$T/sampled.json" || exit 1
htsize=0
[ -n "$HT" ] && htsize=$(stat -c %s "$T"/ht.* 2>/dev/null | head -1)
python3 - "$T/runs" "$N" "$T/full.json" "$T/full4.json" "$T/sampled.json" \
	"$(stat -c %s "$T/full.prof")" "$(stat -c %s "$T/full4.prof")" "$(stat -c %s "$T/sampled.prof")" "${htsize:-0}" <<'PY'
import json, sys, statistics as st
runs, n = sys.argv[1], int(sys.argv[2])
full, full4, samp = (json.load(open(f))["summary"] for f in sys.argv[3:6])
size_full, size_full4, size_samp, size_ht = map(int, sys.argv[6:10])
by = {}
for line in open(runs):
    name, wall, user, sysc, rss = line.split()
    by.setdefault(name, []).append((float(wall), float(user) + float(sysc), int(rss)))
def med(name, k=0): return st.median(r[k] for r in by[name])
def lo(name, k=0): return min(r[k] for r in by[name])
def hi(name, k=0): return max(r[k] for r in by[name])
base = med("base")
print()
print("%-24s %9s %9s %9s %15s %15s %8s" % ("", "min s", "median s", "max s", "ns/pair (min)", "ns/pair (med)", "CPU s"))
rows = [("baseline", "base"), ("kiln heap", "full"), ("kiln heap --sample 512K", "sampled"), ("heaptrack", "heaptrack")]
added, added_med = {}, {}
for label, name in rows:
    if name not in by:
        continue
    added[name] = (lo(name) - lo("base")) / n * 1e9
    added_med[name] = (med(name) - base) / n * 1e9
    print("%-24s %9.3f %9.3f %9.3f %15.1f %15.1f %8.3f" % (label, lo(name), med(name), hi(name),
          added[name], added_med[name], med(name, 1)))
print()
cpu_all = (med("full", 1) - med("base", 1)) / n * 1e9
cpu_kiln = full["recorder_cpu_s"] / n * 1e9
print("kiln heap: %.1f ns per malloc+free pair added (min; median %.1f; target <= 30)"
      % (added["full"], added_med["full"]))
print("  CPU per pair: +%.1f ns in all, of which the program (library) +%.1f ns and kiln's reader %.1f ns"
      % (cpu_all, cpu_all - cpu_kiln, cpu_kiln))
print("sampling 512K: %+.1f%% wall time (min; median %+.1f%%; target < 5%%)"
      % (100 * (lo("sampled") - lo("base")) / lo("base"), 100 * (med("sampled") - base) / base))
if "heaptrack" in added:
    print("heaptrack: %.1f ns per pair added; overhead ratio heaptrack / kiln heap = %.1fx (target >= 4x)"
          % (added["heaptrack"], added["heaptrack"] / max(added["full"], 1e-9)))
print()
kib = lambda b: "%.0f KiB" % (b / 1024)
print("profile size: kiln %s (%d pairs), %s (%d pairs), sampled %s; heaptrack %s"
      % (kib(size_full), n, kib(size_full4), 4 * n, kib(size_samp), kib(size_ht) if size_ht else "-"))
print("peak RSS: kiln heap itself %s at %d pairs, %s at %d pairs; largest process under heaptrack %s"
      % (kib(full["recorder_rss_bytes"]), n, kib(full4["recorder_rss_bytes"]), 4 * n,
         kib(med("heaptrack", 2) * 1024) if "heaptrack" in by else "-"))
print("allocations seen: kiln %d (full), %d (sampled estimate, %.2f%% off)"
      % (full["allocations"], samp["allocations"], 100 * abs(samp["allocations"] - full["allocations"]) / full["allocations"]))
# the profile grows with time (a write every 20 ms at first), not with allocations
grow = size_full4 > size_full * 3 + 65536 or full4["recorder_rss_bytes"] > full["recorder_rss_bytes"] * 1.5
print("flat with 4x the allocations: %s" % ("NO" if grow else "yes"))
PY
