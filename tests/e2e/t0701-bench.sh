#!/usr/bin/env bash
# t0701-bench: kiln bench measures correctly, compares with significance, exports
# hyperfine-compatible JSON, CSV and Markdown.
. "$(dirname "$0")/lib.sh"

expect "kiln bench --help shows usage, hyperfine's options and examples" '
	"$KILN" bench --help >out && grep -q "^usage: kiln bench" out &&
	for o in --warmup --min-runs --max-runs --runs --setup --prepare --conclude --cleanup \
		--shell --parameter-scan --parameter-step-size --parameter-list --ignore-failure \
		--command-name --reference --show-output --input --export-json --export-csv \
		--export-markdown --save-baseline --baseline --fail-if-slower --timeout --counters; do
		grep -q -- "$o" out || { echo "missing $o"; exit 1; }
	done && grep -q "kiln bench .sleep 0.02. .sleep 0.04." out
'
expect "sleep 0.02 vs sleep 0.04: means match, the second is significantly slower" '
	# The machine is shared: a burst of load can move a mean by more than 5%. Up to 3
	# attempts; a systematic error fails all three.
	for attempt in 1 2 3; do
		"$KILN" bench -N -r 15 "sleep 0" "sleep 0.02" "sleep 0.04" --export-json r.json >out 2>/dev/null &&
		python3 -c "
import json; d = json.load(open(\"r.json\"))
r = {x[\"command\"]: x for x in d[\"results\"]}
start = r[\"sleep 0\"][\"mean\"]         # process start-up, measured in the same run
for cmd, t in ((\"sleep 0.02\", 0.02), (\"sleep 0.04\", 0.04)):
    m = r[cmd][\"mean\"]; want = t + start
    assert abs(m - want) <= 0.05 * want, (\"attempt $attempt\", cmd, m, want)
c = {x[\"command\"]: x for x in d[\"comparisons\"]}[\"sleep 0.04\"]
assert c[\"reference\"] == \"sleep 0\" and c[\"verdict\"] == \"slower\" and c[\"p_value\"] < 0.05, c
" && grep -E -q "sleep 0.04 .* slower$" out && grep -q "Comparison (reference" out && exit 0
	done
	exit 1
'
expect "with a shell, start-up is subtracted: sleep 0.02 is still about 20 ms" '
	# two attempts: on a loaded machine a sleep can overshoot for a whole run
	for attempt in 1 2; do
		"$KILN" bench -r 20 "sleep 0.02" "sleep 0.04" --export-json r.json >out &&
		python3 -c "
import json; d = json.load(open(\"r.json\"))
assert d[\"settings\"][\"shell\"] == \"sh\" and d[\"settings\"][\"shell_spawn_time\"] > 0
a, b = d[\"results\"]
assert 0.019 < a[\"median\"] < 0.030, (\"attempt $attempt\", a[\"median\"])
assert 0.039 < b[\"median\"] < 0.050, (\"attempt $attempt\", b[\"median\"])
assert d[\"comparisons\"][0][\"verdict\"] == \"slower\"
" && grep -q "#2 .sleep 0.04. is [12]\.[0-9]*× slower than #1 .sleep 0.02" out && exit 0
	done
	exit 1
'
expect "the JSON is readable by a hyperfine-style consumer" '
	"$KILN" bench -N -r 5 "true" --export-json r.json >/dev/null &&
	python3 -c "
import json
d = json.load(open(\"r.json\"))
r = d[\"results\"][0]
for k in (\"command\", \"mean\", \"stddev\", \"median\", \"min\", \"max\", \"times\", \"user\", \"system\", \"exit_codes\"):
    assert k in r, k
assert r[\"command\"] == \"true\" and len(r[\"times\"]) == 5 and r[\"min\"] <= r[\"mean\"] <= r[\"max\"]
assert all(isinstance(t, float) for t in r[\"times\"])
assert d[\"kiln_format\"] == 1 and \"p95\" in r and \"p99\" in r and \"memory_usage_byte\" in r
"
'
expect "the same command twice: no significant difference" '
	# at alpha = 0.05 one attempt in 20 may differ by chance (or by a burst of load):
	# up to 3 attempts
	for attempt in 1 2 3; do
		"$KILN" bench -N -r 15 -n first -n second "sleep 0.01" "sleep 0.01" --export-json r.json >out 2>/dev/null &&
		python3 -c "
import json; d = json.load(open(\"r.json\"))
c = d[\"comparisons\"][0]
assert c[\"verdict\"] == \"same\" and c[\"p_value\"] > c[\"alpha\"], c
assert c[\"test\"] == \"anytime-valid-sign\" and c[\"ratio_ci\"] is None, c
lo, hi = c[\"estimate\"][\"ci\"]; assert lo <= 1.0 <= hi, c
" && grep -q "no significant difference" out && exit 0
	done
	exit 1
'
expect "-P scans parameters; -L lists them; names and JSON carry the values" '
	"$KILN" bench -N -r 2 -P ms 1 3 -n "sleep {ms} ms" "sleep 0.00{ms}" --export-json p.json >out &&
	python3 -c "
import json; d = json.load(open(\"p.json\"))
assert [r[\"command\"] for r in d[\"results\"]] == [\"sleep 1 ms\", \"sleep 2 ms\", \"sleep 3 ms\"]
assert [r[\"parameters\"][\"ms\"] for r in d[\"results\"]] == [\"1\", \"2\", \"3\"]
assert d[\"results\"][2][\"command_line\"] == \"sleep 0.003\"
" &&
	"$KILN" bench -N -r 2 -P d 0.001 0.002 -D 0.0005 "sleep {d}" --export-json q.json >/dev/null &&
	python3 -c "
import json; d = json.load(open(\"q.json\"))
assert [r[\"command\"] for r in d[\"results\"]] == [\"sleep 0.0010\", \"sleep 0.0015\", \"sleep 0.0020\"], d
" &&
	"$KILN" bench -N -r 2 -L a 0,0.001 -L b x,y "sleep {a}" --export-json l.json >/dev/null 2>err &&
	python3 -c "
import json; d = json.load(open(\"l.json\"))
assert len(d[\"results\"]) == 4
"
'
expect "CSV and Markdown exports have the columns of hyperfine" '
	"$KILN" bench -N -r 3 "sleep 0.001" "sleep 0.002" --export-csv r.csv --export-markdown r.md >/dev/null &&
	head -1 r.csv | grep -q "^command,mean,stddev,median,user,system,min,max" &&
	[ "$(wc -l <r.csv)" -eq 3 ] &&
	grep -q "^| Command | Mean \[ms\] | Min \[ms\] | Max \[ms\] | Relative |" r.md &&
	grep -q "^| .sleep 0.001. |" r.md
'
expect "--prepare, --conclude, --setup, --cleanup run when they should" '
	"$KILN" bench -N -r 3 -s "touch setup" -p "sh -c \"echo p >>log\"" -C "sh -c \"echo c >>log\"" \
		-c "touch cleanup" "true" >/dev/null &&
	[ -e setup ] && [ -e cleanup ] &&
	[ "$(grep -c p log)" -eq 4 ] && [ "$(grep -c c log)" -eq 4 ]
'
expect "--no-interleave keeps each command between its setup and cleanup" '
	"$KILN" bench -N -r 2 --no-interleave -s "sh -c \"echo s{x} >>L\"" -c "sh -c \"echo c{x} >>L\"" \
		-p "sh -c \"echo p{x} >>L\"" -L x 1,2 "true {x}" >/dev/null &&
	[ "$(tr "\n" " " <L)" = "s1 p1 c1 s2 p2 c2 s1 p1 p1 c1 s2 p2 p2 c2 " ] || { cat L; exit 1; }
'
expect "--input feeds every run from the start; --show-output shows output" '
	printf "x\n" >in && "$KILN" bench -r 3 --input in "read v && [ \"\$v\" = x ]" >/dev/null &&
	"$KILN" bench -N -r 2 --show-output "echo hello-from-cmd" >out && grep -qx hello-from-cmd out &&
	"$KILN" bench -N -r 2 "echo hidden-out" >out && ! grep -qx hidden-out out
'
expect "--counters: hardware counters not supported here, never a failure" '
	"$KILN" bench -N -r 3 --counters "true" --export-json r.json >out &&
	python3 -c "
import json; d = json.load(open(\"r.json\"))
c = d[\"results\"][0][\"counters\"]
assert set(c) >= {\"cycles\", \"instructions\", \"cache-misses\", \"branch-misses\"}, c
for v in c.values(): assert v[\"supported\"] in (True, False)
"
'
expect "adaptive runs stop once the 95% CI of the median is within the target" '
	"$KILN" bench -N --precision 5 --max-time 5 "sleep 0.005" --export-json r.json >/dev/null &&
	python3 -c "
import json; d = json.load(open(\"r.json\"))
r = d[\"results\"][0]
lo, hi = r[\"median_ci95\"]; m = r[\"median\"]
assert r[\"runs\"] >= 10, r[\"runs\"]
assert r[\"stopped_by\"] == \"precision\" and max(hi - m, m - lo) <= 0.05 * m or r[\"stopped_by\"] == \"max-time\", r
" &&
	"$KILN" bench -N -m 3 -M 4 "true" --export-json m.json >/dev/null &&
	python3 -c "
import json; r = json.load(open(\"m.json\"))[\"results\"][0]
assert 3 <= r[\"runs\"] <= 4, r[\"runs\"]
"
'
finish
