#!/usr/bin/env bash
# flame.sh: `kiln flame` speed, peak memory and SVG size on a 66 MB folded file of
# 200,000 distinct stacks (depth 3 to 40), against the flame graph tool a user could
# install here, in one run, with ratios.
#
#   bench/flame.sh            (env: RUNS=5 SLICE=20000 NPM_TIMEOUT=900 BUILD=build)
#
# The input comes from build/workloads/gen_folded (deterministic) and is kept in
# $TMPDIR/kiln-bench-flame. Competitors:
#  - flamegraph.pl (FlameGraph): not packaged in Debian nor on npm; used if found on
#    PATH (or FLAMEGRAPH_PL=/path/to/flamegraph.pl). The issue quotes ~16 s for it here.
#  - the `flamegraph` npm package 1.3.0 (thlorenz's JavaScript port of flamegraph.pl),
#    installed into the work directory at bench time. It reads perf script text or V8
#    .cpuprofile trees, not folded stacks: bench/flame_npm.js turns the folded lines into
#    a .cpuprofile tree and lets the package lay out and write the SVG. It runs once on
#    the whole file (with NPM_TIMEOUT) and RUNS times on a SLICE-stack slice, where kiln
#    runs too.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN="$PWD/$BUILD/kiln"
GEN="$PWD/$BUILD/workloads/gen_folded"
RUNS=${RUNS:-5}
SLICE=${SLICE:-20000}
NPM_TIMEOUT=${NPM_TIMEOUT:-900}
WORK=${TMPDIR:-/tmp}/kiln-bench-flame
MEASURE="python3 $PWD/bench/measure.py"
export KILN_NO_PROGRESS=1
mkdir -p "$WORK"
[ -x "$KILN" ] && [ -x "$GEN" ] || { echo "flame.sh: build kiln first (make)" >&2; exit 1; }

BIG="$WORK/stacks-200000.folded"
if [ ! -s "$BIG" ] || [ "$GEN" -nt "$BIG" ]; then
	echo "making $BIG ..."
	"$GEN" 200000 >"$BIG"
fi
SMALL="$WORK/stacks-$SLICE.folded"
if [ ! -s "$SMALL" ] || [ "$BIG" -nt "$SMALL" ]; then
	head -n "$SLICE" "$BIG" >"$SMALL"
fi
cat "$BIG" >/dev/null # warm the page cache
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1e6 }'; }
big_mb=$(mb "$BIG") small_mb=$(mb "$SMALL")

printf 'kiln flame benchmark: %s MB of folded stacks, %s distinct stacks of depth %s;\n' "$big_mb" \
	"$(wc -l <"$BIG")" "$(awk '{ n = split($1, a, ";"); if (!m || n < m) m = n; if (n > x) x = n } END { print m "-" x }' "$BIG")"
printf 'slice: the first %s stacks (%s MB). Median wall time [min-max] of %d runs, CPU\n' "$SLICE" "$small_mb" "$RUNS"
printf 'time (user+sys: what one core does while other work shares the machine), peak RSS.\n'
printf 'machine: %s, %s cores, load %s\n\n' "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$(nproc)" \
	"$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %7s %22s %7s %9s %10s\n' tool "MB in" "wall s" "cpu s" "peak MiB" "SVG bytes"

# row NAME MB RUNS -- CMD...: measures and prints one row (output in $WORK/out.svg)
row() {
	local name=$1 mb=$2 runs=$3 out="$WORK/out.svg" m
	shift 4
	m=$($MEASURE "$runs" - "$out" -- "$@")
	eval "$(echo "$m" | tr ' ' '\n' | sed 's/^/R_/')"
	R_SIZE=$(stat -c %s "$out")
	if [ "$R_rc" -ne 0 ]; then
		printf '%-44s %7s   failed (exit %s)\n' "$name" "$mb" "$R_rc"
		return
	fi
	printf '%-44s %7s %22s %7.3f %9.1f %10s\n' "$name" "$mb" \
		"$(printf '%.3f [%.3f-%.3f]' "$R_wall_med" "$R_wall_min" "$R_wall_max")" \
		"$R_cpu_med" "$R_rss_max" "$R_SIZE"
}

row "cat (reading the input)" "$big_mb" "$RUNS" -- cat "$BIG"
row "kiln flame" "$big_mb" "$RUNS" -- "$KILN" flame "$BIG"
K_WALL=$R_wall_med K_MIN=$R_wall_min K_MAX=$R_wall_max K_CPU=$R_cpu_med K_RSS=$R_rss_max K_SIZE=$R_SIZE
xmllint --noout --huge "$WORK/out.svg" 2>/dev/null || echo "  (warning: the SVG did not pass xmllint)"
row "kiln flame --minwidth 0 (size budget only)" "$big_mb" "$RUNS" -- "$KILN" flame --minwidth 0 "$BIG"
row "kiln flame --reverse" "$big_mb" "$RUNS" -- "$KILN" flame --reverse "$BIG"
row "kiln flame --flamechart" "$big_mb" "$RUNS" -- "$KILN" flame --flamechart "$BIG"
row "kiln diff (slice vs whole)" "$big_mb" "$RUNS" -- "$KILN" diff "$SMALL" "$BIG"
row "kiln flame (slice)" "$small_mb" "$RUNS" -- "$KILN" flame "$SMALL"
KS_WALL=$R_wall_med KS_CPU=$R_cpu_med KS_RSS=$R_rss_max

# flamegraph.pl, if the user has it
PL=${FLAMEGRAPH_PL:-$(command -v flamegraph.pl || true)}
PL_WALL=
if [ -n "$PL" ] && [ -e "$PL" ]; then
	row "flamegraph.pl" "$big_mb" 1 -- perl "$PL" "$BIG"
	[ "$R_rc" -eq 0 ] && PL_WALL=$R_wall_med PL_RSS=$R_rss_max
else
	printf '%-44s %7s   not installable here: not packaged in Debian nor on npm\n' "flamegraph.pl" "-"
fi

# the flamegraph npm package
NPM_DIR="$WORK/npm"
if [ ! -d "$NPM_DIR/node_modules/flamegraph" ] && command -v npm >/dev/null; then
	npm install --silent --no-audit --no-fund --prefix "$NPM_DIR" flamegraph@1.3.0 >/dev/null 2>&1 || true
fi
NS_WALL= NB_WALL=
if [ -d "$NPM_DIR/node_modules/flamegraph" ] && command -v node >/dev/null; then
	export NODE_PATH="$NPM_DIR/node_modules"
	row "flamegraph 1.3.0 (npm, slice)" "$small_mb" "$RUNS" -- node "$PWD/bench/flame_npm.js" "$SMALL"
	[ "$R_rc" -eq 0 ] && NS_WALL=$R_wall_med NS_CPU=$R_cpu_med NS_RSS=$R_rss_max
	row "flamegraph 1.3.0 (npm)" "$big_mb" 1 -- timeout "$NPM_TIMEOUT" \
		node --max-old-space-size=16000 "$PWD/bench/flame_npm.js" "$BIG"
	[ "$R_rc" -eq 0 ] && NB_WALL=$R_wall_med NB_CPU=$R_cpu_med NB_RSS=$R_rss_max NB_SIZE=$R_SIZE
else
	printf '%-44s %7s   not available (npm install failed or no node)\n' "flamegraph (npm)" "-"
fi

echo
printf 'kiln flame, %s MB, 200,000 stacks: %.3f s median wall [%.3f-%.3f], %.3f s CPU, peak %.0f MiB, SVG %.2f MB\n' \
	"$big_mb" "$K_WALL" "$K_MIN" "$K_MAX" "$K_CPU" "$K_RSS" "$(awk -v s="$K_SIZE" 'BEGIN { print s / 1e6 }')"
printf 'target < 0.5 s: %s by median wall, %s by CPU time; SVG <= 2 MB: %s\n' \
	"$(awk -v t="$K_WALL" 'BEGIN { print (t < 0.5 ? "met" : "NOT met") }')" \
	"$(awk -v t="$K_CPU" 'BEGIN { print (t < 0.5 ? "met" : "NOT met") }')" \
	"$(awk -v s="$K_SIZE" 'BEGIN { print (s <= 2097152 ? "met" : "NOT met") }')"
if [ -n "$PL_WALL" ]; then
	printf 'vs flamegraph.pl: %.1fx faster, %.1fx less memory\n' \
		"$(awk -v a="$PL_WALL" -v b="$K_WALL" 'BEGIN { print a / b }')" \
		"$(awk -v a="$PL_RSS" -v b="$K_RSS" 'BEGIN { print a / b }')"
else
	printf 'vs flamegraph.pl: not run (the issue quotes ~16 s here: %.0fx)\n' \
		"$(awk -v b="$K_WALL" 'BEGIN { print 16 / b }')"
fi
if [ -n "$NB_WALL" ]; then
	printf 'vs flamegraph (npm), whole file: %.0fx faster (wall), %.0fx less CPU, %.0fx less memory; its SVG: %.1f MB\n' \
		"$(awk -v a="$NB_WALL" -v b="$K_WALL" 'BEGIN { print a / b }')" \
		"$(awk -v a="$NB_CPU" -v b="$K_CPU" 'BEGIN { print a / b }')" \
		"$(awk -v a="$NB_RSS" -v b="$K_RSS" 'BEGIN { print a / b }')" \
		"$(awk -v s="$NB_SIZE" 'BEGIN { print s / 1e6 }')"
elif [ -n "$NS_WALL" ]; then
	echo "flamegraph (npm) did not finish the whole file within ${NPM_TIMEOUT}s (or ran out of memory)"
fi
if [ -n "$NS_WALL" ]; then
	printf 'vs flamegraph (npm), %s-stack slice: %.0fx faster (wall), %.0fx less CPU, %.0fx less memory\n' "$SLICE" \
		"$(awk -v a="$NS_WALL" -v b="$KS_WALL" 'BEGIN { print a / b }')" \
		"$(awk -v a="$NS_CPU" -v b="$KS_CPU" 'BEGIN { print a / b }')" \
		"$(awk -v a="$NS_RSS" -v b="$KS_RSS" 'BEGIN { print a / b }')"
fi
