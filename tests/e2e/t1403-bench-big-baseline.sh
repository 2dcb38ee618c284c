#!/usr/bin/env bash
# t1403-bench-big-baseline: a 2M-run baseline against 3 runs. The significance statement and
# the verdict come from one test and agree; when 3 runs cannot tell, the output says how
# large a difference they could have shown (the issue: "p < 0.0001" beside "no significant
# difference").
. "$(dirname "$0")/lib.sh"

# A baseline of 2,000,000 runs of 'work' at 10.0 ms with a 0.1 ms resolution (98% ties).
make_base() {
	python3 - "$1" <<'PY'
import random, sys
random.seed(2000000)
with open(sys.argv[1], "w") as f:
    f.write('{"results": [{"command": "work", "times": [')
    f.write(",".join("0.0100" if random.random() < 0.98 else ("0.0099" if i % 2 else "0.0101")
                     for i in range(2000000)))
    f.write("]}]}\n")
PY
}
export -f make_base

# checks OUT JSON: the text and the JSON state one conclusion
check_agree() {
	python3 - "$1" "$2" <<'PY'
import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
c = [x for x in json.load(open(sys.argv[2]))["comparisons"] if x["reference"] == "base.json"][0]
assert c["test"] == "welch", c
row = [l for l in text.split("\n") if re.match(r"^  #1  work ", l)][0]
sent = [l for l in text.split("\n") if l.startswith("  #1 'work'") and "baseline" in l][0]
if c["verdict"] == "same":
    assert c["p_value"] >= c["alpha"], c
    assert row.endswith("no significant difference"), row
    assert "p < 0.0001" not in row and "p < 0.0001" not in sent, (row, sent)
    assert "no significant difference" in sent and "with 3 and 2000000 runs" in sent, sent
    lo, hi = c["estimate"]["ci"]
    assert lo <= 1 <= hi, c
else:
    assert c["p_value"] < c["alpha"], c
    assert row.endswith(c["verdict"]), row
    assert "× %s than its baseline" % c["verdict"] in sent, sent
    lo, hi = c["estimate"]["ci"]
    assert (lo > 1) if c["verdict"] == "slower" else (hi < 1), c
PY
}
export -f check_agree

expect "3 runs against a 2M-run baseline: verdict, p and interval agree, in text and JSON" '
	make_base base.json &&
	"$KILN" bench -N -r 3 -n work "sleep 0.01" --baseline base.json --export-json r.json >out 2>err &&
	check_agree out r.json &&
	# three runs far apart from each other (1, 10, 40 ms): whatever the baseline says, 3
	# such runs cannot settle anything: no significant difference, and the reason
	cat >var.sh <<"SH" &&
n=$(cat count 2>/dev/null || echo 0); echo $((n + 1)) >count
case $n in 0|1) t=0.001 ;; 2) t=0.010 ;; *) t=0.040 ;; esac
sleep $t
SH
	"$KILN" bench -N -r 3 -n work "sh var.sh" --baseline base.json --export-json r2.json >out2 2>err2 &&
	[ "$(cat count)" -eq 4 ] &&
	check_agree out2 r2.json &&
	grep -q "no significant difference" out2 && grep -q "with 3 and 2000000 runs only a difference beyond" out2
'
expect "the CI guard with 3 runs against 2M: fails only with significance, says p and CI" '
	make_base base.json &&
	"$KILN" bench -N -r 3 -n work "sleep 0.05" --baseline base.json --fail-if-slower 10 --export-json r.json >out 2>err
	rc=$?
	check_agree out r.json &&
	python3 -c "
import json, sys
c = [x for x in json.load(open(\"r.json\"))[\"comparisons\"] if x[\"reference\"] == \"base.json\"][0]
want = 1 if c[\"verdict\"] == \"slower\" and c[\"ratio\"] > 1.10 else 0
sys.exit(0 if want == $rc else 1)
" && { [ $rc -eq 0 ] || grep -q "Welch.s t-test p = .*the limit is 10%" err; }
'
finish
