#!/usr/bin/env bash
# formats.sh: kiln export and import of a 1,000,000-sample profile in every format, and a
# ~100 MB pprof read, against go tool pprof reading the same pprof (time and peak RSS), with
# ratios.
#
#   bench/formats.sh            (env: RUNS=3 BUILD=build GO_BIG=1 to run go tool pprof on the
#                                100 MB pprof too: about 5 minutes and 8.6 GB here)
#
# The profiles come from bench/formats_gen.c (deterministic): 1M samples of 4 threads over
# 20,000 stacks (depth 5-40, hot ones) with times and two values, like a long kiln record;
# and 1.5M samples of 64 threads over 1M stacks, nearly all distinct once in pprof (~100 MB
# uncompressed). Kept in $TMPDIR/kiln-bench-formats.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN="$PWD/$BUILD/kiln"
RUNS=${RUNS:-3}
WORK=${TMPDIR:-/tmp}/kiln-bench-formats
MEASURE="python3 $PWD/bench/measure.py"
export KILN_NO_PROGRESS=1 GOCACHE="$PWD/$BUILD/gocache"
mkdir -p "$WORK"
[ -x "$KILN" ] && [ -f "$BUILD/libkiln.a" ] || { echo "formats.sh: build kiln first (make)" >&2; exit 1; }
cc -std=gnu11 -O2 -g -D_GNU_SOURCE -Isrc -Isrc/lib -I"$BUILD/gen" -o "$WORK/gen" bench/formats_gen.c "$BUILD/libkiln.a" \
	$(pkg-config --libs libdw libelf libzstd zlib jansson libprotobuf-c) -liberty -lm
P1M="$WORK/1m.prof" BIG="$WORK/big.prof"
[ -s "$P1M" ] || "$WORK/gen" "$P1M" 1000000
[ -s "$BIG" ] || "$WORK/gen" "$BIG" 1500000 1000000 64

# m NAME INPUT -- CMD: one measurement line (median wall, peak RSS)
m() {
	local name=$1 line
	shift
	line=$($MEASURE "$RUNS" - "$WORK/out" -- "$@")
	printf '%-34s %s\n' "$name" "$line"
	echo "$line" | sed -n 's/.*wall_med=\([0-9.]*\).*rss_max=\([0-9.]*\).*/\1 \2/p' >"$WORK/last"
}
val() { cut -d' ' -f"$1" "$WORK/last"; }

echo "== 1,000,000 samples: export (kiln.prof -> FORMAT) and import (FORMAT -> kiln report)"
for f in pprof speedscope firefox chrome json folded; do
	"$KILN" export -f $f -o "$WORK/1m.$f" "$P1M" 2>/dev/null
	m "export -f $f" -- "$KILN" export -f $f -o "$WORK/x.$f" "$P1M"
	size=$(stat -c %s "$WORK/1m.$f")
	echo "    output $((size / 1048576)) MiB"
done
for f in pprof speedscope chrome; do
	m "import $f (kiln report)" -- "$KILN" report "$WORK/1m.$f"
	[ $f = pprof ] && { kt=$(val 1); kr=$(val 2); }
done
if command -v go >/dev/null; then
	m "go tool pprof -top (same pprof)" -- go tool pprof -top "$WORK/1m.pprof"
	gt=$(val 1) gr=$(val 2)
	awk -v kt="$kt" -v gt="$gt" -v kr="$kr" -v gr="$gr" 'BEGIN { printf "ratio go/kiln on the 1M pprof: time %.1fx, peak memory %.1fx\n", gt / kt, gr / kr }'
fi

echo "== a ~100 MB pprof (uncompressed), nearly every sample distinct"
"$KILN" export -f pprof --no-gzip -o "$WORK/big.pb" "$BIG"
size=$(stat -c %s "$WORK/big.pb")
echo "    $((size / 1048576)) MiB"
m "kiln report (100 MB pprof)" -- "$KILN" report "$WORK/big.pb"
kt=$(val 1) kr=$(val 2)
awk -v r="$kr" -v s="$size" 'BEGIN { printf "kiln peak memory / file size: %.2fx (limit 4x)\n", r * 1048576 / s }'
if command -v go >/dev/null && [ -n "${GO_BIG:-}" ]; then
	RUNS=1 m "go tool pprof -top (100 MB pprof)" -- go tool pprof -top "$WORK/big.pb"
	gt=$(val 1) gr=$(val 2)
	awk -v kt="$kt" -v gt="$gt" -v kr="$kr" -v gr="$gr" 'BEGIN { printf "ratio go/kiln on the 100 MB pprof: time %.1fx, peak memory %.1fx\n", gt / kt, gr / kr }'
fi
