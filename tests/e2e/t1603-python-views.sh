#!/usr/bin/env bash
# t1603-python-views: report, flame, diff and folded output with Python and JIT frames:
# flame colours Python frames (flagged, or by their "NAME (FILE.py:LINE)" form in folded
# text) and JIT frames apart; diff matches Python functions across two runs.
. "$(dirname "$0")/lib.sh"

# fills SVG: "name r g b" per drawn frame
fills() {
	/usr/bin/python3 - "$1" <<-'EOF'
	import html, re, sys
	for title, fill in re.findall(r"<title>([^<]*)</title><rect [^>]*fill=\"#([0-9a-f]{6})\"", open(sys.argv[1]).read()):
	    name = html.unescape(title).rsplit(" (", 1)[0]
	    print("%s\t%d %d %d" % ((name,) + tuple(int(fill[i:i + 2], 16) for i in (0, 2, 4))))
	EOF
}
export -f fills

expect "flame on folded text: Python frames blue, JIT frames green, native ones warm" '
	printf "%s\n" \
	  "python3;_start;main;<module> (app.py:1);work (app.py:10);PyList_Append 30" \
	  "python3;_start;main;<module> (app.py:1);load (<frozen importlib._bootstrap>:1002) 10" \
	  "node;JS:*alpha /srv/x.js:2:15_[j];Builtins_Foo 20" >in.folded &&
	"$KILN" flame in.folded >g.svg && fills g.svg >f.txt &&
	/usr/bin/python3 - f.txt <<-EOF
	import sys
	c = {}
	for l in open(sys.argv[1]):
	    n, rgb = l.rstrip("\n").split("\t")
	    c[n] = tuple(map(int, rgb.split()))
	def blue(x): return x[2] > 150 and x[2] > x[0] + 60
	def green(x): return x[1] > 190 and x[1] > x[0] + 60 and x[1] > x[2] + 60
	def warm(x): return x[0] > 190 and x[0] > x[2] + 60
	for n in ("<module> (app.py:1)", "work (app.py:10)", "load (<frozen importlib._bootstrap>:1002)"):
	    assert blue(c[n]), (n, c[n])
	assert green(c["JS:*alpha /srv/x.js:2:15_[j]"]), c
	for n in ("main", "PyList_Append", "Builtins_Foo", "_start"):
	    assert warm(c[n]), (n, c[n])
	EOF
'

expect "a name that only looks a bit like Python stays native" '
	printf "%s\n" "a;f (x.c:3);g (notes.txt:4);h(app.py:1) 5" >in.folded &&
	"$KILN" flame in.folded >g.svg && fills g.svg >f.txt &&
	/usr/bin/python3 - f.txt <<-EOF
	import sys
	for l in open(sys.argv[1]):
	    n, rgb = l.rstrip("\n").split("\t")
	    r, g, b = map(int, rgb.split())
	    assert r > b, (n, r, g, b)
	EOF
'

expect "mem palette: Python frames in Python yellow, apart from the palette" '
	printf "%s\n" "python3;main;<module> (app.py:1);work (app.py:10) 30" >in.folded &&
	"$KILN" flame --colors mem in.folded >g.svg &&
	fills g.svg >f.txt &&
	/usr/bin/python3 - f.txt <<-EOF
	import sys
	c = {}
	for l in open(sys.argv[1]):
	    n, rgb = l.rstrip("\n").split("\t")
	    c[n] = tuple(map(int, rgb.split()))
	r, g, b = c["work (app.py:10)"]
	assert r > 200 and g > 170 and b < 90, c
	assert c["main"][0] < 10, c   # the mem palette itself
	EOF
'

expect "diff across two Python heap runs matches the functions (32 MB, then 64 MB)" '
	"$KILN" heap -q -o a.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_alloc_truth.py" 32 2>/dev/null &&
	"$KILN" heap -q -o b.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_alloc_truth.py" 64 2>/dev/null &&
	"$KILN" diff --folded a.prof b.prof >d.txt &&
	/usr/bin/python3 - d.txt <<-EOF
	import sys
	rows = {}
	for l in open(sys.argv[1]):
	    stack, a, b = l.rsplit(" ", 2)
	    rows[stack] = (float(a), float(b))
	big = [v for s, v in rows.items() if s.endswith(";big_buffer (py_alloc_truth.py:17)")]
	assert len(big) == 1, big
	a, b = big[0]
	assert 32 << 20 <= a < 33 << 20 and 64 << 20 <= b < 65 << 20, big
	keep = [v for s, v in rows.items() if s.endswith(";Holder.fill (py_alloc_truth.py:12)")]
	assert keep and all(x[0] > 0 and x[1] > 0 for x in keep), keep
	EOF
	"$KILN" diff a.prof b.prof >d.svg && grep -q "big_buffer (py_alloc_truth.py:17)" d.svg
'

expect "kiln report on a heap profile with Python frames: table, tree, folded and JSON" '
	"$KILN" heap -q -o a.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_alloc_truth.py" 2>/dev/null &&
	"$KILN" report -i a.prof --json >r.json &&
	/usr/bin/python3 -c "
import json; d = json.load(open(\"r.json\"))
s = d[\"peak\"][0][\"stack\"]
assert s[0][\"name\"] == \"big_buffer (py_alloc_truth.py:17)\" and s[0][\"line\"] == 18 and s[0][\"module\"] == \"[python]\", s[0]
" && "$KILN" report -i a.prof >r.txt && grep -q "big_buffer (py_alloc_truth.py:17) line 18 < main (py_alloc_truth.py:" r.txt
'

finish
