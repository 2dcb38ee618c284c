#!/usr/bin/env bash
# t2904-heap-many-sites: kiln heap's stacks stay right in a program with more call
# sites than the heap library's table of unwind rules starts with (it grows while
# the program runs). tests/workloads/heap_sites.c has 4096 functions, built without
# frame pointers, each making a block of its own size, all run twice.
. "$(dirname "$0")/lib.sh"

expect "4096 call sites, each with its own two blocks under its own name" '
	"$KILN" heap -q -o sites.prof -- "$WORKLOADS/heap_sites" &&
	"$KILN" heap report sites.prof --folded --value alloc_bytes >sites.folded &&
	/usr/bin/python3 - sites.folded <<-"PYEOF"
	import re, sys
	got = {}
	for line in open(sys.argv[1]):
	    stack, v = line.rsplit(" ", 1)
	    m = re.search(r";main;site_([0-9a-f]{3})$", stack)
	    if m:
	        i = int(m.group(1), 16)
	        assert i not in got, ("two stacks for one site", i)
	        got[i] = int(v)
	missing = sorted(set(range(4096)) - set(got))
	assert not missing, ("sites without their stack", len(missing), missing[:5])
	bad = [(i, b) for i, b in got.items() if b != 2 * (i + 1)]
	assert not bad, ("sites with other bytes", len(bad), bad[:5])
	PYEOF
'

finish
