#!/usr/bin/env bash
# t2801-go-test-profiles: the profiles `go test -cpuprofile` and `-memprofile` write (a Go
# benchmark, tests/go/gotest) read by kiln report, annotate, diff and export: the same
# top functions and percentages as go tool pprof, the same per-line counts as
# go tool pprof -list, the default value Go chose (alloc_space for -memprofile), and a
# round trip through kiln export that go tool pprof reads back as the same table.
. "$(dirname "$0")/lib.sh"

if ! command -v go >/dev/null; then
	skip "go test -cpuprofile" "go is not installed (apt-get install golang-go)"
	finish
	exit $?
fi
export GOCACHE="$BUILD/gocache" GOPATH="$BUILD/gopath" GOFLAGS=-mod=mod GOTOOLCHAIN=local
# go test needs its package in a directory of its own; profile two runs (for diff)
G="$SCRATCH/gotest"
cp -r "$TOP/tests/go/gotest" "$G"
(cd "$G" && go test -run XXX -bench . -benchtime 1s -cpuprofile cpu.out -memprofile mem.out \
	-memprofilerate 1 >bench.txt 2>&1 &&
	go test -run XXX -bench Burn -benchtime 20x -cpuprofile cpu2.out >>bench.txt 2>&1) || cat "$G/bench.txt"
export G

# gotop FILE [ARGS]: "NAME FLAT% CUM%" for every row of go tool pprof -top
gotop() {
	local f=$1
	shift
	go tool pprof -top -nodecount=1000 "$@" "$f" 2>/dev/null |
		awk '/^ *flat +flat%/ { on = 1; next } on && NF >= 6 { n = $6; for (i = 7; i <= NF; i++) n = n " " $i; sub(/ \(inline\)$/, "", n); gsub("%", "", $2); gsub("%", "", $5); print n "\t" $2 "\t" $5 }'
}
# kilntop FILE [ARGS]: "NAME SELF% TOTAL%" for every row of kiln report
kilntop() {
	local f=$1
	shift
	"$KILN" report --percent-limit 0 "$@" "$f" |
		awk '/^ +Self% +Total%/ { on = 1; next } on && /%/ { gsub("%", "", $1); gsub("%", "", $2); n = $NF; if (n == "(inlined)") n = $(NF - 1); print n "\t" $1 "\t" $2 }'
}
# within FILE_KILN FILE_GO: every row of FILE_GO is in FILE_KILN, flat and cum within 0.5 points
within() {
	awk -F "\t" 'NR == FNR { s[$1] = $2; t[$1] = $3; next }
		{ if (!($1 in s)) { print "kiln lacks " $1; bad = 1; next }
		  d1 = s[$1] - $2; d2 = t[$1] - $3; if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2;
		  if (d1 > 0.5 || d2 > 0.5) { print $1 ": kiln " s[$1] "/" t[$1] " pprof " $2 "/" $3; bad = 1 } }
		END { exit bad }' "$1" "$2"
}
export -f gotop kilntop within

expect "go test -cpuprofile: kiln report's top functions and percentages are go tool pprof's (within 0.5 points)" '
	[ -s "$G/cpu.out" ] && gotop "$G/cpu.out" >go.txt && kilntop "$G/cpu.out" >kiln.txt &&
	head -10 go.txt >top.txt && [ "$(wc -l <top.txt)" -ge 5 ] && within kiln.txt top.txt &&
	head -1 kiln.txt | cut -f1 | grep -qx "example.com/kilngotest.spin" &&
	h=$(awk -F "\t" "\$1 == \"example.com/kilngotest.heavy\" { print \$3 }" kiln.txt) &&
	l=$(awk -F "\t" "\$1 == \"example.com/kilngotest.light\" { print \$3 }" kiln.txt) &&
	awk -v h="$h" -v l="$l" "BEGIN { exit !(h > 1.8 * l && l > 5) }" &&
	"$KILN" report "$G/cpu.out" >r.txt && grep -q "samples at 100 Hz" r.txt
'
expect "go test -memprofile: alloc_space by default, as Go marks it; keepBig has three times keepSmall; inuse_space too" '
	[ -s "$G/mem.out" ] && gotop "$G/mem.out" >go.txt && kilntop "$G/mem.out" >kiln.txt &&
	head -2 go.txt | cut -f1 >g2 && head -2 kiln.txt | cut -f1 >k2 && diff g2 k2 &&
	printf "example.com/kilngotest.keepBig\nexample.com/kilngotest.keepSmall\n" | diff - k2 &&
	head -6 go.txt >top.txt && within kiln.txt top.txt &&
	"$KILN" report "$G/mem.out" >r.txt && grep -q "most alloc_space in example.com/kilngotest.keepBig" r.txt &&
	for v in alloc_objects inuse_space; do
		gotop "$G/mem.out" -sample_index=$v | head -3 >g && kilntop "$G/mem.out" --value $v >k && within k g || exit 1
	done
'
expect "kiln annotate of a go test profile: per-line flat and cum equal go tool pprof -list" '
	"$KILN" annotate --json kilngotest.spin -i "$G/cpu.out" --source-dir "$G" >a.json 2>err &&
	go tool pprof -unit=ns -list "kilngotest.spin\$" "$G/cpu.out" 2>/dev/null |
		awk "/^ *[0-9]+ns +[0-9.]+ns +[0-9]+:/ { sub(/ns\$/, \"\", \$1); sub(/ns\$/, \"\", \$2); sub(/:.*/, \"\", \$3); print \$3, \$1, \$2 }" >go.txt &&
	python3 -c "
import json
j = json.load(open(\"a.json\"))
for l in j[\"lines\"]:
    if l[\"self\"] or l[\"total\"]:
        print(l[\"line\"], int(l[\"self\"]), int(l[\"total\"]))
" >kiln.txt && [ -s go.txt ] && diff -u go.txt kiln.txt
'
expect "kiln diff of two go test -cpuprofile runs: the folded sums are those of each run" '
	[ -s "$G/cpu2.out" ] && "$KILN" diff --folded "$G/cpu.out" "$G/cpu2.out" >d.txt &&
	"$KILN" report --folded "$G/cpu.out" | awk "{ s += \$NF } END { print s }" >a &&
	"$KILN" report --folded "$G/cpu2.out" | awk "{ s += \$NF } END { print s }" >b &&
	awk "{ x += \$(NF - 1); y += \$NF } END { print x; print y }" d.txt >got && cat a b | diff - got &&
	grep -q "kilngotest.heavy" d.txt &&
	"$KILN" diff "$G/cpu.out" "$G/cpu2.out" >d.svg && grep -q "kilngotest.heavy" d.svg
'
expect "round trip go test profile -> kiln export -f pprof: go tool pprof shows the same table and stacks" '
	for f in cpu.out mem.out; do
		"$KILN" export -f pprof -o back.pb.gz "$G/$f" && gotop "$G/$f" >a.txt && gotop back.pb.gz >b.txt &&
		diff -u a.txt b.txt && "$KILN" report --folded "$G/$f" >a.folded && "$KILN" report --folded back.pb.gz >b.folded &&
		diff -u a.folded b.folded || exit 1
	done
'
# foldtop FILE VALUE: "NAME SELF% TOTAL%" from kiln report --folded (without the process
# root), as go tool pprof -top computes them: self at the leaf, total once per stack
foldtop() {
	"$KILN" report --folded --value "$2" "$1" | sed 's/^[^;]*;//; s/_\[[kij]\]//g' | awk '
		{ c = $NF; $NF = ""; sub(/ $/, ""); n = split($0, f, ";"); all += c; self[f[n]] += c
		  delete seen; for (i = 1; i <= n; i++) if (!(f[i] in seen)) { seen[f[i]] = 1; tot[f[i]] += c } }
		END { for (k in tot) printf "%s\t%.2f\t%.2f\n", k, 100 * self[k] / all, 100 * tot[k] / all }'
}
export -f foldtop
expect "a kiln heap profile exported to pprof: go tool pprof -top of every value type equals kiln's (within 0.5 points)" '
	"$KILN" heap -q -o h.prof -- "$WORKLOADS/heap_known" >/dev/null 2>&1 && "$KILN" export -f pprof -o h.pb.gz h.prof 2>err &&
	[ ! -s err ] && go tool pprof -raw h.pb.gz 2>/dev/null | grep -q "peak_bytes/bytes\[dflt\]" &&
	for v in alloc_bytes alloc_count peak_bytes leaked_bytes; do
		gotop h.pb.gz -sample_index=$v | head -6 >g.txt && foldtop h.prof $v >k.txt && [ -s g.txt ] && within k.txt g.txt &&
		"$KILN" report --folded --value $v h.prof >a && "$KILN" report --folded --value $v h.pb.gz >b && diff -u a b || exit 1
	done && head -1 g.txt | cut -f1 | grep -qx leaky
'
finish
