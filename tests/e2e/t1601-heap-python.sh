#!/usr/bin/env bash
# t1601-heap-python: kiln heap names Python functions and lines (CPython 3.11), for
# Debian's /usr/bin/python3 (_PyRuntime in the executable) and pyenv's python3
# (_PyRuntime in libpython3.11.so), on a program whose allocations are known
# (tests/workloads/py_alloc_truth.py): the peak is big_buffer's 32 MB buffer plus
# Holder.fill's 4 MB kept to the end, the temporaries are churn's 100,000.
. "$(dirname "$0")/lib.sh"

# truth PROFILE: the report says what the program did, at the right lines
truth() {
	"$KILN" heap report "$1" --json >"$1.json" || return 1
	/usr/bin/python3 - "$1.json" "$TOP/tests/workloads/py_alloc_truth.py" <<-'EOF'
	import json, sys
	d = json.load(open(sys.argv[1]))
	src = open(sys.argv[2]).read().splitlines()
	line = {tag: i + 1 for i, l in enumerate(src) for tag in ("PEAK", "KEEP", "TEMP") if "# " + tag in l}
	def leaf(row):
	    return row["stack"][0]
	def is_py(f, func, tag):
	    return (f["name"].startswith(func + " (py_alloc_truth.py:") and f.get("module") == "[python]"
	            and f.get("line") == line[tag] and f.get("file", "").endswith("py_alloc_truth.py"))
	peak = d["peak"]
	assert is_py(leaf(peak[0]), "big_buffer", "PEAK"), peak[0]
	assert peak[0]["peak_bytes"] >= 32 << 20, peak[0]
	names = [f["name"].split(" (")[0] for f in peak[0]["stack"]]
	assert names == ["big_buffer", "main", "<module>"], names  # nothing of the interpreter or libc
	assert not any("_PyEval" in n or n.startswith("Py") for n in names), names
	kept = sum(r["peak_bytes"] for r in peak if is_py(leaf(r), "Holder.fill", "KEEP"))
	assert 4000 * 1000 <= kept <= 4000 * 1200, (kept, peak[:3])
	total = d["summary"]["peak_bytes"]
	assert (32 << 20) + 4000 * 1000 <= total <= (32 << 20) + 4000 * 1200 + (8 << 20), total
	temp = d["temporary"][0]
	assert is_py(leaf(temp), "churn", "TEMP"), temp
	assert 99000 <= temp["temp_count"] <= 100100, temp
	EOF
}
export -f truth

expect "Debian's python3: peak, kept objects and temporaries at their Python lines" '
	/usr/bin/python3 "$TOP/tests/workloads/py_alloc_truth.py" >want 2>&1 &&
	"$KILN" heap -q -o py.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_alloc_truth.py" >got 2>&1 &&
	cmp want got && truth py.prof
'

PYENV=/root/.pyenv/versions/3.11.7/bin/python3.11
if [ -x "$PYENV" ]; then
	export PYENV
	expect "pyenv python3 (libpython3.11.so): the same truths" '
		"$KILN" heap -q -o py.prof -- "$PYENV" "$TOP/tests/workloads/py_alloc_truth.py" 2>err &&
		grep -qx 4000 err && truth py.prof
	'
	if [ -x /root/.pyenv/shims/python3 ]; then
		expect "python3 through pyenv's shim (a bash script that execs it): the same truths" '
			PATH=/root/.pyenv/shims:$PATH "$KILN" heap -q -o py.prof -- python3 "$TOP/tests/workloads/py_alloc_truth.py" 2>err &&
			truth py.prof
		'
	fi
else
	skip "pyenv python3" "no $PYENV"
fi

PY312=/root/.pyenv/versions/3.12.1/bin/python3.12
if [ -x "$PY312" ]; then
	export PY312
	expect "Python 3.12: recorded with native stacks, and one line says so" '
		"$KILN" heap -o py.prof -- "$PY312" "$TOP/tests/workloads/py_alloc_truth.py" 2>err &&
		[ "$(grep -c "Python 3.12.1: kiln reads the frames of Python 3.11 only; the stacks are native" err)" -eq 1 ] &&
		"$KILN" heap report py.prof --json >p.json &&
		/usr/bin/python3 -c "
import json; d = json.load(open(\"p.json\"))
assert d[\"summary\"][\"peak_bytes\"] >= 32 << 20
assert not any(f.get(\"module\") == \"[python]\" for r in d[\"calls\"] for f in r[\"stack\"])
"
	'
else
	skip "Python 3.12: native stacks and a note" "no $PY312"
fi

expect "Debian's python3.11-dbg (a debug build): the same truths" '
	[ ! -x /usr/bin/python3.11-dbg ] ||
	{ "$KILN" heap -q -o py.prof -- /usr/bin/python3.11-dbg "$TOP/tests/workloads/py_alloc_truth.py" 2>/dev/null && truth py.prof; }
'

expect "sampling mode: the 32 MB buffer is still big_buffer" '
	"$KILN" heap -q --sample 256K -o s.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_alloc_truth.py" 2>/dev/null &&
	"$KILN" heap report s.prof --json >s.json &&
	/usr/bin/python3 -c "
import json; d = json.load(open(\"s.json\"))
f = d[\"peak\"][0][\"stack\"][0]
assert f[\"name\"].startswith(\"big_buffer (py_alloc_truth.py:\"), f
"
'

expect "folded output and the flame graph keep Python frames, coloured apart" '
	"$KILN" heap -q -o py.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_alloc_truth.py" 2>/dev/null &&
	"$KILN" heap report py.prof --folded >f.txt &&
	grep -Eq "^<module> \(py_alloc_truth.py:1\);main \(py_alloc_truth.py:[0-9]+\);big_buffer \(py_alloc_truth.py:[0-9]+\) [0-9]+$" f.txt &&
	"$KILN" flame py.prof >g.svg &&
	/usr/bin/python3 - g.svg <<-EOF
	import html, re, sys
	svg = open(sys.argv[1]).read()
	fills = {}
	for title, fill in re.findall(r"<title>([^<]*)</title><rect [^>]*fill=\"#([0-9a-f]{6})\"", svg):
	    fills[html.unescape(title).split(" (")[0]] = tuple(int(fill[i:i + 2], 16) for i in (0, 2, 4))
	for fn in ("big_buffer", "main", "<module>"):
	    r, g, b = fills[fn]
	    assert b > r and b > 150, (fn, fills[fn])   # Python blue
	r, g, b = fills["all"]
	assert r > b, fills["all"]                      # the default palette: warm
	EOF
'

expect "--python-internals keeps the interpreter frames around Python frames" '
	"$KILN" heap -q --python-internals -o py.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_alloc_truth.py" 2>/dev/null &&
	"$KILN" heap report py.prof --folded >f.txt &&
	grep "big_buffer (py_alloc_truth.py" f.txt | grep -q "_PyEval_EvalFrameDefault;" &&
	"$KILN" heap -q -o py2.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_alloc_truth.py" 2>/dev/null &&
	"$KILN" heap report py2.prof --folded >f2.txt &&
	! grep -q "_PyEval_EvalFrameDefault" f2.txt
'

expect "KILN_HEAP_PYTHON=0: native stacks, no note" '
	KILN_HEAP_PYTHON=0 "$KILN" heap -o py.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_alloc_truth.py" 2>err &&
	! grep -q "Python 3" err && "$KILN" heap report py.prof --folded >f.txt &&
	! grep -q "py_alloc_truth.py:" f.txt && grep -q "_PyEval_EvalFrameDefault" f.txt
'

expect "-X dev (CPython installs its debug allocators over kiln's hooks): the same truths" '
	"$KILN" heap -q -o dev.prof -- /usr/bin/python3 -X dev "$TOP/tests/workloads/py_alloc_truth.py" 2>/dev/null &&
	truth dev.prof
'

expect "PYTHONMALLOC=pymalloc set by the user: kept, and small objects still seen (the same truths)" '
	PYTHONMALLOC=pymalloc "$KILN" heap -q -o pym.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_alloc_truth.py" 2>/dev/null &&
	truth pym.prof
'

# zlib.compressobj allocates its deflate state (about 256 KiB each) in zlib, below
# the Python function that called it
cat >"$SCRATCH/ext.py" <<'EOF'
import zlib
def comp():
    return zlib.compressobj(9)
def main():
    keep = [comp() for _ in range(50)]
    print(len(keep))
main()
EOF
ext_truth() {
	"$KILN" heap report "$1" --folded >"$1.txt" &&
	grep -Eq "main \(ext.py:4\);(main.<locals>.<listcomp> \(ext.py:5\);)?comp \(ext.py:2\);([^;]*;)*deflateInit2_ [0-9]+$" "$1.txt"
}
export -f ext_truth
expect "an extension's native frames stay above its Python caller (zlib's deflateInit2_ above comp)" '
	cp ../ext.py . &&
	"$KILN" heap -q -o ext.prof -- /usr/bin/python3 ext.py >/dev/null 2>&1 && ext_truth ext.prof &&
	{ [ ! -x "${PYENV:-}" ] || { "$KILN" heap -q -o ext2.prof -- "$PYENV" ext.py >/dev/null 2>&1 && ext_truth ext2.prof; }; }
'

expect "PYTHONMALLOC set by the user is kept" '
	PYTHONMALLOC=pymalloc "$KILN" heap -q -o py.prof -- /usr/bin/python3 -c "import os; print(os.environ[\"PYTHONMALLOC\"])" >out 2>/dev/null &&
	grep -qx pymalloc out &&
	"$KILN" heap -q -o py2.prof -- /usr/bin/python3 -c "import os; print(os.environ.get(\"PYTHONMALLOC\", \"unset\"))" >out2 2>/dev/null &&
	grep -qx unset out2
'

finish
