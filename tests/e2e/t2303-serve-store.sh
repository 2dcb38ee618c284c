#!/usr/bin/env bash
# t2303-serve-store: kiln serve over a local store filled from real recordings (kiln query
# --import cuts each into windows, as kiln agent writes them): the range, the labels,
# the function table (equal to kiln report --json of the recording), CPU over time per
# service (every sample in its service and step), the comparison of two hours (a change
# of 30% -> 46% shows), bad times and labels refused; then the page in a headless
# browser: a range and a label picked, zoom, comparison.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve-lib.sh"

if ! command -v curl >/dev/null; then
	skip "kiln serve over a store" "curl is not installed"
	finish
	exit
fi
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
H1=2026-01-01T10:00:00Z H2=2026-01-01T11:00:00Z
S="$SCRATCH/store"
"$KILN" query --store "$S" --import "$SCRATCH/before.prof" --at $H1 --window 1s --label service=api 2>"$SCRATCH/imp.err" &&
	"$KILN" query --store "$S" --import "$SCRATCH/other.prof" --at $H1 --window 1s --label service=batch \
		2>>"$SCRATCH/imp.err" &&
	"$KILN" query --store "$S" --import "$SCRATCH/after.prof" --at $H2 --window 1s --label service=api 2>>"$SCRATCH/imp.err" ||
	{ cat "$SCRATCH/imp.err"; exit 1; }
export S V="$SCRATCH" H1 H2

expect "info, labels and the function table of one hour and one service equal the recording's (kiln report --json)" '
	serve_start "$T" --store "$S" || exit 1
	U=$(cat url)
	curl -sf "${U}api/info" >info.json && curl -sf "${U}api/labels?key=service" >svc.json &&
	curl -sf "${U}api/labels?key=comm&where=service%3Dapi" >comm.json &&
	curl -sf "${U}api/top?n=100000&from=2026-01-01T09:30:00Z&to=2026-01-01T10:30:00Z&where=service%3Dapi" >top1.json &&
	curl -sf "${U}api/top?n=100000&from=2026-01-01T10:30:00Z&where=service%3Dapi" >top2.json &&
	curl -sf "${U}api/top?n=100000&where=service%3Dbatch" >top3.json || { serve_stop "$T"; exit 1; }
	serve_stop "$T" || exit 1
	for f in before after other; do "$KILN" report --json --no-findings --percent-limit 0 "$V/$f.prof" >$f.json || exit 1; done
	python3 - <<PY
import json
info = json.load(open("info.json"))
assert info["mode"] == "store" and info["first_ns"] == 1767261600 * 10**9, info
assert info["last_ns"] > 1767265200 * 10**9 and "service" in info["label_keys"], info
assert json.load(open("svc.json"))["values"] == ["api", "batch"], open("svc.json").read()
assert json.load(open("comm.json"))["values"] == ["prog"], open("comm.json").read()
def rows(j):
    return sorted((f["name"], f["self"], f["total"]) for f in j["functions"])
for a, b in (("top1.json", "before.json"), ("top2.json", "after.json"), ("top3.json", "other.json")):
    s, r = json.load(open(a)), json.load(open(b))
    assert s["total"] == r["total"] and s["samples"] == r["samples"], (a, s["total"], r["total"])
    assert rows(s) == rows(r), (a, rows(s)[:6], rows(r)[:6])
hot = {f["name"]: f["total_percent"] for f in json.load(open("top1.json"))["functions"]}
assert abs(hot["hot_a"] - 60) < 5 and abs(hot["hot_b"] - 30) < 5, hot
print("ok", [json.load(open(f))["total"] for f in ("top1.json", "top2.json", "top3.json")])
PY
'

expect "CPU over time per service: every sample in its service, in the steps of its hour" '
	serve_start "$T" --store "$S" || exit 1
	U=$(cat url)
	curl -sf "${U}api/series?key=service&step=60" >s.json &&
	curl -sf "${U}api/series?key=service&step=1&from=2026-01-01T10:59:00Z&to=2026-01-01T11:01:00Z" >s2.json &&
	curl -sf "${U}api/series?key=comm&step=3600&where=service%3Dapi" >s3.json || { serve_stop "$T"; exit 1; }
	serve_stop "$T" || exit 1
	for f in before after other; do "$KILN" report --json --no-findings "$V/$f.prof" >$f.json || exit 1; done
	python3 - <<PY
import json
n = {f: json.load(open(f + ".json"))["samples"] for f in ("before", "after", "other")}
s = json.load(open("s.json"))
g = {x["name"]: x["samples"] for x in s["groups"]}
assert s["step_ns"] == 60 * 10**9 and sorted(g) == ["api", "batch"], s
assert sum(g["api"]) == n["before"] + n["after"] and sum(g["batch"]) == n["other"], (g, n)
# before and other in the first minutes, after in the minute of 11:00 (step 60 = index 60)
assert sum(g["api"][:5]) == n["before"] and sum(g["api"][60:]) == n["after"] and len(g["api"]) in (61, 62), g["api"][55:]
assert sum(g["batch"][:5]) == n["other"], g["batch"][:5]
s2 = json.load(open("s2.json"))
g2 = {x["name"]: x["samples"] for x in s2["groups"]}
assert s2["step_ns"] == 10**9 and sum(g2["api"]) == n["after"] and sum(g2.get("batch", [0])) == 0, g2
s3 = json.load(open("s3.json"))
assert [x["name"] for x in s3["groups"]] == ["prog"] and sum(s3["groups"][0]["samples"]) == n["before"] + n["after"], s3
print("ok", n)
PY
'

expect "comparing the two hours shows hot_b growing from 30% to 46%; the graphs are kiln SVGs" '
	serve_start "$T" --store "$S" || exit 1
	U=$(cat url)
	A="a.from=2026-01-01T09:30:00Z&a.to=2026-01-01T10:30:00Z&b.from=2026-01-01T10:30:00Z&b.to=2026-01-01T11:30:00Z&where=service%3Dapi"
	curl -sf "${U}api/diff?$A&n=1000" >d.json && curl -sf "${U}api/diff.svg?$A" >d.svg &&
	curl -sf "${U}api/flame.svg?from=2026-01-01T10:30:00Z&where=service%3Dapi" >f.svg || { serve_stop "$T"; exit 1; }
	serve_stop "$T" || exit 1
	xmllint --noout d.svg && xmllint --noout f.svg && grep -q "<title>hot_b (" d.svg && grep -q "<title>hot_b (" f.svg &&
	! grep -q "<title>callers3 (" f.svg &&
	python3 -c "
import json; d = json.load(open(\"d.json\"))
r = {x[\"name\"]: x for x in d[\"functions\"]}
print(r[\"hot_b\"])
assert abs(r[\"hot_b\"][\"total_a\"] - 30) < 5 and abs(r[\"hot_b\"][\"total_b\"] - 46) < 5, r[\"hot_b\"]
assert \"run\" not in r  # callers3 (service batch) is left out
"
'

expect "malformed times and labels, a range with nothing in it: 4xx with the reason; then it still serves" '
	serve_start "$T" --store "$S" || exit 1
	U=$(cat url)
	for q in "top?from=2026-02-30T99:00:00Z" "top?to=tomorrow" "flame.svg?from=now&to=now-1h" "series?from=x" \
		 "top?where=service" "labels?key=9" "diff?a.from=%00" "series?step=0" "top?where=a%20b%3Dc"; do
		c=$(http_status "${U}api/$q")
		echo "$q $c"
		case $c in 4??) ;; *) serve_stop "$T"; exit 1 ;; esac
	done
	c=$(http_status "${U}api/flame.svg?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z"); echo "empty range $c"
	curl -s "${U}api/top?from=2026-13-01" >e.json; cat e.json
	ok=$(http_status "${U}api/info")
	serve_stop "$T" && [ "$c" = 404 ] && [ "$ok" = 200 ] && grep -q "from: time .2026-13-01. is not understood" e.json
'

CHROMIUM=$(command -v chromium || true)
NPM=$("$TOP/tests/npm/setup.sh" 2>"$SCRATCH/npm.err") || NPM=
if [ -z "$CHROMIUM" ] || [ -z "$NPM" ] || [ ! -d "$NPM/puppeteer-core" ]; then
	skip "the store in a browser" "chromium or the npm package puppeteer-core is missing"
else
	export NPM
	expect "the store in a browser: range and service picked, spin on top, zoom into hot_a, the two hours compared" '
		serve_start "$T" --store "$S" || exit 1
		KILN_NPM="$NPM" timeout 300 node "$TOP/tests/e2e/serve-browser.js" "$(cat url)" "$T" service api spin hot_a \
			"" "" 2026-01-01T09:30:00Z 2026-01-01T11:30:00Z; rc=$?
		serve_stop "$T"
		[ $rc -ne 0 ] && [ -f fail.png ] && cp fail.png "$BUILD/t2303-fail.png" && echo "screenshot: $BUILD/t2303-fail.png"
		[ $rc -eq 0 ]
	'
fi
finish
