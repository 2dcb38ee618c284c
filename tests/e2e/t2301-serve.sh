#!/usr/bin/env bash
# t2301-serve: kiln serve over a profile file: the JSON endpoints agree with kiln report
# --json, the flame graph and the comparison draw, bad requests get a 4xx and the server
# keeps serving, it listens on loopback only unless asked, and logs only when asked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve-lib.sh"

if ! command -v curl >/dev/null; then
	skip "kiln serve over HTTP" "curl is not installed"
	expect "--open hands the URL to xdg-open; when that fails it warns and keeps serving" '
	mkdir bin && printf "#!/bin/sh\necho \"\$1\" >\"%s/opened\"\n" "$T" >bin/xdg-open && chmod +x bin/xdg-open &&
	PATH="$T/bin:$PATH" serve_start "$T" --open "$P" || exit 1
	for i in $(seq 1 50); do [ -s opened ] && break; sleep 0.1; done
	serve_stop "$T" && [ "$(cat opened)" = "$(cat url)" ] || { cat opened url; exit 1; }
	mkdir bin2 && printf "#!/bin/sh\nexit 3\n" >bin2/xdg-open && chmod +x bin2/xdg-open &&
	PATH="$T/bin2:$PATH" serve_start "$T" --open "$P" || exit 1
	s=$(http_status "$(cat url)")
	serve_stop "$T" && [ "$s" = 200 ] && grep -q "warning: could not open a browser" err
'
finish
	exit
fi
# two processes of known shares (spin <- hot_a 60%, hot_b 30%, hot_c 10%)
P="$SCRATCH/two.prof"
"$KILN" record -q -o "$P" -- sh -c "\"$WORKLOADS/shares\" 600 & \"$WORKLOADS/shares_leaf\" 600; wait" \
	>"$SCRATCH/rec.out" 2>&1 || { cat "$SCRATCH/rec.out"; exit 1; }
export P

expect "the page and its assets are the compiled-in ones (assets.c is generated from ui/)" '
	python3 "$TOP/scripts/gen-serve-assets.py" --check
'

expect "kiln serve --help has the options and an example; bad arguments exit 2" '
	"$KILN" serve --help >h.txt && grep -q -- "--listen ADDR:PORT" h.txt && grep -q -- "--store DIR" h.txt &&
	grep -q "^examples:" h.txt && grep -q "kiln serve --store" h.txt &&
	check_exit 2 "$KILN" serve 2>e1 && grep -q "nothing to serve" e1 &&
	check_exit 2 "$KILN" serve --listen nowhere:80 "$P" 2>e2 && grep -q "not an address" e2 &&
	check_exit 2 "$KILN" serve --store a --source b 2>e3 &&
	check_exit 2 "$KILN" serve --store d "$P" 2>e4 && grep -q "not both" e4 &&
	check_exit 1 "$KILN" serve --listen 127.0.0.1:0 "$T/missing.prof" 2>e5 && grep -q "missing.prof" e5 &&
	[ "$(wc -l <e5)" -eq 1 ]
'

expect "the endpoints agree with kiln report --json (whole profile and one process)" '
	serve_start "$T" "$P" || exit 1
	U=$(cat url)
	curl -sf "${U}api/info" >info.json && curl -sf "${U}api/top?n=100000" >top.json &&
	curl -sf "${U}api/top?n=100000&where=comm%3Dshares_leaf" >top_leaf.json &&
	curl -sf "${U}api/labels?key=comm" >comm.json || { serve_stop "$T"; exit 1; }
	"$KILN" report --json --no-findings --percent-limit 0 "$P" >rep.json &&
	"$KILN" report --json --no-findings --percent-limit 0 --comm shares_leaf "$P" >rep_leaf.json || exit 1
	serve_stop "$T" || exit 1
	python3 - <<PY
import json
info = json.load(open("info.json"))
assert info["mode"] == "file" and info["label_keys"] == ["comm", "pid"], info
assert json.load(open("comm.json"))["values"] == ["sh", "shares", "shares_leaf"] or \
       json.load(open("comm.json"))["values"] == ["shares", "shares_leaf"], open("comm.json").read()
def rows(j):
    return [(f["name"], f["module"], f["self"], f["total"], f["self_samples"]) for f in j["functions"]]
for a, b in (("top.json", "rep.json"), ("top_leaf.json", "rep_leaf.json")):
    s, r = json.load(open(a)), json.load(open(b))
    assert s["total"] == r["total"] and s["samples"] == r["samples"], (a, s["total"], r["total"])
    assert rows(s) == rows(r), (a, rows(s)[:5], rows(r)[:5])
    assert s["threads"] == r["threads"], a
leaf = json.load(open("top_leaf.json"))
assert all(t["comm"] == "shares_leaf" for t in leaf["threads"]), leaf["threads"]
spin = [f for f in leaf["functions"] if f["name"] == "spin"]
assert spin and spin[0]["self_percent"] > 80, spin
print("ok", json.load(open("top.json"))["total"], leaf["total"])
PY
'

expect "the flame graph and the comparison are kiln's SVGs; their counts are the selection's" '
	serve_start "$T" "$P" || exit 1
	U=$(cat url)
	curl -sf -D h1 "${U}api/flame.svg?where=comm%3Dshares" -o f.svg &&
	curl -sf "${U}api/diff.svg?a.where=comm%3Dshares&b.where=comm%3Dshares_leaf" -o d.svg &&
	curl -sf "${U}api/diff?a.where=comm%3Dshares&b.where=comm%3Dshares_leaf&n=500" -o d.json || { serve_stop "$T"; exit 1; }
	serve_stop "$T" || exit 1
	"$KILN" report --json --no-findings --comm shares "$P" >r.json || exit 1
	total=$(python3 -c "import json; print(\"{:,}\".format(int(json.load(open(\"r.json\"))[\"total\"])))")
	grep -qi "^content-type: image/svg+xml" h1 && grep -qi "^content-security-policy: default-src .none." h1 &&
	xmllint --noout f.svg && xmllint --noout d.svg &&
	grep -q "<title>all ($total samples, 100.00%)</title>" f.svg &&
	grep -q "<title>spin (" f.svg && ! grep -q "<title>shares_leaf (" f.svg &&
	grep -q "<title>shares_leaf (" d.svg &&
	python3 -c "
import json; d = json.load(open(\"d.json\"))
rows = {(r[\"name\"], r[\"module\"]): r for r in d[\"functions\"]}
# functions pair by module: spin of shares is all of a and none of b, spin of shares_leaf the reverse
a, b = rows[(\"spin\", \"shares\")], rows[(\"spin\", \"shares_leaf\")]
assert a[\"self_a\"] > 80 and a[\"self_b\"] == 0 and b[\"self_a\"] == 0 and b[\"self_b\"] > 80, (a, b)
assert abs(rows[(\"hot_a\", \"shares\")][\"total_a\"] - 60) < 8, rows[(\"hot_a\", \"shares\")]
assert d[\"total_a\"] > 0 and d[\"total_b\"] > 0
"
'

expect "bad requests get a 4xx with a short message, and the server keeps serving" '
	serve_start "$T" "$P" || exit 1
	U=$(cat url); port=${U##*:}; port=${port%/}
	python3 - "$port" >codes.txt 2>&1 <<PY
import socket, sys
port = int(sys.argv[1])
def raw(name, req):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(req)
    except OSError:
        pass # the server may answer and close before it read everything
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError:
        pass
    s.close()
    status = data.split(b"\r\n", 1)[0].decode()
    body = data.split(b"\r\n\r\n", 1)[-1][:200].decode(errors="replace")
    print(name, status, body.replace("\n", " "))
def get(path, extra=b""):
    return b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n" % port + extra + b"\r\n"
raw("dotdot", get(b"/../../etc/passwd"))
raw("dotdot-encoded", get(b"/%2e%2e/%2E%2E/etc/passwd"))
raw("dotdot-api", get(b"/api/%2e%2e/top"))
raw("bigheader", get(b"/api/info", b"X-Big: " + b"a" * 100000 + b"\r\n"))
raw("bigurl", get(b"/api/info?x=" + b"a" * 1000000))
raw("bigquery", get(b"/api/top?" + b"&".join([b"where=k%d=v" % i for i in range(5000)])))
raw("post", b"POST /api/top HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
raw("delete", b"DELETE / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
raw("unknown", get(b"/etc/passwd"))
raw("unknown-api", get(b"/api/nothing"))
raw("badfrom", get(b"/api/top?from=2026-13-45"))
raw("badto", get(b"/api/flame.svg?to=yesterday"))
raw("badlabel", get(b"/api/top?where=no-equals"))
raw("badkey", get(b"/api/labels?key=a%20b"))
raw("badvalue", get(b"/api/top?value=bytes"))
raw("badn", get(b"/api/top?n=-1"))
raw("range-on-file", get(b"/api/top?from=now-1h"))
raw("series-on-file", get(b"/api/series?key=comm"))
raw("rebinding", b"GET /api/info HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n")
raw("head", b"HEAD /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
raw("ok", get(b"/api/info"))
PY
	cat codes.txt
	alive=$(http_status "${U}api/info")
	serve_stop "$T" || exit 1
	[ "$alive" = 200 ] || { echo "not serving after the bad requests: $alive"; exit 1; }
	for n in dotdot dotdot-encoded dotdot-api bigheader bigurl bigquery post delete unknown unknown-api badfrom badto \
		 badlabel badkey badvalue badn range-on-file series-on-file rebinding; do
		grep -Eq "^$n HTTP/1\.1 4[0-9][0-9] " codes.txt || { echo "no 4xx for $n"; exit 1; }
	done
	grep -Eq "^ok HTTP/1\.1 200 .*kiln-serve-info" codes.txt && grep -Eq "^head HTTP/1\.1 200 OK $" codes.txt &&
	grep -Eq "^post HTTP/1\.1 405 .*only GET" codes.txt && grep -Eq "^dotdot-encoded .*must not contain" codes.txt &&
	grep -Eq "^badfrom .*from: time .2026-13-45. is not understood" codes.txt &&
	grep -Eq "^bigheader HTTP/1\.1 431 " codes.txt && grep -Eq "^bigurl HTTP/1\.1 414 " codes.txt
'

expect "listens on 127.0.0.1 by default; logs nothing off a terminal without --verbose; SIGTERM stops it" '
	serve_start "$T" "$P" || exit 1
	U=$(cat url); port=${U##*:}; port=${port%/}
	echo "$U" | grep -q "^http://127\.0\.0\.1:[0-9]*/$" &&
	ss -ltnH "sport = :$port" >ss.txt && cat ss.txt && grep -q "127\.0\.0\.1:$port " ss.txt &&
	! grep -q "0\.0\.0\.0:$port\|\*:$port\|\[::\]:$port" ss.txt &&
	[ "$(http_status "$U")" = 200 ] && [ "$(http_status "${U}app.js")" = 200 ] || { serve_stop "$T"; exit 1; }
	serve_stop "$T" || exit 1
	[ ! -s err ] || { echo "stderr not empty:"; cat err; exit 1; }
	mkdir v && serve_start "$T/v" --verbose "$P" || exit 1
	http_status "$(cat v/url)api/nothing" >/dev/null
	serve_stop "$T/v" && grep -q "GET /api/nothing 404" v/err
'

expect "without --listen it listens on 127.0.0.1:8377 alone (unless another program has that port)" '
	"$KILN" serve "$P" >out 2>err & pid=$!
	for i in $(seq 1 100); do grep -q "^http://" out && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	ss -ltnH "sport = :8377" >ss.txt
	kill -TERM $pid 2>/dev/null; wait $pid; rc=$?
	if grep -q "Address already in use" err; then
		echo "port 8377 is taken by another program here: only the message is checked"
		[ $rc -eq 1 ] && [ "$(wc -l <err)" -eq 1 ]
		exit
	fi
	cat out ss.txt
	[ $rc -eq 0 ] && [ "$(cat out)" = "http://127.0.0.1:8377/" ] && grep -q "127\.0\.0\.1:8377 " ss.txt &&
	[ "$(wc -l <ss.txt)" -eq 1 ]
'

expect "--listen 0.0.0.0 must be asked for and says so on stderr; a port in use is one error" '
	"$KILN" serve --listen 0.0.0.0:0 "$P" >out0 2>err0 & pid=$!
	for i in $(seq 1 100); do grep -q "^http://" out0 2>/dev/null && break; sleep 0.1; done
	kill -TERM $pid; wait $pid
	grep -q "^http://0\.0\.0\.0:" out0 && grep -q "warning: listening on .0\.0\.0\.0:0., beyond this machine" err0 || { cat out0 err0; exit 1; }
	serve_start "$T" "$P" || exit 1
	U=$(cat url); port=${U##*:}; port=${port%/}
	check_exit 1 timeout 60 "$KILN" serve --listen "127.0.0.1:$port" "$P" 2>busy; rc=$?
	serve_stop "$T"
	[ $rc -eq 0 ] && grep -q "cannot listen on .127\.0\.0\.1:$port.: Address already in use" busy
'
expect "--open hands the URL to xdg-open; when that fails it warns and keeps serving" '
	mkdir bin && printf "#!/bin/sh\necho \"\$1\" >\"%s/opened\"\n" "$T" >bin/xdg-open && chmod +x bin/xdg-open &&
	PATH="$T/bin:$PATH" serve_start "$T" --open "$P" || exit 1
	for i in $(seq 1 50); do [ -s opened ] && break; sleep 0.1; done
	serve_stop "$T" && [ "$(cat opened)" = "$(cat url)" ] || { cat opened url; exit 1; }
	mkdir bin2 && printf "#!/bin/sh\nexit 3\n" >bin2/xdg-open && chmod +x bin2/xdg-open &&
	PATH="$T/bin2:$PATH" serve_start "$T" --open "$P" || exit 1
	s=$(http_status "$(cat url)")
	serve_stop "$T" && [ "$s" = 200 ] && grep -q "warning: could not open a browser" err
'
finish
