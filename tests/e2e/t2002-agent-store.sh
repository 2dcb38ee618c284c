#!/usr/bin/env bash
# t2002-agent-store: kiln agent into the local store, read back with kiln query: the shares
# of a 60/30/10 program within 5 points and its labels; a store that fails (its database
# path taken by a directory) spools, and its windows arrive, in order, once it works; a
# restart sends the spool first; kill -9 leaves the store whole with the gap visible.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_python.sh"
. "$(dirname "$0")/lib_agent.sh"

if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 0 ]; then
	skip "kiln agent --store" "sampling every process needs root or CAP_PERFMON"
	finish
	exit $?
fi
if ! "$KILN" query --help >/dev/null 2>&1; then
	skip "kiln agent --store" "this build has no kiln query"
	finish
	exit $?
fi

# samples_in STORE FROM TO: the samples the store holds in [FROM, TO) (unix ns), 0 if none
samples_in() {
	"$KILN" query --store "$1" --from "@$2" --to "@$3" --json >q.json 2>q.err || { echo 0; return; }
	python3 -c 'import json,sys; print(json.load(open("q.json")).get("samples", 0))'
}
export -f samples_in

expect "60/30/10 program: shares within 5 points from kiln query, with its labels" '
	# a copy under a name of its own: other programs named shares may run here
	cp "$WORKLOADS/shares" ./sh2002_$$
	name=sh2002_$$
	( while [ ! -e stop ]; do ./$name 1000 >/dev/null & echo $! >cur; wait; done ) & w=$!
	sleep 0.3
	"$KILN" agent --store st -F 199 --window 2 --duration 7 --label env=ci 2>err; rc=$?
	touch stop; kill $(cat cur); wait $w 2>/dev/null
	cat err; [ $rc = 0 ] || exit 1
	[ -z "$(ls st/spool 2>/dev/null)" ] || { echo "spooled"; exit 1; }
	"$KILN" query --store st --comm $name --folded >f.txt 2>qerr || { cat qerr; exit 1; }
	for fn in work_a:60 work_b:30 work_c:10; do
		s=$(share f.txt ${fn%:*} work_a work_b work_c); echo "${fn%:*}: $s% (want ${fn#*:})"
		within "$s" "${fn#*:}" 5 || exit 1
	done
	bid=$(readelf -n ./$name | sed -n "s/.*Build ID: *//p")
	"$KILN" query --store st --list --json >l.json &&
	python3 - "$bid" "$PWD/$name" <<PY
import json, sys
j = json.load(open("l.json"))
labels = j.get("labels", j)
def values(k):
    v = labels.get(k, [])
    return v if isinstance(v, list) else [v]
assert "ci" in values("env"), labels.get("env")
assert sys.argv[1] in values("build_id"), "build id"
assert sys.argv[2] in values("exe"), "exe"
PY
	test $? = 0 && "$KILN" query --store st --where env=ci --comm $name --where exe=$PWD/$name --folded >g.txt &&
	[ "$(awk "{ s += \$NF } END { print s }" g.txt)" = "$(awk "{ s += \$NF } END { print s }" f.txt)" ]
'

expect "a store that fails spools; once it works the spooled windows arrive, nothing lost" '
	mkdir -p st/kiln-store.db # the database path taken: every open fails
	"$KILN" agent --store st --spool sp --window 1 --duration 9 -v 2>err & a=$!
	sleep 3.5
	ls sp | grep -q "\.kiln\.prof$" || { echo "nothing spooled"; cat err; kill $a; exit 1; }
	rmdir st/kiln-store.db
	wait $a; rc=$?
	cat err; [ $rc = 0 ] || exit 1
	grep -q "windows wait in the spool" err && grep -q "takes windows again" err &&
	[ -z "$(ls sp)" ] || { echo "spool not empty:"; ls sp; exit 1; }
	# every window of the run is in the store: samples for (almost) the whole 9 s
	"$KILN" query --store st --list >list.txt && cat list.txt &&
	n=$(grep -c "window at" err) && echo "$n windows" &&
	"$KILN" query --store st --json >q.json && python3 -c "
import json; j = json.load(open(\"q.json\")); n = j[\"samples\"]
print(n, \"samples\"); assert n >= 2 * 19 * 7, n"
'

expect "restart: the spool of the last run goes first, then the new windows" '
	mkdir -p st/kiln-store.db
	"$KILN" agent --store st --spool sp --window 1 --duration 3 2>err1 || { cat err1; exit 1; }
	n1=$(ls sp | wc -l); echo "$n1 spooled"; [ "$n1" -ge 2 ] || exit 1
	first=$(ls sp | sort | head -1 | sed "s/^0*//; s/\.kiln\.prof$//")
	rmdir st/kiln-store.db
	"$KILN" agent --store st --spool sp --window 1 --duration 2 -v 2>err2 || { cat err2; exit 1; }
	cat err2; grep -q "sent $n1 spooled windows" err2 && [ -z "$(ls sp)" ] &&
	n=$(samples_in st $first $((first + 1000000000))) && echo "first window: $n samples" && [ "$n" -gt 0 ]
'

expect "kill -9: the store stays whole and the time the agent was down has no samples" '
	"$KILN" agent --store st --window 1 2>err1 & a=$!
	sleep 4
	kill -KILL $a; wait $a 2>/dev/null
	killed=$(date +%s%N)
	sleep 3
	started=$(date +%s%N)
	"$KILN" agent --store st --window 1 --duration 3 2>err2 || { cat err2; exit 1; }
	"$KILN" query --store st --list >list.txt 2>lerr || { cat lerr; exit 1; }
	if command -v sqlite3 >/dev/null; then
		[ "$(sqlite3 st/kiln-store.db "pragma integrity_check")" = ok ] || exit 1
	fi
	before=$(samples_in st 0 $killed) after=$(samples_in st $started $(date +%s%N))
	# no window overlaps the time from the kill to the restart (the window the agent was
	# in when killed is lost, not made up)
	gap=$(samples_in st $killed $started)
	echo "before $before, gap $gap, after $after"
	[ "$before" -gt 0 ] && [ "$after" -gt 0 ] && [ "$gap" = 0 ]
'

finish
