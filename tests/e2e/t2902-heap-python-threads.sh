#!/usr/bin/env bash
# t2902-heap-python-threads: kiln heap records CPython's allocations on a fast path
# while one thread records, and on the general one (every event in order across
# threads) from the moment a second thread does. tests/workloads/py_heap_threads.py
# allocates the same way alone, then with two threads that free each other's blocks,
# then alone again: both paths must give the same record, no block freed in another
# thread may look leaked, and kiln must see every free after its allocation.
. "$(dirname "$0")/lib.sh"

expect "Python threads freeing each other's blocks: the same record alone before and after, nothing leaked" '
	"$KILN" heap -q -o t.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_heap_threads.py" 2000 >out 2>err &&
	grep -qx "2000 0" out && ! grep -qi "damaged\|corrupt\|lost" err &&
	for v in alloc_bytes alloc_count leaked_bytes; do
		"$KILN" heap report t.prof --folded --value $v >t.$v || exit 1
	done &&
	"$KILN" export -f json -o t.json t.prof &&
	/usr/bin/python3 - <<-"PYEOF"
	import collections
	def by_fn(value):
	    c = collections.Counter()
	    for line in open("t." + value):
	        stack, v = line.rsplit(" ", 1)
	        if "(py_heap_threads.py:" not in stack:
	            continue
	        names = [f.split(" (")[0] for f in stack.split(";")]
	        for fn in ("alone", "worker", "after"):
	            if any(n == fn or n.startswith(fn + ".") for n in names):
	                c[fn] += int(v)
	    return c
	size = 3000 + 33          # bytes(3000): 33 bytes of header
	b, n, leak = by_fn("alloc_bytes"), by_fn("alloc_count"), by_fn("leaked_bytes")
	assert b["alone"] == b["after"] and n["alone"] == n["after"], (b, n)
	assert 2000 * size <= b["alone"] < 2000 * size + 400000, b
	assert b["worker"] >= 4000 * size, b
	assert not leak, leak     # freed in the other threads, and kept ones at the end
	# every free was seen after its allocation, and none twice: events in order
	import json
	meta = json.load(open("t.json"))["meta"]
	assert meta["heap.unknown_frees"] == "0" and meta["heap.missed_frees"] == "0", meta
	PYEOF
'

finish
