#!/usr/bin/env bash
# t1401-bench-long-commands: commands alike in their first 40+ characters stay distinct in
# the comparison table (labels #1, #2 and a legend with the full commands), the columns stay
# aligned at any length, and the JSON carries the full commands.
. "$(dirname "$0")/lib.sh"

# Two commands that differ only after the 60th character, a third of 200 characters.
A="sleep 0.001; : a-long-prefix-that-makes-the-two-commands-look-alike ; : variant-one"
B="sleep 0.004; : a-long-prefix-that-makes-the-two-commands-look-alike ; : variant-two"
C="sleep 0.002; : $(printf 'x%.0s' $(seq 180))"
export A B C

expect "long commands: a label per command, a legend with each full command, JSON in full" '
	"$KILN" bench -r 12 "$A" "$B" "$C" --export-json r.json >out 2>err &&
	grep -qxF "  #1: $A" out && grep -qxF "  #2: $B" out && grep -qxF "  #3: $C" out &&
	# the table rows carry labels only, never a cut command
	! grep -E "^  #[0-9] +[0-9.]+ [mµ]?s" out | grep -q "prefix" &&
	grep -E -q "^  #[123] +[0-9.]+ [mµ]?s +1\.000 +reference$" out &&
	python3 -c "
import json, sys
d = json.load(open(\"r.json\"))
names = [r[\"command\"] for r in d[\"results\"]]
import os
assert names == [os.environ[\"A\"], os.environ[\"B\"], os.environ[\"C\"]], names
for c in d[\"comparisons\"]:
    assert c[\"command\"] in names and c[\"reference\"] in names, c
"
'
expect "the table is aligned: every row ends its mean and its ratio in the columns of the header" '
	"$KILN" bench -r 12 "$A" "$B" "$C" >out 2>/dev/null &&
	python3 - out <<"PY"
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
hdr = [i for i, l in enumerate(lines) if "Ratio" in l and "Verdict" in l]
assert len(hdr) == 1, hdr
h = lines[hdr[0]]
mean_end, ratio_end = h.index("Mean") + 4, h.index("Ratio") + 5
rows = 0
for l in lines[hdr[0] + 1:]:
    m = re.match(r"^  #\d+ +(\d[\d.]* [mµ]?s) +(\d+\.?\d*) ", l)
    if not m:
        break
    assert m.end(1) == mean_end, (l, m.end(1), mean_end)
    assert m.end(2) == ratio_end, (l, m.end(2), ratio_end)
    rows += 1
assert rows == 3, rows
PY
'
expect "short names (-n) are shown in the table next to their label, no legend" '
	"$KILN" bench -r 12 -n one -n two "$A" "$B" --export-json r.json >out 2>/dev/null &&
	grep -E -q "^  #[12]  one +[0-9.]+ [mµ]?s" out && grep -E -q "^  #[12]  two +[0-9.]+ [mµ]?s" out &&
	! grep -q "^  #1: " out &&
	python3 -c "
import json; d = json.load(open(\"r.json\"))
assert [r[\"command\"] for r in d[\"results\"]] == [\"one\", \"two\"]
assert d[\"results\"][0][\"command_line\"].endswith(\"variant-one\")
"
'
expect "a command with a newline is shown escaped on one legend line" '
	"$KILN" bench -r 3 "true
true" "sleep 0.001" >out 2>/dev/null &&
	grep -qxF "  #1: true\\ntrue" out && grep -q "^Benchmark #1: true\\\\ntrue$" out
'
finish
