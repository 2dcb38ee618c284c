#!/usr/bin/env bash
# t2903-heap-python-names: the names, files and lines of Python frames in kiln heap
# stacks are whole and right however long or wide they are. The library reads a code
# object's name, file and line table with one first read of each object's start and
# reads the rest where that did not hold it all: tests/workloads/py_names.py has a
# Latin-1 name, a CJK name, a 300-character name, a module at a 587-byte path and a
# function whose line table is longer than the first read (its allocation at line
# 1509), each allocating 3 blocks of its own size.
. "$(dirname "$0")/lib.sh"

expect "Latin-1, CJK and 300-character names, a 587-byte path and line 1509, each whole" '
	"$KILN" heap -q -o names.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_names.py" "$T/m" >path.txt &&
	"$KILN" heap report names.prof --json --value alloc_bytes --top 40 >names.json &&
	/usr/bin/python3 - names.json path.txt <<-"PYEOF"
	import json, os, sys
	want_path_len = int(open(sys.argv[2]).read())
	rows = json.load(open(sys.argv[1]))["top"]
	found = {}
	for r in rows:
	    f = r["stack"][0]
	    if "names_mod.py" in f["name"]:
	        found[f["name"]] = (f["line"], f["file"], r["alloc_bytes"])
	long = "f_" + "x" * 298
	want = {"café (names_mod.py:2)": (3, 100001), "函数 (names_mod.py:4)": (5, 100002),
	        long + " (names_mod.py:6)": (7, 100003), "big (names_mod.py:8)": (1509, 100004)}
	for name, (line, size) in want.items():
	    assert name in found, (name[:40], sorted(n[:40] for n in found))
	    got_line, path, b = found[name]
	    assert got_line == line, (name[:40], got_line, line)
	    assert len(path.encode()) == want_path_len and path.endswith("/names_mod.py"), (len(path), path[-40:])
	    assert os.path.isfile(path), path
	    assert 3 * size <= b <= 3 * size + 1000, (name[:40], b)
	PYEOF
'

finish
