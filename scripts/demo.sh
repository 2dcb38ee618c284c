#!/usr/bin/env bash
# demo.sh: `make demo`: do kiln's main job on a bundled example and say where the results are.
# For now: a bundled `perf script` sample (a Vert.x web server recorded with perf record -g,
# from FlameGraph's test data) -> folded stacks -> flame graph.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN="$BUILD/kiln"
OUT=demo
SAMPLE=tests/data/flamegraph-collapse/inputs/perf-vertx-stacks-01.txt
mkdir -p "$OUT"
"$KILN" collapse --all -o "$OUT/vertx.folded" "$SAMPLE"
"$KILN" flame --title "Vert.x web server, CPU (perf record -g)" --colors java \
	"$OUT/vertx.folded" -o "$OUT/vertx.svg"
stacks=$(wc -l <"$OUT/vertx.folded")
samples=$(awk '{ s += $NF } END { print s }' "$OUT/vertx.folded")
echo "demo: collapsed $SAMPLE"
echo "      into $stacks distinct stacks ($samples samples): $OUT/vertx.folded"
echo "demo: flame graph: $PWD/$OUT/vertx.svg"
echo "      open it in a browser: hover for counts, click to zoom, Ctrl-F to search"
