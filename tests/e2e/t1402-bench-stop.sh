#!/usr/bin/env bash
# t1402-bench-stop: kiln bench stops when the comparison is settled (a sequential test
# that keeps its error rate) or the precision is met, and says what ended the run: the
# "Ended:" line and "stopped_by" in the JSON. Identical commands never claim a difference.
. "$(dirname "$0")/lib.sh"

expect "two commands 30% and more apart: the run ends settled, long before the budget" '
	"$KILN" bench -N "sleep 0.01" "sleep 0.02" --export-json r.json >out 2>err &&
	grep -q "^Ended: settled: #2 .sleep 0.02. is [0-9.]*× slower than #1 .sleep 0.01. (p " out &&
	python3 -c "
import json; d = json.load(open(\"r.json\"))
assert all(r[\"stopped_by\"] == \"settled\" for r in d[\"results\"]), d[\"results\"]
c = d[\"comparisons\"][0]
assert c[\"verdict\"] == \"slower\" and c[\"p_value\"] <= c[\"alpha\"] == 0.05, c
assert c[\"test\"] == \"anytime-valid-sign\" and c[\"estimate\"][\"ci\"][0] > 1, c
# settled after the minimum runs plus a few, not after a budget of runs
assert 10 <= d[\"results\"][0][\"runs\"] < 200, d[\"results\"][0][\"runs\"]
"
'
expect "the same command twice never claims a difference: it ends by precision or budget" '
	# the test keeps its false-positive rate at or below alpha (5%) over every look (about
	# 3% measured); a chance difference gets another attempt (three: 1 in 10^4 fails)
	for attempt in 1 2 3; do
		"$KILN" bench -N --max-time 1 -n first -n second "sleep 0.002" "sleep 0.002" --export-json r.json >out 2>err || exit 1
		python3 -c "
import json; d = json.load(open(\"r.json\"))
stop = {r[\"stopped_by\"] for r in d[\"results\"]}
assert stop <= {\"precision\", \"max-time\"} and len(stop) == 1, stop
c = d[\"comparisons\"][0]
assert c[\"verdict\"] == \"same\" and c[\"p_value\"] > c[\"alpha\"], c
" && grep -E -q "^Ended: (precision met|stopped by --max-time)" out &&
		grep -q "no significant difference" out && ! grep -q "^Ended: settled:" out && exit 0
	done
	exit 1
'
expect "--precision met ends the run and says so (one command, and two)" '
	"$KILN" bench -N --precision 50 "sleep 0.002" --export-json r.json >out 2>err &&
	grep -q "^Ended: precision met: the median.s 95% CI within ±50%, after [0-9]* runs" out &&
	python3 -c "
import json; r = json.load(open(\"r.json\"))[\"results\"][0]
assert r[\"stopped_by\"] == \"precision\" and r[\"runs\"] >= 10, r[\"runs\"]
lo, hi = r[\"median_ci95\"]; m = r[\"median\"]; assert max(hi - m, m - lo) <= 0.5 * m, r
" &&
	"$KILN" bench -N --precision 50 -m 12 "sleep 0.002" "sleep 0.002" >out 2>err &&
	grep -E -q "^Ended: (precision met: every comparison.s CI within ±50%|stopped by)" out
'
expect "--max-runs and --max-time end the run and say so, with the precision reached" '
	"$KILN" bench -N -m 8 -M 9 --precision 0.001 "sleep 0.001" --export-json r.json >out 2>err &&
	grep -q "^Ended: stopped by --max-runs (9), after 9 runs in .*; precision ±[0-9.]*%, not the ±0.001% target" out &&
	grep -q "the 95% CI of the median is ± [0-9.]*% after 9 runs.*stopped by --max-runs" err &&
	"$KILN" bench -N -m 3 -M 4 "sleep 0.001" >out 2>err &&
	grep -q "^Ended: stopped by --max-runs (4), after 4 runs in .*; too few runs to know the precision" out &&
	grep -q "4 runs are too few to bound the 95% CI of the median" err &&
	"$KILN" bench -N --max-time 0.3 --precision 0.001 "sleep 0.001" --export-json r.json >out 2>err &&
	grep -q "^Ended: stopped by --max-time (300.0 ms), after [0-9]* runs" out &&
	python3 -c "
import json; assert json.load(open(\"r.json\"))[\"results\"][0][\"stopped_by\"] == \"max-time\"
"
'
expect "--runs ends the run after exactly N, and --no-interleave says it per command" '
	"$KILN" bench -N -r 5 "sleep 0.001" "sleep 0.002" >out 2>err &&
	grep -q "^Ended: --runs 5 made, after 5 runs each" out &&
	"$KILN" bench -N --no-interleave -M 12 "sleep 0.001" "sleep 0.002" --export-json r.json >out 2>err &&
	grep -E -q "^Ended: #1 [a-z].*; #2 [a-z]" out &&
	python3 -c "
import json; d = json.load(open(\"r.json\"))
assert d[\"comparisons\"][0][\"test\"] == \"welch\", d[\"comparisons\"]
assert all(r[\"stopped_by\"] in (\"precision\", \"max-runs\") for r in d[\"results\"])
"
'
finish
