#!/usr/bin/env bash
# t0203-flame-size: the default SVG stays within 2 MB whatever the input: 200,000 unique
# stacks of depth 3 to 40 (about 66 MB of folded text), with and without --minwidth.
. "$(dirname "$0")/lib.sh"
# group N: N with thousands separators, as the SVG prints counts
group() { echo "$1" | sed -e :a -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/; ta'; }
export -f group

if ! command -v xmllint >/dev/null; then
	skip "kiln flame keeps SVGs within 2 MB" "xmllint missing (scripts/deps.sh --test installs libxml2-utils)"
	finish
	exit
fi
GEN="$WORKLOADS/gen_folded"
export GEN

expect "200,000 unique stacks: the SVG is at most 2 MB, valid, and keeps the widest frames" '
	"$GEN" 200000 >big.folded && [ "$(wc -l <big.folded)" -eq 200000 ] &&
	"$KILN" flame big.folded -o big.svg 2>err && xmllint --noout --huge big.svg &&
	size=$(stat -c %s big.svg) && [ "$size" -le 2097152 ] && [ "$size" -gt 1000000 ] &&
	grep -q "drew the widest" err &&
	total=$(awk "{ s += \$NF } END { printf \"%d\", s }" big.folded) &&
	grep -q "<title>all ($(group "$total") samples, 100.00%)</title>" big.svg &&
	"$KILN" flame --minwidth 0 --inverted --reverse big.folded -o all.svg 2>/dev/null &&
	[ "$(stat -c %s all.svg)" -le 2097152 ] && xmllint --noout --huge all.svg &&
	"$KILN" flame --max-size 4M --minwidth 0 big.folded -o four.svg 2>/dev/null &&
	s4=$(stat -c %s four.svg) && [ "$s4" -le 4194304 ] && [ "$s4" -gt 2097152 ]
'
finish
