#!/usr/bin/env bash
# fleet.sh: a fleet in ClickHouse. HOSTS hosts x WINDOWS windows of 10 s (default 1,000 x
# 360: an hour), synthetic but made of real recordings (a C program with 60/30/10 shares,
# a Python program, gcc compiling kiln's sources: thousands of distinct stacks), each
# window the recordings' samples scaled to RATE samples per host-window (default 380: the
# agent's 19 Hz on 2 CPUs for 10 s) with the counts jittered per host and window. Loaded
# through kiln's clickhouse:// backend (kst_ch_write_batch, BATCH windows an INSERT, as an
# agent's spool or a collector would send them) into a private clickhouse-server. Prints
# the ingest rate, the bytes per sample ClickHouse keeps (system.parts, after merges),
# single-window writes per second (what one agent does), and the time of a one-hour,
# all-host flame graph query (goal: under 1 s), RUNS times: median, min, max.
#
#   bench/fleet.sh                   (env: HOSTS=1000 WINDOWS=360 RATE=380 BATCH=2000 RUNS=5)
#   bench/fleet.sh --small           100 hosts x 360 windows, for a quick look
# There is no other tool to run beside it here (no Pyroscope or Parca server is packaged);
# the figures stand against the issue's goals instead.
set -eu
cd "$(dirname "$0")/.."
TOP=$PWD
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
KILN="$BUILD/kiln"
HOSTS=${HOSTS:-1000}
[ "${1:-}" = --small ] && HOSTS=100
WINDOWS=${WINDOWS:-360}
RATE=${RATE:-380}
BATCH=${BATCH:-2000}
RUNS=${RUNS:-5}
WORK=${TMPDIR:-/tmp}/kiln-bench-fleet
export KILN_NO_PROGRESS=1
make -s -C "$TOP" BUILD="$BUILD" all tools >/dev/null
. "$TOP/tests/e2e/lib_clickhouse.sh"
why=$(ch_have) || { echo "fleet.sh: $why" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK/rec"
trap 'ch_stop' EXIT
ch_start "$WORK/ch" || exit 1
URL="clickhouse://127.0.0.1:$CH_HTTP/fleet?timeout=600"

# the recordings
"$KILN" record -q -o "$WORK/rec/shares.prof" -- "$BUILD/workloads/shares" 3000 >/dev/null 2>&1
/usr/bin/python3 -c 'import sys' && "$KILN" record -q -o "$WORK/rec/py.prof" -- /usr/bin/python3 \
	"$TOP/tests/workloads/py_shares.py" 3 "$WORK/rec/own.json" >/dev/null 2>&1
"$KILN" record -q -o "$WORK/rec/gcc.prof" -- gcc -O2 -D_GNU_SOURCE -I"$TOP/src" -I"$TOP/src/lib" -I"$BUILD/gen" \
	-c -o /dev/null "$TOP/src/lib/formats/pprof_read.c" >/dev/null 2>&1
"$KILN" record -q -o "$WORK/rec/gcc2.prof" -- gcc -O2 -D_GNU_SOURCE -I"$TOP/src" -I"$TOP/src/lib" -I"$BUILD/gen" \
	-c -o /dev/null "$TOP/src/lib/report/report.c" >/dev/null 2>&1
RECS=$(ls "$WORK"/rec/*.prof)
total=0 stacks=0
for r in $RECS; do
	"$KILN" report -i "$r" --folded >"$WORK/f.txt"
	total=$((total + $(awk '{ t += $NF } END { printf "%d", t }' "$WORK/f.txt")))
	stacks=$((stacks + $(wc -l <"$WORK/f.txt")))
done
SCALE=$(awk -v r="$RATE" -v t="$total" 'BEGIN { printf "%.6f", r / t }')
S=1796083200000000000
echo "== $HOSTS hosts x $WINDOWS windows of 10 s; recordings: $total samples, $stacks distinct stacks; scaled x$SCALE to ~$RATE samples a host-window"

# one agent: single-window writes, each a round of requests (dedup check + inserts)
"$KST_TOOL" fleet "clickhouse://127.0.0.1:$CH_HTTP/single" $RECS --hosts 1 --windows 200 --batch 1 \
	--scale "$SCALE" --window-ms 10000 --start-ns $S >"$WORK/single.txt"
sed -n 's/.*windows_per_s=\([0-9]*\).*/single-window writes (one agent, one at a time): \1 windows\/s/p' "$WORK/single.txt"

# the fleet
"$KST_TOOL" fleet "$URL" $RECS --hosts "$HOSTS" --windows "$WINDOWS" --batch "$BATCH" --scale "$SCALE" \
	--window-ms 10000 --start-ns $S >"$WORK/ingest.txt"
read -r windows samples secs sps wps < <(sed 's/[a-z_]*=//g' "$WORK/ingest.txt")
rows=$(ch_sql "SELECT count() FROM fleet.kiln_samples")
echo "ingest: $windows windows, $samples samples, $rows rows in $secs s: $sps samples/s, $wps windows/s, $(awk -v r="$rows" -v s="$secs" 'BEGIN { printf "%.0f", r / s }') rows/s"

# sizes, after ClickHouse's merges (OPTIMIZE ... FINAL also drops repeated stacks and frames)
for t in kiln_samples kiln_stacks kiln_frames; do ch_sql "OPTIMIZE TABLE fleet.$t FINAL" >/dev/null; done
ch_sql "SELECT table, sum(rows), sum(bytes_on_disk), sum(data_compressed_bytes), sum(data_uncompressed_bytes)
	FROM system.parts WHERE active AND database = 'fleet' GROUP BY table ORDER BY table FORMAT TSV" >"$WORK/parts.tsv"
awk -F'\t' -v s="$samples" -v r="$rows" '
	{ printf "  %-13s %10d rows %12d bytes on disk (%d compressed, %d raw)\n", $1, $2, $3, $4, $5; disk += $3 }
	END { printf "bytes per sample in ClickHouse: %.2f (%d bytes on disk for %d samples; %.1f bytes per row)\n", disk / s, disk, s, disk / r }' "$WORK/parts.tsv"

# the one-hour, all-host flame graph query: the library call (3 SQL queries and the profile)
to=$((S + 3600 * 1000000000))
: >"$WORK/q.txt"
for i in $(seq "$RUNS"); do
	"$KST_TOOL" query "$URL" --from @$S --to @$to -o "$WORK/hour.prof" 2>>"$WORK/q.txt"
done
sed -n 's/.*samples=\([0-9]*\).* rows=\([0-9]*\).*seconds=\([0-9.]*\).*/\1 \2 \3/p' "$WORK/q.txt" | sort -k3 -n >"$WORK/qs.txt"
read -r qsamples qrows _ <"$WORK/qs.txt"
awk -v n="$RUNS" -v want="$samples" '{ t[NR] = $3 } END {
	printf "one-hour all-host query: median %.3f s, min %.3f s, max %.3f s over %d runs (goal < 1 s)\n", t[int((NR + 1) / 2)], t[1], t[NR], NR }' "$WORK/qs.txt"
echo "  from the per-minute rollup: $qsamples samples (loaded: $samples) in $qrows (process name, stack) rows"
# one host's hour (reads the windows: the primary key starts with the host)
: >"$WORK/q1.txt"
for i in $(seq "$RUNS"); do
	"$KST_TOOL" query "$URL" --where host=host-0042 --from @$S --to @$to >/dev/null 2>>"$WORK/q1.txt"
done
sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$WORK/q1.txt" | sort -n | awk '{ t[NR] = $1 } END {
	printf "one host, one hour (from the windows): median %.3f s, min %.3f s, max %.3f s\n", t[int((NR + 1) / 2)], t[1], t[NR] }'
# the all-host hour from the windows, once, for comparison (a --to one ns short of the
# minute makes it a windows query)
"$KST_TOOL" query "$URL" --from @$S --to @$((to - 1)) >/dev/null 2>"$WORK/qraw.txt"
sed -n 's/.*rows=\([0-9]*\).*seconds=\([0-9.]*\).*/the same hour from the windows instead: \2 s (\1 (host, process, stack) rows)/p' "$WORK/qraw.txt"
start=$(date +%s.%N)
"$KILN" flame "$WORK/hour.prof" >"$WORK/hour.svg"
end=$(date +%s.%N)
awk -v a="$start" -v b="$end" 'BEGIN { printf "kiln flame on the result: %.3f s\n", b - a }'
