#!/usr/bin/env bash
# t2202-pyroscope: the pyroscope:// sink against a fake Pyroscope ingest server (Python's
# http.server; no Pyroscope server is packaged): each window arrives as POST /ingest with
# the query string Pyroscope documents and a gzipped pprof in the multipart field
# "profile", which kiln's pprof reader and go tool pprof decode; the shares survive.
# A server that refuses, hangs or answers 500: one line, exit 1. Reading from it: refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_python.sh"
KST_TOOL="$BUILD/tests/tools/kst_tool"
export KST_TOOL
export S=1796083200000000000

REC="$SCRATCH/rec"
mkdir -p "$REC"
"$KILN" record -q -o "$REC/shares.prof" -- "$WORKLOADS/shares" 2500 >"$REC/out" 2>&1 || cat "$REC/out"
"$KILN" record -q -o "$REC/py.prof" -- /usr/bin/python3 "$PYW/py_shares.py" 3 "$REC/own.json" >"$REC/pyout" 2>&1 || cat "$REC/pyout"
export REC

cat >"$SCRATCH/ingest.py" <<'PY'
# A fake Pyroscope: POST /ingest?... with multipart field "profile" is saved as
# OUT/N.pb.gz and its query string as OUT/N.q; mode "ok", "500" or "hang".
import email.parser, email.policy, http.server, os, sys, time
mode, out = sys.argv[1], sys.argv[2]
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if mode == "hang":
            time.sleep(60)
            return
        if mode == "500":
            self.send_response(500); self.end_headers(); self.wfile.write(b"ingest: storage is full\n"); return
        path, _, query = self.path.partition("?")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
        prof = [p for p in msg.iter_parts() if p.get_param("name", header="content-disposition") == "profile"]
        if path != "/ingest" or len(prof) != 1 or not msg.is_multipart():
            self.send_response(400); self.end_headers(); return
        n[0] += 1
        with open(os.path.join(out, "%d.pb.gz" % n[0]), "wb") as f:
            f.write(prof[0].get_payload(decode=True))
        with open(os.path.join(out, "%d.q" % n[0]), "w") as f:
            f.write(query + "\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
export INGEST="$SCRATCH/ingest.py"
# start_ingest MODE DIR: a fake server in the background; its port in DIR/port
start_ingest() {
	mkdir -p "$2"
	python3 "$INGEST" "$1" "$2" >"$2/port" & echo $! >>"$T/pids"
	for i in $(seq 50); do test -s "$2/port" && return 0; sleep 0.1; done
	return 1
}
rtotal() { "$KILN" report -i "$1" --folded | awk '{ t += $NF } END { printf "%d\n", t }'; }
cshare() {
	awk -v fn="$2" '{ v = $NF; s = $0; sub(/ [0-9.]+$/, "", s)
		if (s !~ /;hot_[abc](;|$)/) next; all += v; if (index(s ";", ";" fn ";")) got += v }
		END { printf "%.1f\n", all ? 100 * got / all : 0 }' "$1"
}
# urldecode a query string's field
qfield() { python3 -c 'import sys, urllib.parse; print(urllib.parse.parse_qs(open(sys.argv[1]).read().strip())[sys.argv[2]][0])' "$1" "$2"; }
export -f start_ingest rtotal cshare qfield

expect "each window of the C program is one /ingest request with Pyroscope's query string and a pprof kiln and go tool pprof read; 60/30/10 within 5 points" '
	trap "kill \$(cat pids) 2>/dev/null" EXIT
	start_ingest ok in || exit 1
	"$KST_TOOL" write "pyroscope://127.0.0.1:$(cat in/port)" "$REC/shares.prof" --host h1 --label zone=z1 --service shares --start-ns $S >w.out 2>w.err || { cat w.err; exit 1; }
	cat w.out && n=$(sed -n "s/^windows=\([0-9]*\).*/\1/p" w.out) && ls in/*.q | wc -l | grep -qx "$n" || { echo "want $n requests, got $(ls in/*.q | wc -l)"; exit 1; }
	: >all.txt
	for q in in/*.q; do
		k=$(basename $q .q)
		test "$(qfield $q name)" = "shares.cpu{comm=shares,host=h1,service=shares,zone=z1}" &&
		test "$(qfield $q format)" = pprof && test "$(qfield $q sampleRate)" = 999 &&
		from=$(qfield $q from) && until=$(qfield $q until) &&
		test $((until - from)) = 1 && test $(( (from - S / 1000000000) >= 0 && (from - S / 1000000000) < n )) = 1 ||
			{ echo "request $k: $(cat $q)"; exit 1; }
		"$KILN" report -i in/$k.pb.gz --folded >>all.txt || exit 1
	done
	want=$(rtotal "$REC/shares.prof") && got=$(awk "{ t += \$NF } END { print t }" all.txt) &&
	echo "samples: recorded $want, received $got" && test "$want" = "$got" &&
	a=$(cshare all.txt hot_a) && b=$(cshare all.txt hot_b) && c=$(cshare all.txt hot_c) && echo "shares $a/$b/$c" &&
	within "$a" 60 5 && within "$b" 30 5 && within "$c" 10 5 || exit 1
	if command -v go >/dev/null; then
		go tool pprof -raw in/1.pb.gz >raw.txt 2>raw.err || { cat raw.err; exit 1; }
		grep -q "hot_a" raw.txt && grep -q "^Samples:" raw.txt
	fi
'

expect "the Python program's windows go to the service named by its label, with its shares within 5 points" '
	trap "kill \$(cat pids) 2>/dev/null" EXIT
	start_ingest ok in || exit 1
	"$KST_TOOL" write "pyroscope://127.0.0.1:$(cat in/port)/" "$REC/py.prof" --host h2 --service py-api --start-ns $S >w.out 2>w.err || { cat w.err; exit 1; }
	: >all.txt
	for q in in/*.q; do
		qfield $q name | grep -q "^py-api\.cpu{comm=python3[.0-9]*,host=h2,service=py-api}$" || { qfield $q name; exit 1; }
		"$KILN" report -i in/$(basename $q .q).pb.gz --folded >>all.txt || exit 1
	done
	test "$(rtotal "$REC/py.prof")" = "$(awk "{ t += \$NF } END { print t }" all.txt)" &&
	shares_ok all.txt "$REC/own.json" 5
'

expect "a server that answers 500, hangs or refuses: one line naming it, exit 1; a pyroscope URL cannot be read" '
	trap "kill \$(cat pids) 2>/dev/null" EXIT
	start_ingest 500 e && start_ingest hang h || exit 1
	check_exit 1 "$KST_TOOL" write "pyroscope://127.0.0.1:$(cat e/port)" "$REC/shares.prof" --host h1 >/dev/null 2>e1 &&
	cat e1 && test "$(wc -l <e1)" = 1 && grep -q "pyroscope at .127.0.0.1:$(cat e/port). answered HTTP 500: ingest: storage is full" e1 &&
	check_exit 1 "$KST_TOOL" write "pyroscope://127.0.0.1:$(cat h/port)?timeout=2" "$REC/shares.prof" --host h1 >/dev/null 2>e2 &&
	cat e2 && test "$(wc -l <e2)" = 1 && grep -q "did not answer within 2 s" e2 &&
	port=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	check_exit 1 "$KST_TOOL" write "pyroscope://127.0.0.1:$port" "$REC/shares.prof" >/dev/null 2>e3 &&
	cat e3 && test "$(wc -l <e3)" = 1 && grep -q "cannot reach pyroscope at .127.0.0.1:$port." e3 &&
	check_exit 1 "$KST_TOOL" query "pyroscope://127.0.0.1:$port" >/dev/null 2>e4 &&
	cat e4 && grep -q "sink only" e4 &&
	check_exit 1 "$KST_TOOL" write "pyroscope://127.0.0.1:4040?retries=3" "$REC/shares.prof" >/dev/null 2>e5 &&
	cat e5 && grep -q "is not a pyroscope URL" e5
'

finish
