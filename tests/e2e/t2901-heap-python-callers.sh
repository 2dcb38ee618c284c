#!/usr/bin/env bash
# t2901-heap-python-callers: kiln heap keeps recent Python chains to skip reading them
# again; one allocating line reached from more callers than it keeps per place, in
# turn, and through a chain deeper than it keeps (tests/workloads/py_callers.py), must
# still give each allocation its own caller's chain. A chain's frames go to kiln once
# per process; a fork child that allocates through a chain its parent kept
# (tests/workloads/py_fork_alloc.py) must still send what kiln needs.
. "$(dirname "$0")/lib.sh"

expect "one line reached from seven callers in turn (one 60 frames deep): each caller's bytes, under its own chain" '
	"$KILN" heap -q -o c.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_callers.py" 2000 >out &&
	grep -qx 2000 out &&
	"$KILN" heap report c.prof --folded --value alloc_bytes >c.folded &&
	/usr/bin/python3 - c.folded <<-"PYEOF"
	import collections, re, sys
	got = collections.Counter()
	for line in open(sys.argv[1]):
	    stack, v = line.rsplit(" ", 1)
	    frames = [f.split(" (")[0] for f in stack.split(";")]
	    if "leaf" not in frames:
	        continue
	    callers = [f for f in frames if re.fullmatch(r"c\d", f)]
	    assert len(callers) == 1, stack
	    c = callers[0]
	    i = frames.index(c)
	    want = ["mid", "leaf"] if c != "c6" else ["deep"] * 61 + ["mid", "leaf"]
	    assert frames[i + 1:] == want, (c, frames[i + 1:])
	    assert frames[i - 1] == "main", stack
	    got[c] += int(v)
	assert sorted(got) == ["c%d" % i for i in range(7)], got
	for i in range(7):
	    want = 2000 * 8000 * (i + 1)
	    assert want <= got["c%d" % i] <= want + 64000, (i, got["c%d" % i], want)
	PYEOF
'
expect "a fork child allocating through its parent's chain, by another C path: each path's bytes, no damaged records" '
	"$KILN" heap -q --python-internals -o f.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_fork_alloc.py" >out 2>err &&
	grep -qx "child 400" out && grep -qx "parent 200" out && ! grep -qi "damaged\|corrupt" err &&
	"$KILN" heap report f.prof --folded --value alloc_bytes >f.folded &&
	"$KILN" heap report f.prof --json >f.json &&
	/usr/bin/python3 - f.folded f.json <<-"PYEOF"
	import json, sys
	by = {}
	for line in open(sys.argv[1]):
	    stack, v = line.rsplit(" ", 1)
	    if ";alloc (py_fork_alloc.py:" not in stack:
	        continue
	    below = stack.split(";alloc (py_fork_alloc.py:", 1)[1]
	    path = "bytes" if "bytes_new" in below else "bytearray" if "bytearray___init__" in below else "other"
	    by[path] = by.get(path, 0) + int(v)
	assert by.get("bytes") == 200 * 1033, by       # the parent: bytes(1000), 33 bytes of header
	assert by.get("bytearray") == 200 * 3001, by   # the child: bytearray(3000) buffers
	s = json.load(open(sys.argv[2]))["summary"]
	assert s["processes"] == 2, s
	PYEOF
'

finish
