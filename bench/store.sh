#!/usr/bin/env bash
# store.sh: the local store (kiln agent --store, kiln query): bytes per sample on disk,
# symbols included (goal: at most 64), and the time of a query against perf report on
# the same data.
#
# A system-wide recording at the agent's rate (19 Hz per CPU) of this machine while a few
# programs run (shares, callers3, a Python program; plus whatever else runs here) is
# stored as 10 s windows (kiln query --import), once (a fresh store: its fixed cost shows)
# and then REPEAT more times at later times (a store that has run a while: stacks and
# symbols are shared across windows, the sample rows are the cost). perf record -a -g
# records the same time at the same rate, for the query-time comparison (with -B: perf 6.1
# here crashed collecting the build ids of a minute of the whole machine).
#
#   bench/store.sh            (env: DURATION=60 REPEAT=59 RUNS=5 BUILD=build)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
K="$PWD/$BUILD/kiln"
W="$PWD/$BUILD/workloads"
DURATION=${DURATION:-60}
REPEAT=${REPEAT:-59}
RUNS=${RUNS:-5}
export KILN_NO_PROGRESS=1
[ -x "$K" ] || { echo "store.sh: build kiln first (make)" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/kiln-bench-store.XXXXXX")
trap 'rc=$?; jobs -p | xargs -r kill 2>/dev/null; rm -rf "$out"; exit $rc' EXIT
cp "$K" "$out/kiln" && K="$out/kiln" # a rebuild during the run does not disturb it

median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { if (!NR) { print 0; exit }
		print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
spread() { sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f-%.3f", lo, hi }'; }
now_s() { date +%s.%N; }
# size DIR: the store's bytes on disk: the database and its WAL (not the -shm index, a
# 32 KiB shared-memory file SQLite removes when the last connection closes)
size() { du -cb "$1"/kiln-store.db "$1"/kiln-store.db-wal 2>/dev/null | tail -1 | cut -f1; }
samples() { sqlite3 "$1/kiln-store.db" "SELECT total(samples) FROM win" | cut -d. -f1; }

echo "machine: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), sqlite $(sqlite3 --version | cut -d' ' -f1)"
# the programs that run while recording, each in a loop
( while :; do "$W/shares" 400 >/dev/null; done ) &
( while :; do "$W/callers3" 300 >/dev/null; done ) &
( while :; do /usr/bin/python3 tests/workloads/py_shares.py >/dev/null 2>&1 || sleep 1; done ) &
sleep 1
echo
echo "== recording the whole machine for $DURATION s at 19 Hz (kiln record -a, and perf record -a -g beside it)"
perf record -q -a -g -F 19 -B -o "$out/p.data" -- sleep "$DURATION" >/dev/null 2>"$out/p.err" &
ppid=$!
"$K" record -q -a -F 19 --duration "$DURATION" -o "$out/a.prof" >/dev/null 2>"$out/k.err"
if ! wait $ppid; then
	echo "(perf record failed: $(tail -1 "$out/p.err"); no perf comparison)"
	rm -f "$out/p.data"
fi
jobs -p | xargs -r kill 2>/dev/null || true
wait 2>/dev/null || true
"$K" report --folded "$out/a.prof" >"$out/a.folded"
n=$(awk '{ s += $NF } END { print s }' "$out/a.folded")
procs=$("$K" report --sort command --folded "$out/a.prof" | cut -d';' -f1 | sort -u | wc -l)
echo "recorded: $n samples of $procs commands; kiln.prof $(stat -c %s "$out/a.prof") bytes"

echo
echo "== bytes per sample on disk (symbols included; goal <= 64)"
"$K" query --store "$out/s1" --import "$out/a.prof" --at 2026-01-01T00:00:00Z 2>/dev/null
sqlite3 "$out/s1/kiln-store.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
b1=$(size "$out/s1"); n1=$(samples "$out/s1")
w1=$(sqlite3 "$out/s1/kiln-store.db" "SELECT count(*) FROM win")
awk -v b="$b1" -v n="$n1" -v w="$w1" -v d="$DURATION" 'BEGIN {
	printf "fresh store, %d s (%d windows): %d samples, %d bytes, %.1f bytes/sample\n", d, w, n, b, b / n }'
cp -r "$out/s1" "$out/s2"
t0=$(now_s)
for i in $(seq 1 "$REPEAT"); do
	"$K" query --store "$out/s2" --import "$out/a.prof" --at "@$(( (1767225600 + i * DURATION) * 1000000000 ))" 2>/dev/null
done
t1=$(now_s)
sqlite3 "$out/s2/kiln-store.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
b2=$(size "$out/s2"); n2=$(samples "$out/s2")
w2=$(sqlite3 "$out/s2/kiln-store.db" "SELECT count(*) FROM win")
awk -v b="$b2" -v n="$n2" -v w="$w2" -v r="$((REPEAT + 1))" -v d="$DURATION" 'BEGIN {
	printf "the same %d times over (%d s, %d windows): %d samples, %d bytes, %.1f bytes/sample\n", r, r * d, w, n, b, b / n }'
awk -v t="$(echo "$t1 - $t0" | bc -l)" -v n="$((n2 - n1))" -v w="$((w2 - w1))" -v r="$REPEAT" 'BEGIN {
	printf "write rate: %.0f windows/s, %.0f samples/s (%d kiln query --import runs)\n", w / t, n / t, r }'
echo "where the bytes are (fresh store / repeated store, tables with their indexes):"
for t in str frame stack labelset sample win; do
	printf "  %-9s %8s rows %9s bytes / %8s rows %9s bytes\n" "$t" \
		"$(sqlite3 "$out/s1/kiln-store.db" "SELECT count(*) FROM $t")" \
		"$(sqlite3 "$out/s1/kiln-store.db" "SELECT sum(pgsize) FROM dbstat WHERE name = '$t' OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = '$t')")" \
		"$(sqlite3 "$out/s2/kiln-store.db" "SELECT count(*) FROM $t")" \
		"$(sqlite3 "$out/s2/kiln-store.db" "SELECT sum(pgsize) FROM dbstat WHERE name = '$t' OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = '$t')")"
done
pb=$(stat -c %s "$out/p.data" 2>/dev/null || echo 0)
ps=0
[ -s "$out/p.data" ] && ps=$(perf script -F time -i "$out/p.data" 2>/dev/null | wc -l)
awk -v b="$pb" -v n="$ps" 'BEGIN { if (n > 0) printf "perf.data of the same %s samples: %d bytes, %.1f bytes/sample (no symbols)\n", n, b, b / n }'

echo
echo "== query time, median of $RUNS (wall s): the fresh store (the same data as perf.data)"
: >"$out/kq"; : >"$out/kq2"; : >"$out/pr"
for i in $(seq "$RUNS"); do
	t0=$(now_s); "$K" query --store "$out/s1" --folded >/dev/null; t1=$(now_s)
	echo "$t1 - $t0" | bc -l >>"$out/kq"
	t0=$(now_s); "$K" query --store "$out/s2" --folded >/dev/null; t1=$(now_s)
	echo "$t1 - $t0" | bc -l >>"$out/kq2"
	if [ -s "$out/p.data" ]; then
		t0=$(now_s)
		if perf report -i "$out/p.data" --stdio --no-children >/dev/null 2>"$out/pr.err"; then
			t1=$(now_s)
			echo "$t1 - $t0" | bc -l >>"$out/pr"
		else
			echo "(perf report failed: $(grep -v '^$' "$out/pr.err" | tail -1); no perf comparison)"
			rm -f "$out/p.data" "$out/pr"
		fi
	fi
done
echo "kiln query, fresh store ($n1 samples)        $(median "$out/kq") s  ($(spread "$out/kq"))"
if [ -s "$out/pr" ]; then
	echo "perf report --stdio, perf.data ($ps samples) $(median "$out/pr") s  ($(spread "$out/pr"))"
	awk -v k="$(median "$out/kq")" -v p="$(median "$out/pr")" 'BEGIN { printf "ratio perf/kiln: %.1fx\n", p / k }'
fi
echo "kiln query, the whole repeated store ($n2 samples): $(median "$out/kq2") s  ($(spread "$out/kq2"))"
t0=$(now_s); "$K" query --store "$out/s2" --from "@$(( (1767225600 + REPEAT * DURATION / 2) * 1000000000 ))" \
	--to "@$(( (1767225600 + REPEAT * DURATION / 2 + 60) * 1000000000 ))" --folded >/dev/null; t1=$(now_s)
echo "kiln query, one minute of it: $(echo "$t1 - $t0" | bc -l | cut -c1-6) s"
