#!/usr/bin/env bash
# t0101-collapse-peer: kiln collapse is byte-identical to FlameGraph's stackcollapse-perf.pl
# on the 78 peer cases (tests/data/flamegraph-collapse/cases.tsv), for plain, gzip and zstd
# input, from a file, from standard input and into -o FILE.
. "$(dirname "$0")/lib.sh"
PEER="$DATA/flamegraph-collapse"
export PEER

while IFS=$'\t' read -r name flags input expected; do
	[ "$name" = name ] && continue
	expect "peer case $name ($flags)" '
		"$KILN" collapse '"$flags"' "$PEER/'"$input"'" >out 2>err || { cat err; exit 1; }
		cmp out "$PEER/'"$expected"'" || { diff out "$PEER/'"$expected"'" | head -20; exit 1; }
	'
done <"$PEER/cases.tsv"

# The cases again from compressed copies of the inputs (all 78 from gzip; every fifth,
# which covers every input and every option, from zstd and from standard input).
for comp in gzip zstd stdin; do
	[ $comp = gzip ] && every=1 want=78 || every=5 want=15
	if [ "$comp" != stdin ] && ! command -v "$comp" >/dev/null; then
		skip "the cases from $comp input" "$comp is not installed"
		continue
	fi
	expect "$want cases give identical output from $comp input" '
		n=0 i=0
		while IFS=$'"'"'\t'"'"' read -r name flags input expected; do
			[ "$name" = name ] && continue
			i=$((i + 1))
			[ $((i % '$every')) -eq 0 ] || continue
			case '"$comp"' in
			gzip) [ -e "$(basename "$input").gz" ] || gzip -c "$PEER/$input" >"$(basename "$input").gz"
			      "$KILN" collapse $flags "$(basename "$input").gz" >out ;;
			zstd) [ -e "$(basename "$input").zst" ] || zstd -q -c "$PEER/$input" >"$(basename "$input").zst"
			      "$KILN" collapse $flags "$(basename "$input").zst" >out ;;
			stdin) "$KILN" collapse $flags - <"$PEER/$input" >out ;;
			esac
			rc=$?
			[ $rc -eq 0 ] || { echo "$name: exit $rc"; exit 1; }
			cmp -s out "$PEER/$expected" || { echo "$name differs"; exit 1; }
			n=$((n + 1))
		done <"$PEER/cases.tsv"
		[ $n -eq '$want' ] || { echo "ran $n cases, not '$want'"; exit 1; }
	'
done

expect "-o FILE writes the same bytes and nothing to stdout (options after the file too)" '
	"$KILN" collapse "$PEER/inputs/perf-vertx-stacks-01.txt" --all -o out.folded >stdout &&
	[ ! -s stdout ] && cmp out.folded "$PEER/expected/perf-vertx-stacks-01-collapsed-all.txt" &&
	[ -z "$(ls | grep tmp)" ]
'
expect "--all is --kernel --jit" '
	"$KILN" collapse --kernel --jit "$PEER/inputs/perf-java-stacks-01.txt" >a &&
	cmp a "$PEER/expected/perf-java-stacks-01-collapsed-all.txt"
'
expect "several inputs concatenated sum up (counts of the same stack add)" '
	cat "$PEER/inputs/perf-funcab-cmd-01.txt" "$PEER/inputs/perf-funcab-cmd-01.txt" >two.txt &&
	"$KILN" collapse two.txt >two && "$KILN" collapse "$PEER/inputs/perf-funcab-cmd-01.txt" >one &&
	awk "{ \$NF = \$NF * 2; print }" one >want && cmp two want
'
finish
