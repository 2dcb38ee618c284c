#!/usr/bin/env bash
# bench.sh: kiln bench and kiln stat against hyperfine and perf stat, in one run.
#   (1) harness overhead per run: `true` without a shell (-N), 1000 runs, kiln vs hyperfine
#   (2) runs kiln makes by default (to a ±1% 95% CI of the median, or 3 s), and the time
#       spent, vs hyperfine's default
#   (3) agreement of kiln's mean with hyperfine's on the same commands
#   (4) kiln stat vs perf stat: task-clock (no hardware PMU here for instructions)
#   (5) wall time to a conclusion, kiln bench vs hyperfine: identical commands and commands
#       30% apart, with both tools' conclusions
# Prints ratios; peak memory of each tool from GNU time. Usage: BUILD=build bench/bench.sh
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN=$PWD/$BUILD/kiln
W=$PWD/$BUILD/workloads
REPS=${REPS:-3}
T=$(mktemp -d /tmp/kiln-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
export KILN_NO_PROGRESS=1
for tool in hyperfine python3 /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench.sh: needs $tool"; exit 1; }
done
[ -x "$KILN" ] || { echo "bench.sh: build kiln first (make)"; exit 1; }
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $(hyperfine --version)"

# run_tool NAME JSON CMD...: runs CMD under GNU time; prints "wall_s maxrss_kb"
run_tool() {
	local json=$2
	shift 2
	local s e
	s=$(date +%s.%N)
	/usr/bin/time -f "%M" -o "$T/rss" "$@" >/dev/null 2>"$T/err" || { cat "$T/err"; return 1; }
	e=$(date +%s.%N)
	echo "$(python3 -c "print($e - $s)") $(cat "$T/rss")"
}

echo
echo "== (1) harness overhead per run: true, -N, 1000 runs (median of $REPS alternating pairs)"
: >"$T/ovh"
for i in $(seq "$REPS"); do
	k=$(run_tool kiln "$T/k.json" "$KILN" bench -N -r 1000 --export-json "$T/k.json" true) || exit 1
	h=$(run_tool hyperfine "$T/h.json" hyperfine -N -r 1000 --export-json "$T/h.json" true) || exit 1
	python3 - "$k" "$h" "$T/k.json" "$T/h.json" >>"$T/ovh" <<'PY'
import json, sys
k, h = sys.argv[1].split(), sys.argv[2].split()
def total(f):
    r = json.load(open(f))["results"][0]
    return sum(r["times"]), r["mean"]
ks, km = total(sys.argv[3]); hs, hm = total(sys.argv[4])
# overhead: everything the tool spent that is not the measured run time
print((float(k[0]) - ks) / 1000, (float(h[0]) - hs) / 1000, km, hm, k[1], h[1], k[0], h[0])
PY
done
python3 - "$T/ovh" <<'PY'
import sys, statistics as st
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
for r in rows:
    print("  pair: kiln %.1f us/run overhead (total %.2f s, true %.0f us)   hyperfine %.1f us/run (total %.2f s, true %.0f us)"
          % (r[0] * 1e6, r[6], r[2] * 1e6, r[1] * 1e6, r[7], r[3] * 1e6))
ko = st.median(r[0] for r in rows); ho = st.median(r[1] for r in rows)
print("  overhead per run: kiln %.1f us, hyperfine %.1f us, ratio kiln/hyperfine %.2f" % (ko * 1e6, ho * 1e6, ko / ho))
print("  measured mean of true: kiln %.0f us, hyperfine %.0f us, ratio %.3f"
      % (st.median(r[2] for r in rows) * 1e6, st.median(r[3] for r in rows) * 1e6,
         st.median(r[2] for r in rows) / st.median(r[3] for r in rows)))
print("  peak RSS of the tool: kiln %d KiB, hyperfine %d KiB, ratio %.2f"
      % (max(r[4] for r in rows), max(r[5] for r in rows), max(r[4] for r in rows) / max(r[5] for r in rows)))
spread = (max(r[0] for r in rows) - min(r[0] for r in rows)) / ko
print("  noise: kiln overhead spread over the pairs %.0f%% of its median" % (100 * spread))
PY

echo "  harness CPU per run (perf stat --no-inherit task-clock of the tool process alone: robust to load):"
: >"$T/cpu"
for i in $(seq "$REPS"); do
	perf stat --no-inherit -x, -e task-clock -o "$T/kc.csv" "$KILN" bench -N -r 1000 true >/dev/null 2>&1 || exit 1
	perf stat --no-inherit -x, -e task-clock -o "$T/hc.csv" hyperfine -N -r 1000 true >/dev/null 2>&1 || exit 1
	echo "$(grep task-clock "$T/kc.csv" | cut -d, -f1) $(grep task-clock "$T/hc.csv" | cut -d, -f1)" >>"$T/cpu"
done
python3 - "$T/cpu" <<'PY'
import sys, statistics as st
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
k = [r[0] for r in rows]; h = [r[1] for r in rows]
print("    kiln %.1f us/run (%.1f…%.1f), hyperfine %.1f us/run (%.1f…%.1f), ratio kiln/hyperfine %.2f"
      % (st.median(k), min(k), max(k), st.median(h), min(h), max(h), st.median(k) / st.median(h)))
PY

echo
echo "== (2) one command, defaults: kiln (until the 95% CI of the median is within ±1%, or 3 s)"
echo "   vs hyperfine (at least 10 runs and 3 s); the half-widths of both CIs computed alike"
for cmd in "sleep 0.01" "$W/stat_busy 20" "$W/stat_syscalls 5"; do
	k=$(run_tool kiln "$T/a.json" "$KILN" bench -N --export-json "$T/a.json" "$cmd") || exit 1
	h=$(run_tool hyperfine "$T/b.json" hyperfine -N --export-json "$T/b.json" "$cmd") || exit 1
	python3 - "$cmd" "$k" "$h" "$T/a.json" "$T/b.json" <<'PY'
import json, sys, math, statistics as st
cmd, k, h = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
def halfwidth(times):
    n = len(times); m = st.mean(times); s = st.stdev(times)
    return 1.96 * s / math.sqrt(n) / m      # normal approximation, for both alike
def med_halfwidth(times):
    x = sorted(times); n = len(x); med = st.median(x)
    k = max(1, int((n - 1.96 * math.sqrt(n)) / 2))   # rank of the 95% CI (normal approx.)
    if n < 6:
        return float("inf")
    return max(x[n - k] - med, med - x[k - 1]) / med
a = json.load(open(sys.argv[4]))["results"][0]; b = json.load(open(sys.argv[5]))["results"][0]
name = cmd.split("/")[-1]
need = math.ceil((1.96 * st.stdev(a["times"]) / (0.01 * a["mean"])) ** 2)
print("  %-16s kiln: %4d runs in %5.2f s (%s) -> median ±%.2f%%, mean ±%.2f%%   hyperfine: %4d runs in %5.2f s -> median ±%.2f%%, mean ±%.2f%%   time ratio kiln/hyperfine %.2f"
      % (name, len(a["times"]), float(k[0]), a.get("stopped_by", "?"), 100 * med_halfwidth(a["times"]),
         100 * halfwidth(a["times"]), len(b["times"]), float(h[0]), 100 * med_halfwidth(b["times"]),
         100 * halfwidth(b["times"]), float(k[0]) / float(h[0])))
PY
done

echo
echo "== (3) agreement of the means: kiln bench vs hyperfine, same commands, -N,"
echo "   3 alternating blocks of 10 runs each (so that drift of the machine hits both alike)"
for cmd in "sleep 0.01" "sleep 0.03" "$W/stat_busy 20" "$W/stat_syscalls 5"; do
	for blk in 1 2 3; do
		"$KILN" bench -N -r 10 --export-json "$T/a$blk.json" "$cmd" >/dev/null 2>&1 || exit 1
		hyperfine -N -r 10 --export-json "$T/b$blk.json" "$cmd" >/dev/null 2>&1 || exit 1
	done
	python3 - "$cmd" "$T" <<'PY'
import json, sys, math, statistics as st
def times(p):
    return [t for b in (1, 2, 3) for t in json.load(open("%s/%s%d.json" % (sys.argv[2], p, b)))["results"][0]["times"]]
a, b = times("a"), times("b")
ma, mb = st.mean(a), st.mean(b)
se = math.sqrt(st.stdev(a) ** 2 / len(a) + st.stdev(b) ** 2 / len(b))
d = ma - mb
print("  %-18s kiln %8.3f ms  hyperfine %8.3f ms  ratio %.3f  difference %+.3f ms = %+.1f standard errors (%s)"
      % (sys.argv[1].split("/")[-1], ma * 1e3, mb * 1e3, ma / mb, d * 1e3, d / se if se else 0,
         "within noise" if abs(d) <= 2 * se else "OUTSIDE 2 SE"))
PY
done

echo
echo "== (4) kiln stat vs perf stat: task-clock of a deterministic CPU loop (no PMU: no instructions)"
if perf stat -e cycles true 2>&1 | grep -q "not supported"; then
	echo "  (hardware counters not supported on this machine: instruction counts cannot be compared)"
fi
: >"$T/tc"
for i in 1 2 3 4 5; do
	"$KILN" stat --json -o "$T/s.json" -e task-clock -- "$W/stat_busy" 100 || exit 1
	perf stat -x, -e task-clock -o "$T/p.csv" -- "$W/stat_busy" 100 || exit 1
	python3 - "$T/s.json" "$T/p.csv" >>"$T/tc" <<'PY'
import json, sys
k = json.load(open(sys.argv[1]))["counters"]["task-clock"]["mean"] / 1e6
p = float([l for l in open(sys.argv[2]) if "task-clock" in l][0].split(",")[0])
print(k, p)
PY
done
python3 - "$T/tc" <<'PY'
import sys, statistics as st
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
k = [r[0] for r in rows]; p = [r[1] for r in rows]
print("  task-clock over 5 alternating runs each: kiln stat median %.2f ms (%.2f…%.2f), perf stat median %.2f ms (%.2f…%.2f)"
      % (st.median(k), min(k), max(k), st.median(p), min(p), max(p)))
print("  ratio of medians kiln/perf %.3f (the same kernel counter; differences are run-to-run noise)"
      % (st.median(k) / st.median(p)))
PY

echo
echo "== (5) time to a conclusion: kiln bench (stops when settled or precise) vs hyperfine,"
echo "   both with their defaults and -N, on pairs of identical commands and commands 30% apart;"
echo "   $REPS alternating repetitions; wall time of the whole tool and each tool's conclusion"
W5=$W
# pairs: NAME | CMD1 | CMD2
pairs=(
	"sleep, identical|sleep 0.01|sleep 0.01"
	"sleep, 30% apart|sleep 0.010|sleep 0.013"
	"cpu, identical|$W5/stat_busy 20|$W5/stat_busy 20"
	"cpu, 30% apart|$W5/stat_busy 20|$W5/stat_busy 26"
)
for p in "${pairs[@]}"; do
	IFS='|' read -r name c1 c2 <<<"$p"
	: >"$T/conc"
	for i in $(seq "$REPS"); do
		k=$(run_tool kiln "$T/k5.json" "$KILN" bench -N --export-json "$T/k5.json" "$c1" "$c2") || exit 1
		h=$(run_tool hyperfine "$T/h5.json" hyperfine -N --export-json "$T/h5.json" "$c1" "$c2") || exit 1
		python3 - "$k" "$h" "$T/k5.json" "$T/h5.json" >>"$T/conc" <<'PY'
import json, sys, math
k, h = sys.argv[1].split(), sys.argv[2].split()
kd = json.load(open(sys.argv[3])); hd = json.load(open(sys.argv[4]))
c = kd["comparisons"][0]
kc = "%s (%s, p=%.2g, %d runs each)" % (c["verdict"], kd["results"][0]["stopped_by"], c["p_value"],
                                        kd["results"][0]["runs"])
# hyperfine's conclusion: its summary, "X ± Y times faster than" the fastest (ratio of means,
# sd by error propagation); it has no test: a difference is "claimed" when X - 2Y > 1
a, b = hd["results"]
fast, slow = (a, b) if a["mean"] <= b["mean"] else (b, a)
r = slow["mean"] / fast["mean"]
sd = r * math.sqrt((slow["stddev"] / slow["mean"]) ** 2 + (fast["stddev"] / fast["mean"]) ** 2)
hc = "%.3f ± %.3f times (%s, %d runs each)" % (r, sd, "differ" if r - 2 * sd > 1 else "overlap",
                                              len(a["times"]))
print("%s\t%s\t%s\t%s" % (k[0], h[0], kc, hc))
PY
	done
	python3 - "$name" "$T/conc" <<'PY'
import sys, statistics as st
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
kt = [float(r[0]) for r in rows]; ht = [float(r[1]) for r in rows]
print("  %-17s kiln %.2f s (%.2f…%.2f)  hyperfine %.2f s (%.2f…%.2f)  ratio kiln/hyperfine %.2f"
      % (sys.argv[1], st.median(kt), min(kt), max(kt), st.median(ht), min(ht), max(ht),
         st.median(kt) / st.median(ht)))
for r in rows:
    print("      kiln: %s   hyperfine: %s" % (r[2], r[3]))
PY
done
