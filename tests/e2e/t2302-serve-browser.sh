#!/usr/bin/env bash
# t2302-serve-browser: kiln serve's page in a real headless browser (Debian's chromium
# driven by puppeteer-core): pick a label (and a range, for a store), the flame graph
# draws with the expected top function, a click on a frame zooms, the comparison view
# draws a differential graph and its table. A failure keeps a screenshot in
# $BUILD/t2302-fail.png.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve-lib.sh"

CHROMIUM=$(command -v chromium || true)
NPM=$("$TOP/tests/npm/setup.sh" 2>"$SCRATCH/npm.err") || NPM=
if [ -z "$CHROMIUM" ]; then
	skip "kiln serve in a browser" "chromium is not installed (scripts/deps.sh --test installs it)"
	finish
	exit
fi
if [ -z "$NPM" ] || [ ! -d "$NPM/puppeteer-core" ]; then
	skip "kiln serve in a browser" "the npm package puppeteer-core is missing ($(head -1 "$SCRATCH/npm.err"))"
	finish
	exit
fi
export CHROMIUM NPM

# browse DIR ARGS...: runs serve-browser.js against the server of DIR; keeps a screenshot on failure
browse() {
	local dir=$1 rc
	shift
	KILN_NPM="$NPM" timeout 300 node "$TOP/tests/e2e/serve-browser.js" "$(cat "$dir/url")" "$dir" "$@"
	rc=$?
	if [ $rc -ne 0 ] && [ -f "$dir/fail.png" ]; then
		cp "$dir/fail.png" "$BUILD/t2302-fail.png" && echo "screenshot: $BUILD/t2302-fail.png"
	fi
	return $rc
}
export -f browse

P="$SCRATCH/two.prof"
"$KILN" record -q -o "$P" -- sh -c "\"$WORKLOADS/shares\" 600 & \"$WORKLOADS/shares_leaf\" 600; wait" \
	>"$SCRATCH/rec.out" 2>&1 || { cat "$SCRATCH/rec.out"; exit 1; }
export P

expect "a profile file in the browser: label comm, flame graph with spin on top, zoom, comparison" '
	serve_start "$T" "$P" || exit 1
	browse "$T" comm shares spin hot_a shares shares_leaf; rc=$?
	serve_stop "$T"
	[ $rc -eq 0 ]
'
finish
