#!/usr/bin/env bash
# t0301-diff: kiln diff: differential flame graph colours and tooltips, difffolded's
# three columns, --normalize, the --top table, kiln profiles, bad input.
. "$(dirname "$0")/lib.sh"

# A crafted pair: grow +40 (self), shrink -20, same unchanged, gone only in BEFORE,
# new only in AFTER.
mkpair() {
	printf "main;grow 10\nmain;shrink 30\nmain;same 20\nmain;gone 5\n" >before.folded
	printf "main;grow 50\nmain;shrink 10\nmain;same 20\nmain;new 8\n" >after.folded
}
# fill NAME FILE: the fill colour of the frame titled NAME
fill() { grep -o "<title>$1 ([^<]*</title><rect [^>]*fill=\"#[0-9a-f]*\"" "$2" | grep -o "#[0-9a-f]*" | head -1; }
export -f mkpair fill

# colour: 225 * (1 - sqrt(|change| / largest change)) in the other two channels
expect "a differential flame graph: red grew, blue shrank, white unchanged, saturation by size" '
	mkpair && "$KILN" diff before.folded after.folded >d.svg &&
	{ ! command -v xmllint >/dev/null || xmllint --noout d.svg; } &&
	[ "$(fill grow d.svg)" = "#ff0000" ] &&
	s=$(fill shrink d.svg) && [ "${s:5:2}" = "ff" ] && [ "${s:1:2}" = "${s:3:2}" ] &&
	[ $((16#${s:1:2})) -ge 65 ] && [ $((16#${s:1:2})) -le 67 ] &&
	[ "$(fill same d.svg)" = "#ffffff" ] && [ "$(fill main d.svg)" = "#ffffff" ] &&
	n=$(fill new d.svg) && [ "${n:1:2}" = "ff" ] && [ $((16#${n:3:2})) -ge 124 ] && [ $((16#${n:3:2})) -le 125 ] &&
	grep -q ">Differential Flame Graph</text>" d.svg
'
expect "tooltips show both counts, the change and the change in percent" '
	mkpair && "$KILN" diff before.folded after.folded >d.svg &&
	grep -q "<title>grow (50 samples, 56.82%; before 10, +40, +400.00%; self +40, +400.00%)</title>" d.svg &&
	grep -q "<title>shrink (10 samples, 11.36%; before 30, -20, -66.67%; self -20, -66.67%)</title>" d.svg &&
	grep -q "<title>same (20 samples, 22.73%; before 20, +0, +0.00%)</title>" d.svg &&
	grep -q "<title>new (8 samples, 9.09%; before 0, +8, new; self +8, new)</title>" d.svg &&
	grep -q "<title>main (88 samples, 100.00%; before 65, +23, +35.38%)</title>" d.svg
'
expect "frames only in BEFORE are not drawn; --negate swaps the colours" '
	mkpair && "$KILN" diff before.folded after.folded >d.svg && ! grep -q "<title>gone" d.svg &&
	"$KILN" diff --negate before.folded after.folded >n.svg &&
	[ "$(fill grow n.svg)" = "#0000ff" ] && s=$(fill shrink n.svg) && [ "${s:1:2}" = "ff" ] &&
	"$KILN" diff after.folded before.folded >r.svg && grep -q "<title>gone (5 samples" r.svg
'
expect "--normalize scales BEFORE to AFTER total in the graph" '
	printf "a;x 10\na;y 10\n" >b.folded && printf "a;x 20\na;y 20\n" >a.folded &&
	"$KILN" diff b.folded a.folded >plain.svg && [ "$(fill x plain.svg)" = "#ff0000" ] &&
	"$KILN" diff -n b.folded a.folded >norm.svg &&
	[ "$(fill x norm.svg)" = "#ffffff" ] && [ "$(fill y norm.svg)" = "#ffffff" ] &&
	grep -q "<title>x (20 samples, 50.00%; before 20, +0, +0.00%)</title>" norm.svg
'
expect "--folded prints difffolded.pl's three columns for every stack, sorted" '
	mkpair && "$KILN" diff --folded before.folded after.folded >out &&
	printf "main;gone 5 0\nmain;grow 10 50\nmain;new 0 8\nmain;same 20 20\nmain;shrink 30 10\n" >want &&
	diff -u want out
'
expect "--folded --normalize scales BEFORE's counts and truncates them as difffolded.pl -n does" '
	mkpair && "$KILN" diff --folded --normalize before.folded after.folded -o out &&
	printf "main;gone 6 0\nmain;grow 13 50\nmain;new 0 8\nmain;same 27 20\nmain;shrink 40 10\n" >want &&
	diff -u want out
'
expect "--folded keeps fractional counts" '
	printf "a;b 0.5\n" >b.folded && printf "a;b 1.25\na 2\n" >a.folded &&
	"$KILN" diff --folded b.folded a.folded >out && printf "a 0 2\na;b 0.5 1.25\n" >want && diff -u want out
'
expect "--top N: a table of the functions whose share changed most" '
	mkpair && "$KILN" diff --top 3 before.folded after.folded >out &&
	grep -q "^before: before.folded (65 samples)$" out && grep -q "^after:  after.folded (88 samples)$" out &&
	grep -q "self%   total%" out &&
	sed -n "6p" out | grep -Eq "^ +15\.38 +15\.38 +56\.82 +56\.82 +\+41\.43 +\+41\.43  grow$" &&
	sed -n "7p" out | grep -Eq "^ +46\.15 +46\.15 +11\.36 +11\.36 +-34\.79 +-34\.79  shrink$" &&
	sed -n "8p" out | grep -Eq "^ +0\.00 +0\.00 +9\.09 +9\.09 +\+9\.09 +\+9\.09  new$" &&
	[ "$(wc -l <out)" -eq 8 ]
'
expect "kiln profiles compare with folded stacks; --value picks the value" '
	mkpair && sed "s/^/prog;/" before.folded >b2.folded && sed "s/^/prog;/" after.folded >a2.folded &&
	"$BUILD/tests/unit/test_flame" --save-profile b2.folded b.prof &&
	"$KILN" diff --folded b.prof a2.folded >out &&
	grep -q "^prog;main;grow 10 50$" out && grep -q "^prog;main;gone 5 0$" out &&
	"$KILN" diff --value cpu_ns b.prof b.prof --folded >same &&
	grep -q "^prog;main;grow 10000000 10000000$" same &&
	"$KILN" diff b.prof a2.folded >p.svg && [ "$(fill grow p.svg)" = "#ff0000" ]
'
expect "flame graph options apply" '
	mkpair && "$KILN" diff --title "T" --inverted --width 600 --colors blue --hash before.folded after.folded >d.svg &&
	grep -q ">T</text>" d.svg && grep -q "width=\"600\"" d.svg
'
expect "bad input: missing, directory, empty, garbage; a clear message and exit 1" '
	mkpair && mkdir dir && : >empty &&
	check_exit 1 "$KILN" diff nosuch before.folded >o 2>err && grep -q "nosuch" err && [ "$(wc -l <err)" -eq 1 ] &&
	check_exit 1 "$KILN" diff before.folded dir >o 2>err && grep -q "dir" err &&
	check_exit 1 "$KILN" diff empty after.folded >o 2>err && grep -q "empty" err &&
	head -c 3000 "$KILN" >garbage && check_exit 1 "$KILN" diff before.folded garbage >o 2>err &&
	printf "a;b 0\n" >zero && check_exit 1 "$KILN" diff before.folded zero >o 2>err && grep -q "nothing to draw" err &&
	"$KILN" diff --folded before.folded zero >o && grep -q "^main;grow 10 0$" o
'
expect "usage errors exit 2" '
	mkpair &&
	check_exit 2 "$KILN" diff before.folded 2>err && grep -q "two inputs" err &&
	check_exit 2 "$KILN" diff a b c 2>err &&
	check_exit 2 "$KILN" diff - - 2>err && grep -q "standard input" err &&
	check_exit 2 "$KILN" diff --flamechart before.folded after.folded 2>err &&
	check_exit 2 "$KILN" diff --folded --top 3 before.folded after.folded 2>err &&
	check_exit 2 "$KILN" diff --top x before.folded after.folded 2>err &&
	check_exit 2 "$KILN" diff --frob before.folded after.folded 2>err && grep -q "unknown option" err
'
expect "-o: all or nothing; help" '
	mkpair && "$KILN" diff before.folded after.folded -o d.svg >stdout && [ ! -s stdout ] && [ -s d.svg ] &&
	cp d.svg keep.svg && check_exit 1 "$KILN" diff nosuch after.folded -o d.svg 2>/dev/null && cmp d.svg keep.svg &&
	"$KILN" diff --help >h1 && "$KILN" help diff >h2 && cmp h1 h2 && grep -q "usage: kiln diff" h1 && grep -q "examples:" h1
'
finish
