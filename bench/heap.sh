#!/usr/bin/env bash
# heap.sh: kiln heap against heaptrack (Debian's), in one run.
#
# Workloads:
#   temp    build/workloads/heap_bench N: N malloc+free pairs, each block freed at once
#           (the allocation-bound loop of the issue; every pair is temporary)
#   window  heap_bench N/4 64: each block freed 64 allocations later, from two call
#           sites (no pair is temporary: the worst case for kiln's summing of pairs)
#   sqlite  sqlite3 on a batch of SQL (inserts, an index, queries): a real program
# Configurations, interleaved run by run: the program alone (base); under kiln heap
# (full); kiln heap --sample 512K (sampled); the library loaded but not recording
# ("preload only": what any LD_PRELOAD interposer costs, the floor for sampling);
# heaptrack (HT_REPS runs, it is slow).
#
# Figures: wall time of the whole command (min, median, max of REPS runs), and the
# program's own loop time (heap_bench measures the CPU time of its loop and prints it
# with KILN_BENCH_TIME set), which leaves out start-up and each tool's work at exit.
# ns added per pair: the median over the reps of (tool - baseline) in the same rep (runs
# next to each other in time see the same machine: the steadiest figure on a shared,
# noisy machine), and from the minima; medians and maxima show the noise. Also: profile sizes and each tool's
# peak memory, and whether kiln's profile and memory stay flat with 4x the allocations.
#   bench/heap.sh                N=20000000 REPS=5 HT_REPS=1 by default
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN=$PWD/$BUILD/kiln
LIB=$PWD/$BUILD/libkiln-heap.so
PROG=$PWD/$BUILD/workloads/heap_bench
N=${N:-20000000}
NW=$((N / 4))
REPS=${REPS:-5}
HT_REPS=${HT_REPS:-1}
T=$(mktemp -d /tmp/kiln-bench-heap.XXXXXX)
trap 'rm -rf "$T"' EXIT
export KILN_NO_PROGRESS=1 KILN_BENCH_TIME=1
for tool in python3 /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "heap.sh: needs $tool"; exit 1; }
done
[ -x "$KILN" ] && [ -x "$PROG" ] && [ -f "$LIB" ] || { echo "heap.sh: build first (make)"; exit 1; }
HT=$(command -v heaptrack || true)
SQ=$(command -v sqlite3 || true)
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); N=$N pairs, $REPS runs each"

# run NAME CMD...: one timed run; appends "NAME wall_s cpu_s maxrss_kb loop_ns" to $T/runs
run() {
	local name=$1 s e loop
	shift
	s=$(date +%s%N)
	/usr/bin/time -f "%U %S %M" -o "$T/time" "$@" >"$T/out" 2>"$T/err" <"${STDIN:-/dev/null}" ||
		{ echo "$name failed:"; cat "$T/err"; return 1; }
	e=$(date +%s%N)
	loop=$(sed -n 's/^loop_ns //p' "$T/err" | tail -1)
	set -- $(cat "$T/time")
	echo "$name $(((e - s) / 1000))e-6 $1+$2 $3 ${loop:-0}" >>"$T/runs"
}

: >"$T/runs"
# the SQL batch: 300k rows inserted, indexed, grouped and joined
if [ -n "$SQ" ]; then
	python3 - >"$T/b.sql" <<'PY'
import random
random.seed(7)
print("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
print("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, note TEXT);")
print("BEGIN;")
for i in range(300000):
    print("INSERT INTO t(name, grp, note) VALUES('n%d', %d, '%s');" % (random.randrange(10**6), random.randrange(500), "x" * random.randrange(1, 60)))
print("COMMIT;")
print("CREATE INDEX t_name ON t(name);")
print("SELECT grp, count(*), sum(length(note)) FROM t GROUP BY grp ORDER BY 2 DESC LIMIT 5;")
print("SELECT count(*) FROM t a JOIN t b ON a.name = b.name WHERE a.id < b.id;")
PY
fi
for i in $(seq "$REPS"); do
	run base "$PROG" "$N" || exit 1
	run full "$KILN" heap -q -o "$T/full.prof" -- "$PROG" "$N" || exit 1
	run sampled "$KILN" heap -q --sample 512K -o "$T/sampled.prof" -- "$PROG" "$N" || exit 1
	run preload env LD_PRELOAD="$LIB" "$PROG" "$N" || exit 1
	run w_base "$PROG" "$NW" 64 || exit 1
	run w_full "$KILN" heap -q -o "$T/wfull.prof" -- "$PROG" "$NW" 64 || exit 1
	if [ -n "$SQ" ]; then
		rm -f "$T"/sq*.db
		STDIN=$T/b.sql run sq_base "$SQ" "$T/sq1.db" || exit 1
		rm -f "$T"/sq*.db
		STDIN=$T/b.sql run sq_sampled "$KILN" heap -q --sample 512K -o "$T/sqs.prof" -- "$SQ" "$T/sq2.db" || exit 1
		rm -f "$T"/sq*.db
		STDIN=$T/b.sql run sq_full "$KILN" heap -q -o "$T/sqf.prof" -- "$SQ" "$T/sq3.db" || exit 1
		rm -f "$T"/sq*.db
		STDIN=$T/b.sql run sq_preload env LD_PRELOAD="$LIB" "$SQ" "$T/sq4.db" || exit 1
	fi
done
if [ -n "$HT" ]; then
	for i in $(seq "$HT_REPS"); do
		rm -f "$T"/ht.*
		run heaptrack "$HT" -o "$T/ht" "$PROG" "$N" || exit 1
		rm -f "$T"/htw.*
		run w_heaptrack "$HT" -o "$T/htw" "$PROG" "$NW" 64 || exit 1
		if [ -n "$SQ" ]; then
			rm -f "$T"/sq*.db "$T"/hts.*
			STDIN=$T/b.sql run sq_heaptrack "$HT" -o "$T/hts" "$SQ" "$T/sq5.db" || exit 1
		fi
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
python3 - "$T/runs" "$N" "$NW" "$T/full.json" "$T/full4.json" "$T/sampled.json" \
	"$(stat -c %s "$T/full.prof")" "$(stat -c %s "$T/full4.prof")" "$(stat -c %s "$T/sampled.prof")" "${htsize:-0}" <<'PY'
import json, sys, statistics as st
runs, n, nw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
full, full4, samp = (json.load(open(f))["summary"] for f in sys.argv[4:7])
size_full, size_full4, size_samp, size_ht = map(int, sys.argv[7:11])
by = {}
for line in open(runs):
    name, wall, cpu, rss, loop = line.split()
    by.setdefault(name, []).append((float(wall), eval(cpu), int(rss), int(loop) / 1e9))
def med(name, k=0): return st.median(r[k] for r in by[name])
def lo(name, k=0): return min(r[k] for r in by[name])
def hi(name, k=0): return max(r[k] for r in by[name])
def pairs(name): return nw if name.startswith("w_") else n

print()
def paired(name, ref, k):
    """median over reps of name - ref in the same rep (reps are interleaved)"""
    a, b = [r[k] for r in by[name]], [r[k] for r in by[ref]]
    m = min(len(a), len(b))
    return st.median(a[i] - b[i] for i in range(m)) if m else float("nan")
def paired_pct(name, ref, k):
    a, b = [r[k] for r in by[name]], [r[k] for r in by[ref]]
    m = min(len(a), len(b))
    return 100 * st.median((a[i] - b[i]) / b[i] for i in range(m))
print("%-28s %8s %8s %8s %10s %10s %13s %12s" % ("", "wall min", "median", "max", "loop min", "median",
      "+ns/pair pair", "+ns/pair min"))
rows = [("temp: baseline", "base", "base"), ("temp: kiln heap", "full", "base"),
        ("temp: kiln heap --sample 512K", "sampled", "base"), ("temp: preload only", "preload", "base"),
        ("temp: heaptrack", "heaptrack", "base"),
        ("window: baseline", "w_base", "w_base"), ("window: kiln heap", "w_full", "w_base"),
        ("window: heaptrack", "w_heaptrack", "w_base")]
added = {}
for label, name, ref in rows:
    if name not in by:
        continue
    k = 3  # the loop's own time
    added[name] = paired(name, ref, k) / pairs(name) * 1e9
    amin = (lo(name, k) - lo(ref, k)) / pairs(name) * 1e9
    print("%-28s %8.3f %8.3f %8.3f %10.3f %10.3f %13.1f %12.1f" % (label, lo(name), med(name), hi(name),
          lo(name, k), med(name, k), added[name], amin))
if "sq_base" in by:
    print()
    print("%-28s %8s %8s %8s %12s %10s" % ("sqlite3 batch", "wall min", "median", "max", "paired", "min vs min"))
    for label, name in [("baseline", "sq_base"), ("kiln heap --sample 512K", "sq_sampled"),
                        ("kiln heap", "sq_full"), ("preload only", "sq_preload"), ("heaptrack", "sq_heaptrack")]:
        if name not in by:
            continue
        print("%-28s %8.3f %8.3f %8.3f %+11.1f%% %+9.1f%%" % (label, lo(name), med(name), hi(name),
              paired_pct(name, "sq_base", 0), 100 * (lo(name) - lo("sq_base")) / lo("sq_base")))
print()
print("kiln heap, temporary pairs: %.1f ns added per malloc+free pair (loop, paired median; from the minima %.1f; "
      "target <= 30)" % (added["full"], (lo("full", 3) - lo("base", 3)) / n * 1e9))
print("kiln heap, no temporary pair (window 64): %.1f ns added per pair (loop, paired median)" % added.get("w_full", float("nan")))
cpu_kiln = full["recorder_cpu_s"] / n * 1e9
print("  kiln's reader used %.1f ns of CPU per pair (on another CPU)" % cpu_kiln)
print("sampling 512K: %+.1f%% loop time (paired median; target < 5%%); the library loaded but not recording: "
      "%+.1f%% (any LD_PRELOAD interposer's floor on this loop)"
      % (paired_pct("sampled", "base", 3), paired_pct("preload", "base", 3)))
if "sq_base" in by:
    print("sampling 512K on sqlite3: %+.1f%% wall time (paired median); full mode %+.1f%%"
          % (paired_pct("sq_sampled", "sq_base", 0), paired_pct("sq_full", "sq_base", 0)))
    if "sq_heaptrack" in by:
        print("heaptrack on sqlite3: %+.1f%% wall time" % (100 * (med("sq_heaptrack") - med("sq_base")) / med("sq_base")))
if "heaptrack" in added:
    print("heaptrack: %.1f ns per pair added; overhead ratio heaptrack / kiln heap = %.1fx (target >= 4x)"
          % (added["heaptrack"], added["heaptrack"] / max(added["full"], 1e-9)))
if "w_heaptrack" in added:
    print("heaptrack, window 64: %.1f ns per pair added; ratio %.1fx"
          % (added["w_heaptrack"], added["w_heaptrack"] / max(added["w_full"], 1e-9)))
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
