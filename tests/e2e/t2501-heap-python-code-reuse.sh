#!/usr/bin/env bash
# t2501-heap-python-code-reuse: kiln heap's Python stacks stay right when code objects
# are freed and new ones take their addresses (the library reuses a recent stack when
# the frames, code objects and instructions look the same: a freed code object must
# make it look again). tests/workloads/py_code_reuse.py makes 300 functions one after
# the other (code.replace), each run from the same line, each dropped before the next.
. "$(dirname "$0")/lib.sh"

expect "each of 300 short-lived functions gets its own allocations, under its own name and file" '
	"$KILN" heap -q -o cr.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_code_reuse.py" &&
	"$KILN" heap report cr.prof --folded --value alloc_bytes >cr.folded &&
	/usr/bin/python3 - cr.folded <<-"PYEOF"
	import collections, re, sys
	got = collections.Counter()
	for line in open(sys.argv[1]):
	    stack, v = line.rsplit(" ", 1)
	    names = re.findall(r"\bf(\d+) \(gen(\d+)\.py:\d+\)", stack)
	    for f, g in names:
	        assert f == g, ("a function under another one\x27s file", f, g)
	    if names:
	        assert len(names) == 1, stack
	        got[int(names[0][0])] += int(v)
	assert sorted(got) == list(range(300)), sorted(set(range(300)) - set(got))
	for i, b in got.items():
	    want = 10 * (i % 7 + 1) * 1000
	    assert want <= b <= want + 2000, (i, b, want)
	PYEOF
'

finish
