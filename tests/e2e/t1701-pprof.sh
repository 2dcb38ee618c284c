#!/usr/bin/env bash
# t1701-pprof: kiln export -f pprof read by go tool pprof (the same percentages, the same
# stacks), Go's own CPU and heap profiles read by kiln (the same top functions as go tool
# pprof shows), round trips kiln -> pprof -> kiln and Go -> kiln -> pprof, kiln diff of two
# Go profiles.
. "$(dirname "$0")/lib.sh"

if ! command -v go >/dev/null; then
	skip "pprof against go tool pprof" "go is not installed (apt-get install golang-go)"
	finish
	exit $?
fi
export GOCACHE="$BUILD/gocache" GOPATH="$BUILD/gopath" GOFLAGS=-mod=mod GO111MODULE=auto GOTOOLCHAIN=local
# A Go program with known CPU and heap profiles (tests/go/burn.go), built once.
BURN="$BUILD/go/burn"
if [ ! -x "$BURN" ] || [ "$TOP/tests/go/burn.go" -nt "$BURN" ]; then
	mkdir -p "$BUILD/go" && go build -o "$BURN" "$TOP/tests/go/burn.go" 2>"$SCRATCH/gobuild.err" ||
		{ cat "$SCRATCH/gobuild.err"; }
fi
GO_CPU="$SCRATCH/go-cpu.pprof" GO_HEAP="$SCRATCH/go-heap.pprof"
"$BURN" "$GO_CPU" "$GO_HEAP" 1.5 2>"$SCRATCH/burn.err" || cat "$SCRATCH/burn.err"
# A kiln recording of three threads (50/30/20 percent of the work).
KP="$SCRATCH/threads.prof"
"$KILN" record -q -o "$KP" -- "$WORKLOADS/threads" 600 >/dev/null 2>"$SCRATCH/rec.err" || cat "$SCRATCH/rec.err"
export BURN GO_CPU GO_HEAP KP

# gotop FILE [ARGS]: "NAME FLAT% CUM%" for every row of go tool pprof -top
gotop() {
	local f=$1
	shift
	go tool pprof -top -nodecount=1000 "$@" "$f" 2>/dev/null |
		awk '/^ *flat +flat%/ { on = 1; next } on && NF >= 6 { n = $6; for (i = 7; i <= NF; i++) n = n " " $i; gsub("%", "", $2); gsub("%", "", $5); print n "\t" $2 "\t" $5 }'
}
# kilntop FILE [ARGS]: "NAME SELF% TOTAL%" for every row of kiln report; a name that two
# modules have (kiln's functions are name and module, pprof's only names) is left out
kilntop() {
	local f=$1
	shift
	"$KILN" report --percent-limit 0 "$@" "$f" |
		awk '/^ +Self% +Total%/ { on = 1; next } on && /%/ { gsub("%", "", $1); gsub("%", "", $2); r[++n] = $NF "\t" $1 "\t" $2; c[$NF]++; k[n] = $NF }
		     END { for (i = 1; i <= n; i++) if (c[k[i]] == 1) print r[i] }'
}
# gotraces FILE: go tool pprof -traces as folded stacks (root first), counts summed, sorted
gotraces() {
	go tool pprof -traces "$@" 2>/dev/null | awk '
		function flush() { if (n) { s = st[n]; for (i = n - 1; i >= 1; i--) s = s ";" st[i]; sum[s] += cnt } n = 0 }
		/^-+\+-+$/ { flush(); inblk = 1; next }
		!inblk { next }
		/^ +[A-Za-z_]+: / { next }
		/^ +[0-9.]+[a-zA-Z]* +[^ ]/ { flush(); cnt = $1; sub(/^ +[^ ]+ +/, ""); st[++n] = $0; next }
		/^ +[^ ]/ { sub(/^ +/, ""); st[++n] = $0; next }
		END { flush(); for (s in sum) print s " " sum[s] }' | sed 's/ (inline)//g' | LC_ALL=C sort
}
# kilnstacks FILE: kiln's folded stacks without the process root and the _[k]/_[i] marks
kilnstacks() {
	"$KILN" report --folded "$@" | sed 's/^[^;]*;//; s/_\[[kij]\]//g' |
		awk '{ c = $NF; $NF = ""; sub(/ $/, ""); sum[$0] += c } END { for (s in sum) print s " " sum[s] }' | LC_ALL=C sort
}
export -f gotop kilntop gotraces kilnstacks

expect "a kiln profile exported to pprof: go tool pprof -top shows kiln's flat and cum percentages within 0.5 points" '
	"$KILN" export -f pprof -o k.pb.gz "$KP" 2>err && [ ! -s err ] && gzip -t k.pb.gz &&
	gotop k.pb.gz >go.txt && kilntop "$KP" >kiln.txt && [ -s go.txt ] && [ -s kiln.txt ] &&
	head -12 go.txt >top.txt && [ "$(wc -l <top.txt)" -ge 5 ] &&
	awk -F "\t" "NR == FNR { s[\$1] = \$2; t[\$1] = \$3; next }
		{ if (!(\$1 in s)) next;  # a name two modules share
		  d1 = s[\$1] - \$2; d2 = t[\$1] - \$3; if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2;
		  if (d1 > 0.5 || d2 > 0.5) { print \$1 \": kiln \" s[\$1] \"/\" t[\$1] \" pprof \" \$2 \"/\" \$3; bad = 1 } }
		END { exit bad }" kiln.txt top.txt &&
	grep -q "^spin	" top.txt && grep -q "^burn_a	" top.txt
'
expect "the same with -sample_index=cpu_ns (every value type is in the file)" '
	"$KILN" export -f pprof -o k.pb.gz "$KP" && gotop k.pb.gz -sample_index=cpu_ns >go.txt &&
	kilntop "$KP" --value cpu_ns >kiln.txt && head -8 go.txt >top.txt &&
	awk -F "\t" "NR == FNR { s[\$1] = \$2; t[\$1] = \$3; next }
		\$1 in s { d1 = s[\$1] - \$2; d2 = t[\$1] - \$3; if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2;
		  if (d1 > 0.5 || d2 > 0.5) { print; bad = 1 } } END { exit bad }" kiln.txt top.txt && grep -q "^spin	" top.txt
'
expect "go tool pprof -traces shows kiln's stacks with their counts, and thread labels" '
	"$KILN" export -f pprof -o k.pb.gz "$KP" && gotraces k.pb.gz >go.txt && kilnstacks "$KP" >kiln.txt &&
	[ "$(wc -l <kiln.txt)" -ge 3 ] && diff -u kiln.txt go.txt &&
	go tool pprof -traces k.pb.gz 2>/dev/null >tr.txt &&
	grep -Eq "^ +thread: +worker-a$" tr.txt && grep -Eq "^ +tid: +[0-9]+$" tr.txt && grep -Eq "^ +pid: +[0-9]+$" tr.txt
'
expect "round trip kiln -> pprof -> kiln keeps every stack, thread and count" '
	"$KILN" export -f pprof -o k.pb.gz "$KP" &&
	"$KILN" report --folded "$KP" >a.folded && "$KILN" report --folded k.pb.gz >b.folded && diff -u a.folded b.folded &&
	"$KILN" export -f folded "$KP" >c.folded && diff -u a.folded c.folded &&
	for v in samples cpu_ns; do
		"$KILN" report --folded --value $v "$KP" >a.folded && "$KILN" report --folded --value $v k.pb.gz >b.folded &&
		diff -u a.folded b.folded || exit 1
	done
'
expect "inlined functions become lines of one location (go tool pprof marks them inline)" '
	printf "main;caller;inlinee_[i] 7\nmain;caller 3\n" >in.folded &&
	"$KILN" export -f pprof -o i.pb.gz in.folded && go tool pprof -traces i.pb.gz 2>/dev/null >tr.txt &&
	grep -q "inlinee (inline)" tr.txt && "$KILN" report --folded i.pb.gz >back.folded &&
	grep -q ";main;caller;inlinee_\[i\] 7$" back.folded && "$KILN" report --folded in.folded | diff - back.folded
'
expect "Go CPU profile: kiln report shows the top functions of go tool pprof, within 0.5 points" '
	[ -s "$GO_CPU" ] && gotop "$GO_CPU" >go.txt && kilntop "$GO_CPU" >kiln.txt &&
	head -1 go.txt | cut -f1 >g1 && head -1 kiln.txt | cut -f1 >k1 && diff g1 k1 && grep -qx main.spin k1 &&
	awk -F "\t" "NR == FNR { s[\$1] = \$2; t[\$1] = \$3; next }
		\$1 ~ /^main\\./ { d1 = s[\$1] - \$2; d2 = t[\$1] - \$3; if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2;
		  if (!(\$1 in s) || d1 > 0.5 || d2 > 0.5) { print \$0; bad = 1 } } END { exit bad }" kiln.txt go.txt &&
	"$KILN" report "$GO_CPU" >r.txt && grep -q "samples at 100 Hz" r.txt
'
expect "Go heap profile: inuse_space by default, as go tool pprof; keepC holds three times keepD" '
	[ -s "$GO_HEAP" ] && gotop "$GO_HEAP" >go.txt && kilntop "$GO_HEAP" >kiln.txt &&
	head -2 go.txt | cut -f1 >g2 && head -2 kiln.txt | cut -f1 >k2 && diff g2 k2 &&
	printf "main.keepC\nmain.keepD\n" | diff - k2 &&
	for v in alloc_space inuse_objects; do
		gotop "$GO_HEAP" -sample_index=$v | head -1 | cut -f1,2 >g && kilntop "$GO_HEAP" --value $v | head -1 | cut -f1,2 >k &&
		diff g k || exit 1
	done
'
expect "round trip Go -> kiln export -> pprof: go tool pprof shows the same table" '
	"$KILN" export -f pprof -o back.pb.gz "$GO_CPU" && gotop "$GO_CPU" >a.txt && gotop back.pb.gz >b.txt &&
	diff -u a.txt b.txt && gotraces "$GO_CPU" >a.tr && gotraces back.pb.gz >b.tr && diff -u a.tr b.tr
'
expect "uncompressed pprof (--no-gzip) reads back the same" '
	"$KILN" export -f pprof --no-gzip -o raw.pb "$KP" && ! gzip -t raw.pb 2>/dev/null &&
	"$KILN" report --folded "$KP" >a && "$KILN" report --folded raw.pb >b && diff a b &&
	go tool pprof -top raw.pb >/dev/null 2>&1
'
expect "kiln diff go-before.pprof go-after.pprof just works, and flame draws a Go profile" '
	"$BURN" before.pprof h1 0.5 && "$BURN" after.pprof h2 0.5 &&
	"$KILN" diff before.pprof after.pprof >d.svg && grep -q "main.burnA" d.svg &&
	"$KILN" diff --folded before.pprof after.pprof >d.txt && grep -q "main.burnA" d.txt &&
	"$KILN" flame "$GO_CPU" >f.svg && grep -q "main.spin" f.svg
'
expect "pprof from standard input, gzipped or not" '
	"$KILN" report - <"$GO_CPU" >a.txt && grep -q main.spin a.txt &&
	gzip -dc "$GO_CPU" | "$KILN" report --folded - >b.txt && grep -q main.spin b.txt
'
finish
