#!/usr/bin/env bash
# py_offsets.sh: prints the rows of src/lib/python/py_offsets.c for the CPython include
# directories given (each the directory holding Python.h, with internal/ below it), by
# compiling scripts/py_offsets_probe.c against each with Py_BUILD_CORE.
#   scripts/py_offsets.sh /usr/include/python3.11 /root/.pyenv/versions/3.12.1/include/python3.12
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for inc in "$@"; do
	cc -w -I"$inc" -I"$inc/internal" -o "$tmp/probe" "$here/py_offsets_probe.c"
	"$tmp/probe"
done
