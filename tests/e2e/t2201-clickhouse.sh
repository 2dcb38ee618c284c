#!/usr/bin/env bash
# t2201-clickhouse: the clickhouse:// backend against a real clickhouse-server started
# for this test (its own data directory and free ports): windows cut from real recordings
# (a C program with 60/30/10 shares, a Python program with its own measured shares) come
# back through the server's aggregation with their shares; label, comm and time filters;
# a re-sent window is not stored twice; the server killed with -9 mid-test; a newer
# schema, a refusing, hanging or garbage-answering server: one line, no crash.
# Driven through tests/tools/kst_tool (the library's store.h calls) and kiln query --source.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_python.sh"
. "$(dirname "$0")/lib_clickhouse.sh"

if ! why=$(ch_have); then
	skip "clickhouse tests" "$why"
	finish
	exit $?
fi
CH_DIR="$SCRATCH/ch"
trap 'ch_stop; rm -rf "$SCRATCH"' EXIT
if ! ch_start "$CH_DIR"; then
	expect "clickhouse-server starts" 'false'
	finish
	exit $?
fi
export CH_DIR CH_HTTP CH_TCP CH_INTER KST_TOOL
export URL="clickhouse://127.0.0.1:$CH_HTTP/kt"
# windows from 2026-12-01 00:00:00 UTC, one second each
export S=1796083200000000000

# recordings: the C program and the Python program, once for all checks
REC="$SCRATCH/rec"
mkdir -p "$REC"
"$KILN" record -q -o "$REC/shares.prof" -- "$WORKLOADS/shares" 2500 >"$REC/out" 2>&1 || cat "$REC/out"
"$KILN" record -q -o "$REC/py.prof" -- /usr/bin/python3 "$PYW/py_shares.py" 3 "$REC/own.json" >"$REC/pyout" 2>&1 || cat "$REC/pyout"
export REC

# share FOLDED FN: FN's share (0-100) of the samples whose stack has hot_a, hot_b or hot_c
cshare() {
	awk -v fn="$2" '{ v = $NF; s = $0; sub(/ [0-9.]+$/, "", s)
		if (s !~ /;hot_[abc](;|$)/) next; all += v; if (index(s ";", ";" fn ";")) got += v }
		END { printf "%.1f\n", all ? 100 * got / all : 0 }' "$1"
}
# total of the folded counts
ftotal() { awk '{ t += $NF } END { printf "%d\n", t }' "$1"; }
rtotal() { "$KILN" report -i "$1" --folded | awk '{ t += $NF } END { printf "%d\n", t }'; }
export -f cshare ftotal rtotal

expect "the C program's windows come back with every sample and 60/30/10 shares within 5 points" '
	"$KST_TOOL" write "$URL" "$REC/shares.prof" --host h1 --label zone=z1 --service shares --start-ns $S >w.out 2>w.err || { cat w.err; exit 1; }
	n=$(sed -n "s/^windows=\([0-9]*\) .*/\1/p" w.out) && test "$n" -ge 2 || { echo "want 2 windows or more: $(cat w.out)"; exit 1; }
	"$KST_TOOL" query "$URL" --where host=h1 >f.txt 2>q.err || { cat q.err; exit 1; }
	want=$(rtotal "$REC/shares.prof") && got=$(ftotal f.txt) && echo "samples: recorded $want, queried $got" &&
	test "$want" = "$got" &&
	a=$(cshare f.txt hot_a) && b=$(cshare f.txt hot_b) && c=$(cshare f.txt hot_c) && echo "shares $a/$b/$c" &&
	within "$a" 60 5 && within "$b" 30 5 && within "$c" 10 5 &&
	grep -q "^shares;.*;main;work_a;hot_a;spin [0-9]" f.txt
'

expect "the Python program's windows come back with its own shares within 5 points" '
	"$KST_TOOL" write "$URL" "$REC/py.prof" --host h2 --label zone=z2 --service py --start-ns $S >w.out 2>w.err || { cat w.err; exit 1; }
	"$KST_TOOL" query "$URL" --where service=py >f.txt 2>q.err || { cat q.err; exit 1; }
	want=$(rtotal "$REC/py.prof") && got=$(ftotal f.txt) && echo "samples: recorded $want, queried $got" &&
	test "$want" = "$got" &&
	shares_ok f.txt "$REC/own.json" 5
'

expect "filters: --where host / zone, --comm, and the time range select the right windows" '
	"$KST_TOOL" query "$URL" >all.txt 2>/dev/null && "$KST_TOOL" query "$URL" --where zone=z1 >z1.txt 2>/dev/null &&
	"$KST_TOOL" query "$URL" --comm shares >c.txt 2>/dev/null && "$KST_TOOL" query "$URL" --where host=h2 >h2.txt 2>/dev/null || exit 1
	t1=$(rtotal "$REC/shares.prof") t2=$(rtotal "$REC/py.prof")
	test "$(ftotal all.txt)" = $((t1 + t2)) && test "$(ftotal z1.txt)" = "$t1" && test "$(ftotal c.txt)" = "$t1" &&
	test "$(ftotal h2.txt)" = "$t2" || { echo "totals: all $(ftotal all.txt) z1 $(ftotal z1.txt) comm $(ftotal c.txt) h2 $(ftotal h2.txt); want $t1 + $t2"; exit 1; }
	! grep -q "(py_shares.py" z1.txt && ! grep -q "hot_a" h2.txt &&
	"$KST_TOOL" query "$URL" --where zone=nowhere >none.txt 2>/dev/null && test ! -s none.txt &&
	# the first two seconds: the same as the series of one-second steps says
	"$KST_TOOL" series "$URL" host 1 --where host=h1 >series.txt || exit 1
	first2=$(awk "/^h1 /{ print \$2 + \$3 }" series.txt)
	"$KST_TOOL" query "$URL" --where host=h1 --from @$S --to @$((S + 2000000000)) >t.txt 2>/dev/null &&
	echo "first two windows: query $(ftotal t.txt), series $first2 (all $t1)" &&
	test "$(ftotal t.txt)" = "$first2" && test "$first2" -gt 0 && test "$first2" -lt "$t1" &&
	"$KST_TOOL" values "$URL" host >hosts.txt && printf "h1\nh2\n" | cmp - hosts.txt &&
	"$KST_TOOL" range "$URL" >range.txt && read a b <range.txt && test "$a" = $S
'

expect "a fleet query (no host named, whole minutes) comes from the per-minute rollup and says the same as the windows" '
	# --where service: the rollup (processes merged by name); --where host: the windows
	"$KST_TOOL" query "$URL" --where service=shares >roll.txt 2>roll.err && "$KST_TOOL" query "$URL" --where host=h1 >raw.txt 2>raw.err || exit 1
	cat roll.err raw.err && grep -q "processes=1 .* pid1=-1 " roll.err && grep -q "processes=1 .* pid1=[1-9]" raw.err &&
	test -s roll.txt && cmp roll.txt raw.txt || exit 1
	# CPU per service over minutes: the rollup; per host over seconds: the windows
	"$KST_TOOL" series "$URL" service 60 >s.txt && "$KST_TOOL" series "$URL" host 1 >h.txt || exit 1
	t1=$(rtotal "$REC/shares.prof") t2=$(rtotal "$REC/py.prof")
	awk "/^shares /{ s = 0; for (i = 2; i <= NF; i++) s += \$i; print s }" s.txt | grep -qx "$t1" &&
	awk "/^py /{ s = 0; for (i = 2; i <= NF; i++) s += \$i; print s }" s.txt | grep -qx "$t2" &&
	awk "/^h1 /{ s = 0; for (i = 2; i <= NF; i++) s += \$i; print s }" h.txt | grep -qx "$t1" || { cat s.txt; exit 1; }
'

expect "a window sent again (the agent retrying) is not stored twice" '
	before=$("$KST_TOOL" query "$URL" 2>/dev/null | awk "{ t += \$NF } END { print t }")
	"$KST_TOOL" write "$URL" "$REC/shares.prof" --host h1 --label zone=z1 --service shares --start-ns $S >w.out 2>w.err || { cat w.err; exit 1; }
	after=$("$KST_TOOL" query "$URL" 2>/dev/null | awk "{ t += \$NF } END { print t }")
	echo "before $before, after $after" && test "$before" = "$after" && test "$before" -gt 0
'

expect "the server killed with -9: a write fails with one line; after a restart it succeeds and the data is whole" '
	before=$("$KST_TOOL" query "$URL" 2>/dev/null | awk "{ t += \$NF } END { print t }")
	ch_kill9
	check_exit 1 "$KST_TOOL" write "$URL" "$REC/shares.prof" --host h3 --start-ns $S >w.out 2>w.err
	cat w.err && test "$(wc -l <w.err)" = 1 && grep -q "cannot reach clickhouse at .127.0.0.1:$CH_HTTP." w.err || exit 1
	ch_start "$CH_DIR" || exit 1
	"$KST_TOOL" write "$URL" "$REC/shares.prof" --host h3 --start-ns $S >w.out 2>w.err || { cat w.err; exit 1; }
	after=$("$KST_TOOL" query "$URL" 2>/dev/null | awk "{ t += \$NF } END { print t }")
	echo "before $before, after $after, recording $(rtotal "$REC/shares.prof")"
	test "$after" = $((before + $(rtotal "$REC/shares.prof")))
'

expect "a database with a newer kiln schema is refused in one line, and so is one without kiln data" '
	"$KST_TOOL" write "clickhouse://127.0.0.1:$CH_HTTP/newer" "$REC/shares.prof" --host h1 --start-ns $S >/dev/null 2>&1 || exit 1
	ch_sql "INSERT INTO newer.kiln_schema VALUES (2, '"'"'kiln 9'"'"')" || exit 1
	check_exit 1 "$KST_TOOL" query "clickhouse://127.0.0.1:$CH_HTTP/newer" >/dev/null 2>e1 &&
	check_exit 1 "$KST_TOOL" write "clickhouse://127.0.0.1:$CH_HTTP/newer" "$REC/shares.prof" >/dev/null 2>e2 &&
	cat e1 e2 && test "$(wc -l <e1)" = 1 && grep -q "kiln schema version 2, newer than this kiln.s 1" e1 && cmp e1 e2 &&
	check_exit 1 "$KST_TOOL" query "clickhouse://127.0.0.1:$CH_HTTP/empty" >/dev/null 2>e3 &&
	cat e3 && test "$(wc -l <e3)" = 1 && grep -q "holds no kiln data" e3
'

expect "kiln query --source clickhouse://: --import a recording, then the same stacks as a local store (fleet and one-host queries), --list, errors in one line" '
	U="clickhouse://127.0.0.1:$CH_HTTP/cli"
	"$KILN" query --source "$U" --import "$REC/shares.prof" --label service=cli --at @$S --window 1 >i.out 2>i.err || { cat i.err; exit 1; }
	"$KILN" query --store st --import "$REC/shares.prof" --label service=cli --at @$S --window 1 >/dev/null 2>&1 || exit 1
	"$KILN" query --source "$U" --folded >ch.txt && "$KILN" query --store st --folded >dir.txt || exit 1
	cmp ch.txt dir.txt || { diff ch.txt dir.txt | head; exit 1; }
	host=$("$KST_TOOL" values "$U" host) &&
	"$KILN" query --source "$U" --where host=$host --from @$S --to @$((S + 3000000000)) --folded >ch3.txt &&
	"$KILN" query --store st --where host=$host --from @$S --to @$((S + 3000000000)) --folded >dir3.txt &&
	cmp ch3.txt dir3.txt && test -s ch3.txt && test "$(ftotal ch3.txt)" -lt "$(ftotal ch.txt)" || exit 1
	a=$(cshare ch.txt hot_a) && within "$a" 60 5 &&
	"$KILN" query --source "$U" --list >list.txt && grep -q "^  service  *cli" list.txt && grep -q "2026-12-01T00:00:00Z" list.txt &&
	"$KILN" query --source "$U" -o q.prof && "$KILN" report -i q.prof --folded >r.txt && cmp r.txt ch.txt || exit 1
	ch_sql "INSERT INTO cli.kiln_schema VALUES (3, '"'"'kiln 9'"'"')" || exit 1
	check_exit 1 "$KILN" query --source "$U" --folded >/dev/null 2>e1 && cat e1 && test "$(wc -l <e1)" = 1 &&
	grep -q "^kiln: error: .*kiln schema version 3, newer" e1 &&
	check_exit 1 "$KILN" query --source "pyroscope://127.0.0.1:4040" >/dev/null 2>e2 && cat e2 && grep -q "sink only" e2
'

# fake servers: a port nobody listens on, one that never answers, one that answers garbage
cat >"$SCRATCH/fake.py" <<'PY'
import http.server, sys, time
mode = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        if mode == "hang":
            time.sleep(60)
            return
        if mode == "garbage":
            # the schema check gets a number; everything else gets rows of the wrong shape
            ans = b"1\n" if b"max(version)" in body else b"\x00\xff{not tsv\tat all\n\n[1,2\n"
        else:
            ans = b"<html>proxy error</html>\n"
        self.send_response(200 if mode == "garbage" else 502)
        self.send_header("Content-Length", str(len(ans)))
        self.end_headers()
        self.wfile.write(ans)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
export FAKE="$SCRATCH/fake.py"

expect "a server that refuses, hangs, answers garbage or an HTTP error: one clear line, exit 1, no crash" '
	port=$(free_port)
	check_exit 1 "$KST_TOOL" write "clickhouse://127.0.0.1:$port/kt" "$REC/shares.prof" >/dev/null 2>e1 || exit 1
	cat e1 && test "$(wc -l <e1)" = 1 && grep -q "cannot reach clickhouse at .127.0.0.1:$port." e1 || exit 1
	for mode in hang garbage proxy; do
		python3 "$FAKE" $mode >port.$mode & echo $! >>pids
		for i in $(seq 50); do test -s port.$mode && break; sleep 0.1; done
	done
	trap "kill \$(cat pids) 2>/dev/null" EXIT
	start=$(date +%s)
	check_exit 1 "$KST_TOOL" query "clickhouse://127.0.0.1:$(cat port.hang)/kt?timeout=2" >/dev/null 2>e2 || exit 1
	cat e2 && test "$(wc -l <e2)" = 1 && grep -q "did not answer within 2 s" e2 || exit 1
	check_exit 1 "$KST_TOOL" query "clickhouse://127.0.0.1:$(cat port.garbage)/kt" >/dev/null 2>e3 || exit 1
	cat e3 && test "$(wc -l <e3)" = 1 && grep -q "answer is not what kiln asked for" e3 || exit 1
	for c in values:host range series:host; do
		check_exit 1 "$KST_TOOL" ${c%%:*} "clickhouse://127.0.0.1:$(cat port.garbage)/kt" $(echo $c | sed -n "s/.*://p") $(test $c = series:host && echo 1) >/dev/null 2>e4 || exit 1
		cat e4 && test "$(wc -l <e4)" = 1 || exit 1
	done
	check_exit 1 "$KST_TOOL" write "clickhouse://127.0.0.1:$(cat port.proxy)/kt" "$REC/shares.prof" >/dev/null 2>e5 || exit 1
	cat e5 && test "$(wc -l <e5)" = 1 && grep -q "answered HTTP 502: <html>proxy error</html>" e5 || exit 1
	check_exit 1 "$KST_TOOL" query "clickhouse://x:99999/kt" >/dev/null 2>e6 && cat e6 && grep -q "is not a clickhouse URL" e6
'

finish
