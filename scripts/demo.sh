#!/usr/bin/env bash
# demo.sh: `make demo`: do kiln's main job on a bundled example and say where the results are.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN="$BUILD/kiln"
OUT=demo
mkdir -p "$OUT"
echo "demo: not ready yet"
