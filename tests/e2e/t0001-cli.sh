#!/usr/bin/env bash
# t0001-cli: the command runner: help, version, unknown commands and options.
. "$(dirname "$0")/lib.sh"

expect "kiln --version prints the version" '
	"$KILN" --version >out && grep -Eq "^kiln [0-9]+\.[0-9]+\.[0-9]+$" out
'
expect "kiln --help lists every command" '
	"$KILN" --help >out &&
	for c in record report flame diff collapse heap stat bench; do grep -q "^  $c " out || exit 1; done
'
expect "kiln with no command prints usage and exits 2" '
	check_exit 2 "$KILN" 2>err && grep -q "usage: kiln" err
'
expect "an unknown command exits 2 with one clear line" '
	check_exit 2 "$KILN" frobnicate 2>err && [ "$(wc -l <err)" -eq 1 ] &&
	grep -q "'"'"'frobnicate'"'"' is not a kiln command" err
'
expect "an unknown top-level option exits 2" '
	check_exit 2 "$KILN" --frob 2>err && grep -q "unknown option" err
'
expect "kiln help CMD and kiln CMD --help agree for every command" '
	for c in record report flame diff collapse heap stat bench; do
		"$KILN" help $c >a 2>/dev/null; ra=$?
		"$KILN" $c --help >b 2>/dev/null; rb=$?
		[ $ra -eq $rb ] && cmp -s a b || { echo "help differs for $c"; exit 1; }
	done
'
expect "kiln help of an unknown command exits 2" '
	check_exit 2 "$KILN" help frobnicate 2>err && grep -q "not a kiln command" err
'
expect "output to a full disk is an error, not exit 0" '
	[ -w /dev/full ] || exit 0
	check_exit 1 "$KILN" --help >/dev/full 2>err && grep -q "cannot write" err
'
finish
