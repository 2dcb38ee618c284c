#!/usr/bin/env bash
# t2101-query: kiln query on a local store filled from real recordings (kiln query
# --import cuts a kiln.prof into windows by sample time, as kiln agent writes them):
# shares come back within 5 points, counts exactly; --from/--to pick the right windows,
# --where and --comm the right processes; "this hour against the same hour yesterday" is
# two kiln query -o and a kiln diff; --list, --json, --folded; the output file is a
# kiln.prof that report and flame read.
. "$(dirname "$0")/lib.sh"

SRC="$TOP/tests/workloads/shares.c"
CFLAGS="-O1 -g -fno-omit-frame-pointer"
# prog: 60/30/10; v3/prog: hot_b does twice the work (30% -> 46%)
mkdir -p "$SCRATCH/v1" "$SCRATCH/v3"
gcc $CFLAGS -o "$SCRATCH/v1/prog" "$SRC" &&
	sed 's/^FN void hot_b(unsigned long n) { sink += spin(n); }/FN void hot_b(unsigned long n) { sink += spin(n); sink += spin(n); }/' \
		"$SRC" >"$SCRATCH/v3/prog.c" && grep -q "sink += spin(n); sink += spin(n)" "$SCRATCH/v3/prog.c" &&
	gcc $CFLAGS -o "$SCRATCH/v3/prog" "$SCRATCH/v3/prog.c" || { echo "cannot build the workloads"; exit 1; }
(cd "$SCRATCH" && "$KILN" record -q -F 499 -o before.prof -- ./v1/prog 1200 &&
	"$KILN" record -q -F 499 -o after.prof -- ./v3/prog 1200 &&
	"$KILN" record -q -F 499 -o other.prof -- "$WORKLOADS/callers3" 300) \
	>/dev/null 2>"$SCRATCH/rec.err" || { cat "$SCRATCH/rec.err"; exit 1; }
DAY1=2026-01-01T10:00:00Z DAY2=2026-01-02T10:00:00Z
S="$SCRATCH/store"
"$KILN" query --store "$S" --import "$SCRATCH/before.prof" --at $DAY1 --window 200ms 2>"$SCRATCH/imp.err" &&
	"$KILN" query --store "$S" --import "$SCRATCH/other.prof" --at $DAY1 --window 200ms --label service=other \
		2>>"$SCRATCH/imp.err" &&
	"$KILN" query --store "$S" --import "$SCRATCH/after.prof" --at $DAY2 --window 200ms 2>>"$SCRATCH/imp.err" ||
	{ cat "$SCRATCH/imp.err"; exit 1; }
export S V="$SCRATCH" DAY1 DAY2

# total FOLDED: the sum of a folded file's counts
total() { awk '{ s += $NF } END { print s + 0 }' "$1"; }
# share FOLDED FUNC: FUNC's share of the samples in percent
share() { awk -v f=";$2;" '{ t += $NF; if (index($0, f)) s += $NF } END { printf "%.1f\n", t ? 100 * s / t : 0 }' "$1"; }
# near X WANT TOL: |X - WANT| <= TOL
near() { awk -v x="$1" -v w="$2" -v t="$3" 'BEGIN { d = x - w; if (d < 0) d = -d; exit !(d <= t) }' ||
	{ echo "$1 is not within $3 of $2" >&2; return 1; }; }
export -f total share near

expect "the import says what it stored" '
	grep -q "^kiln: stored [0-9]* samples of .*before.prof. in .* as [0-9]* windows from 2026-01-01T10:00:00Z" "$V/imp.err"
'
expect "shares 60/30/10 come back from the store within 5 points" '
	"$KILN" query --store "$S" --from "2026-01-01 09:00" --to "2026-01-01 11:00" --comm prog --folded >f 2>err ||
		{ cat err; exit 1; }
	a=$(share f work_a) b=$(share f work_b) c=$(share f work_c)
	echo "work_a $a work_b $b work_c $c"
	near "$a" 60 5 && near "$b" 30 5 && near "$c" 10 5
'
expect "every sample comes back: the counts of each recording, exactly" '
	for f in before after other; do "$KILN" report --folded "$V/$f.prof" >$f.f || exit 1; done
	"$KILN" query --store "$S" --from $DAY1 --to "2026-01-01 11:00" --comm prog --folded >d1 &&
	"$KILN" query --store "$S" --from $DAY2 --folded >d2 &&
	"$KILN" query --store "$S" --where service=other --folded >o &&
	"$KILN" query --store "$S" --comm callers3 --folded >o2 &&
	"$KILN" query --store "$S" --folded >all || exit 1
	echo "before $(total before.f)=$(total d1) after $(total after.f)=$(total d2) other $(total other.f)=$(total o)=$(total o2)"
	[ "$(total before.f)" = "$(total d1)" ] && [ "$(total after.f)" = "$(total d2)" ] &&
	[ "$(total other.f)" = "$(total o)" ] && [ "$(total other.f)" = "$(total o2)" ] &&
	[ "$(total all)" = "$(( $(total before.f) + $(total after.f) + $(total other.f) ))" ] &&
	# the same stacks, not only the same totals
	sort before.f >b.s && sort d1 >d1.s && cmp b.s d1.s
'
expect "--from/--to pick the windows in the range" '
	"$KILN" query --store "$S" --from $DAY1 --to "@$(( $(date -d $DAY1 +%s) * 1000000000 + 400000000 ))" --comm prog \
		--folded >first 2>err &&
	"$KILN" query --store "$S" --from "@$(( $(date -d $DAY1 +%s) * 1000000000 + 400000000 ))" --to "2026-01-01 11:00" \
		--comm prog --folded >rest 2>>err || { cat err; exit 1; }
	"$KILN" report --folded "$V/before.prof" >before.f
	echo "first $(total first) rest $(total rest) all $(total before.f)"
	[ "$(total first)" -gt 0 ] && [ "$(total rest)" -gt "$(total first)" ] &&
	[ "$(( $(total first) + $(total rest) ))" = "$(total before.f)" ] &&
	# between the two days: nothing, said in one line, exit 1
	check_exit 1 "$KILN" query --store "$S" --from "2026-01-01 12:00" --to "2026-01-02 09:00" 2>err2 &&
	grep -q "^kiln: error: no samples in .*2026-01-01T12:00:00Z to 2026-01-02T09:00:00Z" err2 && [ "$(wc -l <err2)" = 1 ]
'
expect "this hour against the same hour yesterday: two kiln query -o and kiln diff show hot_b grow" '
	"$KILN" query --store "$S" --from "2026-01-01 10:00" --to "2026-01-01 11:00" --comm prog -o yesterday.prof 2>err &&
	"$KILN" query --store "$S" --from "2026-01-02 10:00" --to "2026-01-02 11:00" --comm prog -o today.prof 2>>err &&
	"$KILN" diff --top 1000 yesterday.prof today.prof >d.txt 2>>err || { cat err; exit 1; }
	cat d.txt
	d=$(awk "\$NF == \"hot_b\" { print \$6 }" d.txt) && echo "hot_b $d" &&
	awk -v d="$d" "BEGIN { exit !(d > 10 && d < 22) }"
'
expect "the -o file is a kiln.prof: report and flame read it, and it imports back at its own start" '
	"$KILN" query --store "$S" --from $DAY1 --to "2026-01-01 11:00" --comm prog -o q.prof 2>err || { cat err; exit 1; }
	"$KILN" report q.prof >r.txt 2>err && "$KILN" flame q.prof >f.svg 2>>err || { cat err; exit 1; }
	head -3 r.txt
	n=$(total <("$KILN" query --store "$S" --from $DAY1 --to "2026-01-01 11:00" --comm prog --folded)) &&
	grep -q "^q.prof: $n samples over [0-9.]* s" r.txt && grep -q " spin$" r.txt &&
	grep -q "<svg" f.svg && grep -q "hot_a" f.svg &&
	# and it goes back into a store at its own start time
	"$KILN" query --store s2 --import q.prof 2>err && grep -q "from 2026-01-01T10:00:00Z" err
'
expect "the default output is report'\''s table; --json is report'\''s JSON" '
	"$KILN" query --store "$S" --comm prog --from $DAY2 --top 5 >t.txt 2>err || { cat err; exit 1; }
	cat t.txt
	grep -q "Self%  *Total%  *Samples  *Module  *Function" t.txt && grep -q " spin$" t.txt &&
	"$KILN" query --store "$S" --comm prog --from $DAY2 --json >j.json 2>err || { cat err; exit 1; }
	python3 -c "import json,sys; d = json.load(open(\"j.json\")); assert d[\"format\"] == \"kiln-report\"; \
assert any(f[\"name\"] == \"spin\" for f in d[\"functions\"]), d.keys()"
'
expect "--list shows the range, the labels with their values, and the gaps" '
	"$KILN" query --store "$S" --list >l.txt 2>err || { cat err; exit 1; }
	cat l.txt
	grep -q "windows from 2026-01-01T10:00:00Z to 2026-01-02T10:00:0" l.txt &&
	grep -q "^  comm  *callers3, prog$" l.txt && grep -q "^  service  *other$" l.txt &&
	# the day between the recordings is a gap of the host
	grep -q "^gaps (no window):" l.txt && grep -q "^  [^ ]*  *2026-01-01T10:00:0[0-9.]*Z to 2026-01-02T10:00:00Z (23h59m)$" l.txt &&
	"$KILN" query --store "$S" --list --json --from $DAY2 >l.json &&
	python3 -c "import json; d = json.load(open(\"l.json\")); assert d[\"labels\"][\"comm\"] == [\"prog\"], d"
'
finish
