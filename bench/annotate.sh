#!/usr/bin/env bash
# annotate.sh: kiln annotate on a synthetic 1,000,000-sample profile (bench/annotate_gen.c:
# 20,000 stacks, 2,000 functions with frames at 16 lines x 4 addresses each, the annotated
# function on a third of the stacks), text and --json, next to kiln report on the same file
# (the load alone); then kiln annotate --asm against perf annotate --stdio on a real
# recording of the same program (tests/workloads/annotate_loop), with ratios.
#
#   bench/annotate.sh            (env: RUNS=5 BUILD=build)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN="$PWD/$BUILD/kiln"
RUNS=${RUNS:-5}
WORK=${TMPDIR:-/tmp}/kiln-bench-annotate
MEASURE="python3 $PWD/bench/measure.py"
export KILN_NO_PROGRESS=1
mkdir -p "$WORK"
[ -x "$KILN" ] && [ -f "$BUILD/libkiln.a" ] || { echo "annotate.sh: build kiln first (make)" >&2; exit 1; }
cc -std=gnu11 -O2 -g -D_GNU_SOURCE -Isrc -Isrc/lib -I"$BUILD/gen" -o "$WORK/gen" bench/annotate_gen.c "$BUILD/libkiln.a" \
	$(pkg-config --libs libdw libelf libzstd zlib jansson libprotobuf-c) -liberty -lm
P1M="$WORK/1m.prof"
[ -s "$P1M" ] || "$WORK/gen" "$P1M" 1000000

m() {
	local name=$1 line
	shift
	line=$($MEASURE "$RUNS" - "$WORK/out" -- "$@")
	printf '%-40s %s\n' "$name" "$line"
	echo "$line" | sed -n 's/.*wall_med=\([0-9.]*\).*rss_max=\([0-9.]*\).*/\1 \2/p' >"$WORK/last"
}
val() { cut -d' ' -f"$1" "$WORK/last"; }

echo "== 1,000,000 samples ($(($(stat -c %s "$P1M") / 1024)) KiB kiln.prof)"
m "kiln annotate hot_kernel" -- "$KILN" annotate hot_kernel -i "$P1M" --no-source
at=$(val 1)
m "kiln annotate hot_kernel --json" -- "$KILN" annotate hot_kernel -i "$P1M" --json
m "kiln report (load + table, reference)" -- "$KILN" report -i "$P1M" --no-findings
rt=$(val 1)
awk -v a="$at" -v r="$rt" 'BEGIN { printf "kiln annotate: %.3f s on 1M samples (target < 1 s); %.2fx the time of kiln report\n", a, a / r }'

echo "== a real recording: kiln annotate --asm vs perf annotate --stdio (same program, ~3 s each)"
W="$PWD/$BUILD/workloads/annotate_loop"
if command -v perf >/dev/null && perf record -q -F 999 -g -o "$WORK/perf.data" -- "$W" 1500 >/dev/null 2>&1; then
	"$KILN" record -q -F 999 -o "$WORK/real.prof" -- "$W" 1500 >/dev/null
	m "kiln annotate hot_leaf --asm" -- "$KILN" annotate hot_leaf --asm -i "$WORK/real.prof"
	kt=$(val 1)
	m "perf annotate --stdio hot_leaf" -- perf annotate --stdio -i "$WORK/perf.data" hot_leaf
	pt=$(val 1)
	awk -v k="$kt" -v p="$pt" 'BEGIN { printf "ratio perf/kiln (annotate with instructions): %.1fx\n", p / k }'
else
	echo "perf record does not work here: no perf annotate comparison"
fi
