#!/usr/bin/env bash
# symbols.sh: timings of the symbols library: 1,000,000 resolves of ~1,000 addresses,
# and DWARF unwinding + symbolization of 100,000 samples of a python3 process
# (snapshots taken with ptrace, cycled). Prints "name value unit" lines.
#   bench/symbols.sh [SNAPSHOTS]      (BUILD=build by default; run `make` first)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
[ -f "$BUILD/libkiln.a" ] || { echo "symbols.sh: run make first" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/kiln-bench-sym.XXXXXX")
trap 'rm -rf "$out"' EXIT
cc -std=gnu11 -O2 -g -D_GNU_SOURCE -Isrc -Isrc/lib -o "$out/symbols_bench" bench/symbols_bench.c \
	"$BUILD/libkiln.a" $(pkg-config --libs libdw libelf libzstd zlib) -liberty -lm
echo "== symbols: synthetic (this process)"
"$out/symbols_bench" synthetic
echo "== symbols: libc, DWARF lines and inlining (from libc6-dbg when installed)"
"$out/symbols_bench" libc
if [ -x /usr/bin/python3 ]; then
	echo "== symbols: python3 (ptrace snapshots, DWARF unwinding)"
	"$out/symbols_bench" python "${1:-2000}"
else
	echo "python3 not installed: skipped"
fi
