#!/usr/bin/env bash
# t1304-report-units: kiln report never calls folded counts "samples" unless told:
# folded text records no unit, so they are "counts" by default and --unit names them
# (ns for off-CPU time, bytes, an event); kiln profiles keep their own units.
. "$(dirname "$0")/lib.sh"

pyq() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
export -f pyq

expect "folded nanoseconds (from an off-CPU profile): counts by default, nanoseconds with --unit ns" '
	"$KILN" record -q --off-cpu -o p.prof -- sh -c "sleep 0.3" 2>err || { cat err; exit 1; }
	"$KILN" report -i p.prof --folded >ns.folded && [ -s ns.folded ] &&
	"$KILN" report ns.folded >plain.txt && head -2 plain.txt &&
	! head -2 plain.txt | grep -qi "samples" && head -1 plain.txt | grep -q "of the counts)$" &&
	sed -n 2p plain.txt | grep -Eq "^ns.folded: [0-9]+ counts$" &&
	"$KILN" report --unit ns ns.folded >ns.txt && head -2 ns.txt &&
	head -1 ns.txt | grep -q "of nanoseconds)$" && sed -n 2p ns.txt | grep -Eq "^ns.folded: [0-9]+ nanoseconds$" &&
	! grep -q "Samples" ns.txt &&
	"$KILN" report --unit ns ns.folded --json >r.json &&
	[ "$(pyq r.json "j[\"value\"][\"unit\"]")" = nanoseconds ] &&
	total=$(pyq r.json "int(j[\"total\"])") && want=$(awk "{ s += \$NF } END { printf \"%d\", s }" ns.folded) &&
	[ "$total" = "$want" ]
'
expect "--unit samples, bytes, an event name; bad words are usage errors" '
	printf "prog;main;a 3\nprog;main;b 1\n" >f.folded &&
	"$KILN" report --unit samples f.folded >s.txt && sed -n 2p s.txt | grep -q "^f.folded: 4 samples$" &&
	grep -Eq "^ +75.00% +75.00% +3 +a$" s.txt &&
	"$KILN" report --unit bytes f.folded >b.txt && sed -n 2p b.txt | grep -q "^f.folded: 4 bytes$" &&
	"$KILN" report --unit cycles f.folded >c.txt && head -1 c.txt | grep -q "(75.0% of cycles)$" &&
	check_exit 2 "$KILN" report --unit "a b" f.folded 2>err && grep -q -- "--unit" err &&
	check_exit 2 "$KILN" report --unit "" f.folded 2>err
'
expect "a kiln profile keeps its units: --unit is refused with one line" '
	"$KILN" record -q -o p.prof -- "$WORKLOADS/shares" 100 2>err || { cat err; exit 1; }
	check_exit 1 "$KILN" report --unit ns p.prof >out 2>err && [ "$(wc -l <err)" -eq 1 ] && grep -q "p.prof" err &&
	"$KILN" report p.prof >r.txt && head -1 r.txt | grep -q "^on-CPU profile" && sed -n 2p r.txt | grep -q " samples of "
'
finish
