#!/usr/bin/env bash
# t0204-flame-viewer: the viewer script inside the SVG, run in jsdom (a browser DOM for
# node): hover, click to zoom, reset, regex search with the matched share, keyboard.
. "$(dirname "$0")/lib.sh"

expect "the embedded viewer (flame_js.c) is generated from flame.js" '
	python3 "$TOP/scripts/gen-flame-js.py" --check
'
if ! command -v node >/dev/null || [ ! -e /usr/share/nodejs/jsdom/package.json ]; then
	skip "the viewer works in a DOM" "node or jsdom missing (scripts/deps.sh --test installs nodejs and node-jsdom)"
	finish
	exit
fi
expect "hover, zoom, reset, search and keys work in the SVG kiln writes" '
	printf "main;parse;read 30\nmain;parse 10\nmain;eval;add 50\nmain;eval;mul 8\nmain;eval;mul;tiny 2\nmain;add;add 20\n" >v.folded &&
	"$KILN" flame v.folded -o v.svg &&
	NODE_PATH=/usr/share/nodejs node "$TOP/tests/e2e/flame-viewer.js" v.svg >out 2>&1 &&
	grep -q "viewer ok" out || { cat out; exit 1; }
'
expect "the viewer also runs on an inverted differential graph" '
	printf "main;parse;read 30\nmain;parse 10\nmain;eval;add 50\nmain;eval;mul 8\nmain;eval;mul;tiny 2\nmain;add;add 20\n" >v.folded &&
	printf "main;parse 5\n" >b.folded &&
	"$KILN" diff b.folded v.folded -o d.svg && "$KILN" flame --inverted v.folded -o i.svg &&
	NODE_PATH=/usr/share/nodejs node "$TOP/tests/e2e/flame-viewer.js" d.svg >out 2>&1 && grep -q "viewer ok" out &&
	NODE_PATH=/usr/share/nodejs node "$TOP/tests/e2e/flame-viewer.js" i.svg >out 2>&1 && grep -q "viewer ok" out || { cat out; exit 1; }
'
finish
