#!/usr/bin/env bash
# lock.sh: the cost of kiln lock, in one run: a lock-heavy program's wall time bare and
# under kiln lock, and the cost of one uncontended lock/unlock pair.
#
# Workloads (build/workloads/lock_bench, which times its own loop as loop_ns):
#   work      T=2 threads x N iterations: each takes its own mutex (every 16th time a
#             shared one) around WORK=300 rounds of arithmetic (~0.5-1 us): lock-heavy,
#             but with work inside the locks, as in a server
#   pairs     one thread, N uncontended lock/unlock pairs with nothing between: the
#             price of a pair (bare: an atomic exchange and release; kiln: a try-lock,
#             two timestamps and the table update)
#   sqlite    sqlite3 on a batch of SQL (its mutexes on every API call): a real program
# Runs alternate bare / kiln; the ratio is the median of per-pair ratios of wall time
# (whole command, kiln's start-up and read-back included) and of loop time.
#   bench/lock.sh      N=1000000 NPAIRS=5000000 REPS=5
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN=$PWD/$BUILD/kiln
PROG=$PWD/$BUILD/workloads/lock_bench
N=${N:-1000000}
NPAIRS=${NPAIRS:-5000000}
REPS=${REPS:-5}
T=$(mktemp -d /tmp/kiln-bench-lock.XXXXXX)
trap 'rm -rf "$T"' EXIT
export KILN_NO_PROGRESS=1
[ -x "$KILN" ] && [ -x "$PROG" ] || { echo "lock.sh: build first (make)"; exit 1; }
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); REPS=$REPS"

# one NAME CMD...: runs once; prints "wall_ns loop_ns"
one() {
	local s e loop
	s=$(date +%s%N)
	"$@" >"$T/out" 2>"$T/err" <"${STDIN:-/dev/null}" || { echo "failed: $*" >&2; cat "$T/err" >&2; return 1; }
	e=$(date +%s%N)
	loop=$(sed -n 's/^loop_ns //p' "$T/err" | tail -1)
	echo "$((e - s)) ${loop:-0}"
}

# compare [-p] LABEL PAIRS CMD...: REPS alternating runs, bare and under kiln lock (-p:
# started first and attached to with kiln lock -p)
compare() {
	local tool="kiln lock" run=one_k
	[ "$1" = -p ] && { tool="kiln lock -p" run=one_p; shift; }
	local label=$1 pairs=$2
	shift 2
	: >"$T/r"
	for _ in $(seq 1 "$REPS"); do
		b=$(one "$@") || return 1
		k=$($run "$@") || return 1
		echo "$b $k" >>"$T/r"
	done
	python3 - "$label" "$pairs" "$T/r" "$tool" <<'PY'
import statistics, sys
label, pairs, path, tool = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = [list(map(float, l.split())) for l in open(path) if l.strip()]
bw = [r[0] for r in rows]; bl = [r[1] for r in rows]; kw = [r[2] for r in rows]; kl = [r[3] for r in rows]
wr = [k / b for k, b in zip(kw, bw)]
print(f"{label} ({tool}):")
if tool == "kiln lock":  # with -p, the wall time is the program's run alone (attach and read-back outside)
    print(f"  wall   bare {statistics.median(bw)/1e9:8.3f} s   {tool} {statistics.median(kw)/1e9:8.3f} s   "
          f"ratio {statistics.median(wr):.3f} (min {min(wr):.3f}, max {max(wr):.3f})")
if all(bl) and all(kl):
    lr = [k / b for k, b in zip(kl, bl)]
    print(f"  loop   bare {statistics.median(bl)/1e9:8.3f} s   {tool} {statistics.median(kl)/1e9:8.3f} s   "
          f"ratio {statistics.median(lr):.3f} (min {min(lr):.3f}, max {max(lr):.3f})")
    if pairs:
        print(f"  per lock/unlock pair: bare {statistics.median(bl)/pairs:.1f} ns, {tool} {statistics.median(kl)/pairs:.1f} ns, "
              f"added {statistics.median(k - b for k, b in zip(kl, bl))/pairs:.1f} ns (median of per-run differences)")
PY
}
one_k() {
	one "$KILN" lock -q -- "$@"
}

compare "work: 2 threads x $N locked sections of ~300 rounds" 0 "$PROG" work "$N" 2 300 || exit 1
compare "pairs: $NPAIRS uncontended lock/unlock pairs, one thread" "$NPAIRS" "$PROG" uncontended "$NPAIRS" || exit 1
if command -v sqlite3 >/dev/null; then
	python3 - >"$T/b.sql" <<'PY'
print("create table t(a integer primary key, b text, c integer);")
print("begin;")
for i in range(200000):
    print(f"insert into t(b, c) values ('row{i}', {i * 7919 % 100003});")
print("commit;")
print("create index tc on t(c);")
print("select count(*), sum(c) from t where c % 3 = 0;")
print("select b from t order by c desc limit 5;")
PY
	STDIN=$T/b.sql compare "sqlite: 200k inserts, an index, queries" 0 sqlite3 :memory: || exit 1
fi

# kiln lock -p: the same program started first, attached to, and let go once kiln's
# probes are in (tests/e2e/probed.py); its own loop time bare and while traced (attach
# and read-back are outside the loop). Three probe traps per lock/unlock pair cost far
# (some 10-70 us each in this VM) more than the preload: fewer iterations, N_P=5000
# and NPAIRS_P=20000.
N_P=${N_P:-5000}
NPAIRS_P=${NPAIRS_P:-20000}
# one_p CMD...: runs CMD under kiln lock -p; prints "wall_ns loop_ns" (wall: go to exit)
one_p() {
	local pid k s e loop
	rm -f "$T/go"
	LOCK_BENCH_GO=$T/go "$@" >"$T/out" 2>"$T/err" & pid=$!
	"$KILN" lock -q -p $pid >"$T/kout" 2>"$T/kerr" & k=$!
	/usr/bin/python3 tests/e2e/probed.py $pid >&2 || { kill $pid $k; wait; return 1; }
	s=$(date +%s%N)
	touch "$T/go"
	wait $pid || { echo "failed: $*" >&2; cat "$T/err" >&2; return 1; }
	e=$(date +%s%N)
	wait $k || { echo "kiln lock -p failed" >&2; cat "$T/kerr" >&2; return 1; }
	loop=$(sed -n 's/^loop_ns //p' "$T/err" | tail -1)
	echo "$((e - s)) ${loop:-0}"
}
compare -p "work: 2 threads x $N_P locked sections of ~300 rounds" 0 "$PROG" work "$N_P" 2 300 || exit 1
compare -p "pairs: $NPAIRS_P uncontended lock/unlock pairs, one thread" "$NPAIRS_P" "$PROG" uncontended "$NPAIRS_P" || exit 1
