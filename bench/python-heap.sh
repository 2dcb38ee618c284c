#!/usr/bin/env bash
# python-heap.sh: kiln heap on Python programs, with Python frames on, against
# tracemalloc (the standard library's tracer, `python3 -X tracemalloc=25`: 25 frames, as
# deep as kiln's Python stacks go in practice) and heaptrack (native stacks only), in one
# run.
#
# Two programs:
#   bench/python_app.py APP_ROUNDS   a typical program: a log-processing job (dataclasses,
#                                    json, re, Counter, sorting, f-strings), about 310,000
#                                    allocations a round; the issue's "a Python program"
#   bench/python_alloc.py ROUNDS     the worst case: nothing but allocation (trees of small
#                                    objects, dicts, lists, strings), about 290,000
#                                    allocations a round
# Configurations, interleaved run by run (app- for the first program):
#   bare       python3 alone (pymalloc)
#   malloc     python3 with PYTHONMALLOC=malloc (how heaptrack below, and kiln heap before
#              it hooked CPython's allocators, see every object): for reference
#   kiln       kiln heap (every allocation, Python frames; pymalloc kept, hooked)
#   native     kiln heap with KILN_HEAP_PYTHON=0 (native stacks: what Python frames add)
#   sampled    kiln heap --sample 512K (Python frames)
#   long-      the typical program run LONG_ROUNDS rounds (default 30, about 1.2 s): kiln
#              heap's fixed costs (the interpreter's start and imports, whose stacks are
#              all new; writing the profile at the end) spread over more work
#   tracemalloc (fewer runs: it is slow)
#   heaptrack  with PYTHONMALLOC=malloc too, so that it sees the same allocations
#              (native stacks only; fewer runs)
# Figures: wall time of the whole command (min, median, max), and the ratio to bare in
# the same rep (runs next to each other see the same machine: the steadiest figure on a
# shared machine), median and spread; and CPU time (user + system of the command and
# every process it waited for: kiln's reader included), whose ratio moves less than wall
# time when the machine is busy.
# The machine's load is printed before and after: on a shared machine, compare ratios
# of the same round, and CPU time.
#   bench/python-heap.sh      ROUNDS=10 APP_ROUNDS=10 LONG_ROUNDS=30 REPS=7 TM_REPS=2 HT_REPS=1 PY=/usr/bin/python3
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN=$PWD/$BUILD/kiln
PY=${PY:-/usr/bin/python3}
PROG=$PWD/bench/python_alloc.py
APP=$PWD/bench/python_app.py
ROUNDS=${ROUNDS:-10}
APP_ROUNDS=${APP_ROUNDS:-10}
LONG_ROUNDS=${LONG_ROUNDS:-30}
REPS=${REPS:-7}
TM_REPS=${TM_REPS:-2}
HT_REPS=${HT_REPS:-1}
T=$(mktemp -d /tmp/kiln-bench-pyheap.XXXXXX)
trap 'rm -rf "$T"' EXIT
export KILN_NO_PROGRESS=1
[ -x "$KILN" ] && [ -x "$PY" ] || { echo "python-heap.sh: build first (make), and needs $PY"; exit 1; }
HT=$(command -v heaptrack || true)
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $PY $("$PY" -V 2>&1 | cut -d' ' -f2), APP_ROUNDS=$APP_ROUNDS, LONG_ROUNDS=$LONG_ROUNDS, ROUNDS=$ROUNDS, $REPS runs each"

# run REP NAME CMD...: one timed run; appends "REP NAME wall_s cpu_s" to $T/runs
run() {
	local rep=$1 name=$2 s e
	shift 2
	s=$(date +%s%N)
	/usr/bin/time -f "%U %S" -o "$T/time" "$@" >"$T/out" 2>"$T/err" </dev/null ||
		{ echo "$name failed:"; tail -5 "$T/err"; return 1; }
	e=$(date +%s%N)
	set -- $(cat "$T/time")
	echo "$rep $name $(((e - s) / 1000))e-6 $(python3 -c "print($1 + $2)")" >>"$T/runs"
}

: >"$T/runs"
for i in $(seq "$REPS"); do
	run "$i" app-bare "$PY" "$APP" "$APP_ROUNDS" || exit 1
	run "$i" app-kiln "$KILN" heap -q -o "$T/a.prof" -- "$PY" "$APP" "$APP_ROUNDS" || exit 1
	run "$i" app-sampled "$KILN" heap -q --sample 512K -o "$T/as.prof" -- "$PY" "$APP" "$APP_ROUNDS" || exit 1
	run "$i" long-bare "$PY" "$APP" "$LONG_ROUNDS" || exit 1
	run "$i" long-kiln "$KILN" heap -q -o "$T/l.prof" -- "$PY" "$APP" "$LONG_ROUNDS" || exit 1
	if [ "$i" -le "$TM_REPS" ]; then
		run "$i" app-tracemalloc "$PY" -X tracemalloc=25 "$APP" "$APP_ROUNDS" || exit 1
	fi
	run "$i" bare "$PY" "$PROG" "$ROUNDS" || exit 1
	run "$i" malloc env PYTHONMALLOC=malloc "$PY" "$PROG" "$ROUNDS" || exit 1
	run "$i" kiln "$KILN" heap -q -o "$T/k.prof" -- "$PY" "$PROG" "$ROUNDS" || exit 1
	run "$i" native env KILN_HEAP_PYTHON=0 "$KILN" heap -q -o "$T/n.prof" -- "$PY" "$PROG" "$ROUNDS" || exit 1
	run "$i" sampled "$KILN" heap -q --sample 512K -o "$T/s.prof" -- "$PY" "$PROG" "$ROUNDS" || exit 1
	if [ "$i" -le "$TM_REPS" ]; then
		run "$i" tracemalloc "$PY" -X tracemalloc=25 "$PROG" "$ROUNDS" || exit 1
	fi
	if [ -n "$HT" ] && [ "$i" -le "$HT_REPS" ]; then
		(cd "$T" && run "$i" heaptrack env PYTHONMALLOC=malloc "$HT" -o "$T/ht" "$PY" "$PROG" "$ROUNDS") || HT=
	fi
done

# Python frames were on: the peak's stacks name Python functions
for prof in a k; do
	"$KILN" heap report "$T/$prof.prof" --json >"$T/k.json" || exit 1
	python3 - "$T/k.json" <<'EOF' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
py = [f for r in d["calls"] for f in r["stack"] if f.get("module") == "[python]"]
assert py, "no Python frames in kiln's profile"
print("kiln's profile: %d allocations, Python frames in %d of the top call stacks; top: %s"
      % (d["summary"]["allocations"], sum(any(f.get("module") == "[python]" for f in r["stack"]) for r in d["calls"]),
         d["calls"][0]["stack"][0]["name"]))
EOF
done

python3 - "$T/runs" "$LONG_ROUNDS" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    rep, name, wall, cpu = line.split()
    runs[name][int(rep)] = (float(wall), float(cpu))
for title, pre in (("python_app.py (a typical program)", "app-"),
                   ("python_app.py, %s rounds (the start and the end weigh less)" % sys.argv[2], "long-"),
                   ("python_alloc.py (nothing but allocation)", "")):
    bare = runs[pre + "bare"]
    print("\n%s\n%-16s %7s %7s %7s  %-24s %7s  %s" % (title, "config", "min s", "median", "max s",
                                                   "x bare wall (same rep)", "cpu s", "x bare cpu (same rep)"))
    for name in ("bare", "malloc", "kiln", "native", "sampled", "tracemalloc", "heaptrack"):
        if pre + name not in runs:
            continue
        name = pre + name
        w = sorted(v[0] for v in runs[name].values())
        c = sorted(v[1] for v in runs[name].values())
        r = sorted(v[0] / bare[k][0] for k, v in runs[name].items() if k in bare)
        rc = sorted(v[1] / bare[k][1] for k, v in runs[name].items() if k in bare and bare[k][1] > 0)
        print("%-16s %7.3f %7.3f %7.3f  %5.2fx [%5.2f, %5.2f]     %7.3f  %5.2fx [%5.2f, %5.2f]" % (
            name, w[0], statistics.median(w), w[-1], statistics.median(r), r[0], r[-1],
            statistics.median(c), statistics.median(rc), rc[0], rc[-1]))
    if pre + "tracemalloc" in runs:
        k = statistics.median(v[0] for v in runs[pre + "kiln"].values())
        t = statistics.median(v[0] for v in runs[pre + "tracemalloc"].values())
        print("kiln heap (Python frames) vs tracemalloc=25: %.1fx faster (median wall time)" % (t / k))
EOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
