#!/usr/bin/env bash
# collapse.sh: `kiln collapse` speed and memory on ~500 MB of `perf script` text, against
# the collapser a user could install here, in one run, with ratios.
#
#   bench/collapse.sh            (env: SIZE_MB=500 SLICE_MB=50 RUNS=3 BUILD=build)
#
# The input is made from the 13 FlameGraph test inputs (tests/data/flamegraph-collapse),
# copied with different pids until SIZE_MB (bench/collapse_gen.py), and kept in
# $TMPDIR/kiln-bench-collapse for the next run. Competitors:
#  - stackcollapse-perf.pl (FlameGraph): not packaged in Debian nor npm; used if found
#    on PATH (or COLLAPSE_PL=/path/to/stackcollapse-perf.pl).
#  - cpuprofilify (npm; the `perf script` parser of the `flamegraph` npm package by
#    thlorenz), installed into the work directory at bench time. It reads all its input
#    into memory, so it gets a SLICE_MB slice, and kiln is timed on the same slice.
#  - `perf script` itself, as the reference rate of the text's producer.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN="$PWD/$BUILD/kiln"
SIZE_MB=${SIZE_MB:-500}
SLICE_MB=${SLICE_MB:-50}
RUNS=${RUNS:-3}
WORK=${TMPDIR:-/tmp}/kiln-bench-collapse
INPUTS=tests/data/flamegraph-collapse/inputs
MEASURE="python3 $PWD/bench/measure.py"
export KILN_NO_PROGRESS=1
mkdir -p "$WORK"
[ -x "$KILN" ] || { echo "collapse.sh: build kiln first (make)" >&2; exit 1; }

BIG="$WORK/perf-$SIZE_MB.txt"
if [ ! -s "$BIG" ] || [ bench/collapse_gen.py -nt "$BIG" ]; then
	echo "making $BIG ..."
	python3 bench/collapse_gen.py "$BIG" "$SIZE_MB" "$INPUTS"/*.txt
fi
SLICE="$WORK/perf-slice-$SLICE_MB.txt"
if [ ! -s "$SLICE" ] || [ "$BIG" -nt "$SLICE" ]; then
	# cut at a sample boundary (a blank line)
	head -c $((SLICE_MB * 1000 * 1000)) "$BIG" | sed '$d' >"$SLICE"
fi
cat "$BIG" >/dev/null # warm the page cache
big_mb=$(awk -v b="$(stat -c %s "$BIG")" 'BEGIN { printf "%.1f", b / 1e6 }')
slice_mb=$(awk -v b="$(stat -c %s "$SLICE")" 'BEGIN { printf "%.1f", b / 1e6 }')

printf 'kiln collapse benchmark: %s MB of perf script text (%s MB slice for in-memory tools),\n' "$big_mb" "$slice_mb"
printf '%d runs each: median wall time [min-max]; MB/s by median wall, by the best run and by\n' "$RUNS"
printf 'CPU time (user+sys: what one core does when other work shares the machine)\n'
printf 'machine: %s, %s cores, load %s\n\n' "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$(nproc)" \
	"$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-40s %7s %22s %7s %7s %7s %8s %7s\n' tool "MB in" "wall s" "MB/s" "best" "cpu" "peak MiB" "lines"

# row NAME MB INPUT(- for none) -- CMD...: measures and prints one row; sets R_WALL R_RSS R_RC
row() {
	local name=$1 mb=$2 inp=$3 out="$WORK/out.txt" m
	shift 4
	m=$($MEASURE "$RUNS" "$inp" "$out" -- "$@")
	eval "$(echo "$m" | tr ' ' '\n' | sed 's/^/R_/')"
	R_WALL=$R_wall_med R_MIN=$R_wall_min R_CPU=$R_cpu_med R_RSS=$R_rss_max R_RC=$R_rc
	if [ "$R_RC" -ne 0 ]; then
		printf '%-40s %7s   failed (exit %s)\n' "$name" "$mb" "$R_RC"
		return
	fi
	printf '%-40s %7s %22s %7.0f %7.0f %7.0f %8.1f %7s\n' "$name" "$mb" \
		"$(printf '%.3f [%.3f-%.3f]' "$R_wall_med" "$R_wall_min" "$R_wall_max")" \
		"$(awk -v m="$mb" -v t="$R_wall_med" 'BEGIN { print m / t }')" \
		"$(awk -v m="$mb" -v t="$R_wall_min" 'BEGIN { print m / t }')" \
		"$(awk -v m="$mb" -v t="$R_cpu_med" 'BEGIN { print (t >= 0.005 ? m / t : 0) }')" \
		"$R_rss_max" "$(wc -l <"$out")"
}

row "kiln collapse" "$big_mb" - -- "$KILN" collapse "$BIG"
K_WALL=$R_WALL K_MIN=$R_MIN K_CPU=$R_CPU K_RSS=$R_RSS
row "kiln collapse --tid --all" "$big_mb" - -- "$KILN" collapse --tid --all "$BIG"
KT_WALL=$R_WALL KT_MIN=$R_MIN KT_CPU=$R_CPU KT_RSS=$R_RSS
row "kiln collapse < stdin" "$big_mb" "$BIG" -- "$KILN" collapse -
if command -v zstd >/dev/null; then
	[ -s "$BIG.zst" ] && [ "$BIG.zst" -nt "$BIG" ] || zstd -q -1 -T0 -f "$BIG" -o "$BIG.zst"
	row "kiln collapse FILE.zst" "$big_mb" - -- "$KILN" collapse "$BIG.zst"
fi
row "kiln collapse (slice)" "$slice_mb" - -- "$KILN" collapse "$SLICE"
KS_WALL=$R_WALL KS_RSS=$R_RSS

# stackcollapse-perf.pl, if the user has it
PL=${COLLAPSE_PL:-$(command -v stackcollapse-perf.pl || true)}
PL_WALL=
if [ -n "$PL" ] && [ -e "$PL" ]; then
	row "stackcollapse-perf.pl (slice)" "$slice_mb" - -- perl "$PL" "$SLICE"
	PL_WALL=$R_WALL PL_RSS=$R_RSS
else
	printf '%-40s %7s   not installable here: not packaged in Debian nor on npm\n' \
		"stackcollapse-perf.pl" "-"
fi

# cpuprofilify from npm
NPM_DIR="$WORK/npm"
CP="$NPM_DIR/node_modules/.bin/cpuprofilify"
if [ ! -x "$CP" ] && command -v npm >/dev/null; then
	npm install --silent --no-audit --no-fund --prefix "$NPM_DIR" cpuprofilify@1.0.0 >/dev/null 2>&1 || true
fi
CP_WALL=
if [ -x "$CP" ] && command -v node >/dev/null; then
	row "cpuprofilify 1.0.0 (npm, slice)" "$slice_mb" "$SLICE" -- "$CP"
	[ "$R_RC" -eq 0 ] && CP_WALL=$R_WALL CP_RSS=$R_RSS
else
	printf '%-40s %7s   not available (npm install failed or no node)\n' "cpuprofilify (npm)" "-"
fi

# perf script as the producer's rate
PS_RATE=
if command -v perf >/dev/null && [ -x "$BUILD/workloads/collapse_chain" ] &&
	perf record -q -g -e cpu-clock -F 4999 -o "$WORK/perf.data" "$BUILD/workloads/collapse_chain" 2000 \
		>/dev/null 2>&1; then
	perf script -i "$WORK/perf.data" >"$WORK/perf-real.txt" 2>/dev/null
	ps_mb=$(awk -v b="$(stat -c %s "$WORK/perf-real.txt")" 'BEGIN { printf "%.1f", b / 1e6 }')
	row "perf script (producer, MB out)" "$ps_mb" - -- perf script -i "$WORK/perf.data"
	PS_RATE=$(awk -v m="$ps_mb" -v t="$R_WALL" 'BEGIN { printf "%.0f", m / t }')
	row "kiln collapse (that perf script text)" "$ps_mb" - -- "$KILN" collapse "$WORK/perf-real.txt"
else
	printf '%-40s %7s   skipped: perf record does not work here\n' "perf script (producer)" "-"
fi

echo
rate() { awk -v m="$big_mb" -v t="$1" 'BEGIN { printf "%.0f", m / t }'; }
k_rate=$(rate "$K_WALL")
printf 'kiln collapse: %s MB/s by median wall, %s MB/s best run, %s MB/s per CPU second; peak %s MiB\n' \
	"$k_rate" "$(rate "$K_MIN")" "$(rate "$K_CPU")" "$K_RSS"
printf 'target >= 500 MB/s on one core (CPU time): %s\n' \
	"$(awk -v r="$(rate "$K_CPU")" 'BEGIN { print (r >= 500 ? "met" : "NOT met") }')"
printf 'with --tid --all (%s distinct stacks): %s MB/s median wall, %s MB/s per CPU second, peak %s MiB\n' \
	"$("$KILN" collapse --tid --all "$BIG" | wc -l)" "$(rate "$KT_WALL")" "$(rate "$KT_CPU")" "$KT_RSS"
if [ -n "$PL_WALL" ]; then
	printf 'vs stackcollapse-perf.pl on the same slice: %.1fx faster, %.1fx less memory\n' \
		"$(awk -v a="$PL_WALL" -v b="$KS_WALL" 'BEGIN { print a / b }')" \
		"$(awk -v a="$PL_RSS" -v b="$KS_RSS" 'BEGIN { print a / b }')"
else
	printf 'vs stackcollapse-perf.pl: not run (FlameGraph quotes ~50 MB/s for it: %.0fx)\n' \
		"$(awk -v r="$k_rate" 'BEGIN { print r / 50 }')"
fi
if [ -n "$CP_WALL" ]; then
	printf 'vs cpuprofilify (npm) on the same slice: %.1fx faster, %.1fx less memory\n' \
		"$(awk -v a="$CP_WALL" -v b="$KS_WALL" 'BEGIN { print a / b }')" \
		"$(awk -v a="$CP_RSS" -v b="$KS_RSS" 'BEGIN { print a / b }')"
fi
if [ -n "$PS_RATE" ]; then
	printf 'perf script produces its text at %s MB/s here: kiln collapse is %.1fx that rate\n' \
		"$PS_RATE" "$(awk -v a="$k_rate" -v b="$PS_RATE" 'BEGIN { print a / b }')"
fi
