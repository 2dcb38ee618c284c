#!/usr/bin/env bash
# t1303-verdict: the off-CPU verdict names the run's real critical path: a shell waiting
# for its children is not "waiting" (tar | gzip is gzip on the CPU), a pipeline reader
# fed by a computing process is not waiting, while a program waiting on the outside world
# (a pipe written from outside the run, a sleep) still is.
. "$(dirname "$0")/lib.sh"

pyq() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
export -f pyq

if [ -d /usr/share/man ] && command -v tar >/dev/null && command -v gzip >/dev/null; then
	expect "sh -c 'tar cf - /usr/share/man | gzip -1': the verdict names gzip on the CPU, not the shell's wait4" '
		tar cf - /usr/share/man 2>/dev/null >/dev/null # warm the page cache: no disk waits
		"$KILN" record -q --off-cpu -o p.prof -- sh -c "tar cf - /usr/share/man | gzip -1 >/dev/null" 2>err ||
			{ cat err; exit 1; }
		"$KILN" report -i p.prof >r.txt && "$KILN" report -i p.prof --json >r.json || exit 1
		head -12 r.txt
		v=$(head -1 r.txt)
		! echo "$v" | grep -q wait4 &&
		echo "$v" | grep -Eq "^(CPU-bound: .*\(gzip, [0-9]+% of the CPU time\)|waiting: [0-9]+% of wall time runnable but waiting for a CPU, .*\(gzip, )" &&
		pyq r.json "j[\"verdict\"]" | grep -q "gzip" &&
		pyq r.json "[t for t in j[\"threads\"] if t[\"comm\"] == \"sh\" and t[\"child_wait_ns\"] > 0.9 * t[\"value\"]] != []" | grep -qx True &&
		pyq r.json "j[\"run\"][\"child_wait_ns\"] > 0 and j[\"run\"][\"wall_ns\"] > 0" | grep -qx True &&
		grep -q "^the run over .* of wall time: something on the CPU" r.txt &&
		grep -Eq "Blocked +Children +PID" r.txt
	'
else
	skip "tar | gzip verdict" "no tar, gzip or /usr/share/man"
fi

expect "a computing producer piped into a reader: CPU-bound in spin (shares), not the reader's read" '
	"$KILN" record -q --off-cpu -o p.prof -- sh -c "\"$WORKLOADS/shares\" 600 | cat >/dev/null" 2>err || { cat err; exit 1; }
	"$KILN" report -i p.prof >r.txt || exit 1
	head -1 r.txt
	head -1 r.txt | grep -Eq "^(CPU-bound: .*mostly in spin <- hot_a <- work_a \(shares, |waiting: [0-9]+% of wall time runnable but waiting for a CPU, mostly in spin)"
'

expect "cat reading a pipe written from outside the run: waiting, blocked in read" '
	{ sleep 1; echo x; } | "$KILN" record -q --off-cpu -o p.prof -- cat >out 2>err || { cat err; exit 1; }
	[ "$(cat out)" = x ] && "$KILN" report -i p.prof >r.txt || exit 1
	head -1 r.txt
	head -1 r.txt | grep -Eq "^waiting: (9[0-9]|100)% of wall time blocked, mostly in (.* <- )?read"
'

expect "a shell running sleep: waiting, blocked in the sleep, not in the shell's wait4" '
	"$KILN" record -q --off-cpu -o p.prof -- sh -c "sleep 1; true" 2>err || { cat err; exit 1; }
	"$KILN" report -i p.prof >r.txt || exit 1
	head -1 r.txt
	head -1 r.txt | grep -Eq "^waiting: (9[0-9]|100)% of wall time blocked, mostly in .*nanosleep.*\(sleep, " &&
	! head -1 r.txt | grep -q wait4
'

expect "the outside wait inside a pipeline: sh -c \"cat | wc -l\" fed from outside still waits" '
	{ sleep 1; echo x; } | "$KILN" record -q --off-cpu -o p.prof -- sh -c "cat | wc -l" >out 2>err || { cat err; exit 1; }
	"$KILN" report -i p.prof >r.txt || exit 1
	head -1 r.txt
	head -1 r.txt | grep -Eq "^waiting: (9[0-9]|100)% of wall time blocked, mostly in (.* <- )?read" &&
	! head -1 r.txt | grep -q wait4
'
finish
