#!/usr/bin/env bash
# setup.sh: installs the format checkers of tests/npm/package.json (exact versions from
# package-lock.json) into $BUILD/npm once; prints the node_modules path. Exits 1 (with the
# reason on stderr) when npm or the registry is not reachable.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
dir="$BUILD/npm"
if [ ! -f "$dir/.ok" ] || ! cmp -s "$TOP/tests/npm/package-lock.json" "$dir/.ok"; then
	command -v npm >/dev/null || { echo "npm is not installed" >&2; exit 1; }
	mkdir -p "$dir"
	cp "$TOP/tests/npm/package.json" "$TOP/tests/npm/package-lock.json" "$dir/"
	# a lock on the directory: parallel tests install once
	exec 9>"$dir/.lock"
	flock 9
	if [ ! -f "$dir/.ok" ] || ! cmp -s "$TOP/tests/npm/package-lock.json" "$dir/.ok"; then
		(cd "$dir" && { npm ci --offline --no-audit --no-fund --loglevel=error >/dev/null 2>&1 ||
			npm ci --no-audit --no-fund --loglevel=error >"$dir/npm.log" 2>&1; }) ||
			{ echo "npm ci failed (see $dir/npm.log)" >&2; exit 1; }
		cp "$TOP/tests/npm/package-lock.json" "$dir/.ok"
	fi
fi
echo "$dir/node_modules"
