#!/usr/bin/env bash
# t2905-heap-python-nogil: allocations made by C code that runs with the GIL released
# (ctypes calls, SQLite under the sqlite3 module) are attributed to the Python
# functions that called it, in the main thread and in another thread.
# tests/workloads/py_nogil.py: c_alloc() mallocs 20 blocks (5,001..5,020 bytes, 100,210
# in all) through ctypes.CDLL, thread_alloc() 10 (6,001..6,010: 60,055) in a thread,
# both kept; sql_work() runs SQLite. tests/workloads/py_daemon_exit.py: daemon threads
# calling malloc through ctypes while the program ends (CPython frees their thread
# states then: the library stops reading them once the runtime is finalizing).
. "$(dirname "$0")/lib.sh"

expect "ctypes and SQLite allocations made without the GIL: under their Python callers" '
	"$KILN" heap -q -o ng.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_nogil.py" >out &&
	"$KILN" heap report ng.prof --folded --value leaked_bytes >leaked &&
	"$KILN" heap report ng.prof --folded --value alloc_count >count &&
	/usr/bin/python3 - leaked count <<-"PYEOF"
	import sys
	def rows(path):
	    for line in open(path):
	        stack, v = line.rsplit(" ", 1)
	        yield stack.split(";"), int(v)
	main = sum(v for s, v in rows(sys.argv[1]) if "c_alloc (py_nogil.py:14)" in s)
	th = sum(v for s, v in rows(sys.argv[1])
	         if "thread_alloc (py_nogil.py:19)" in s and "Thread.run (threading.py:964)" in s)
	assert main == 100210, ("c_alloc leaked bytes", main)
	assert th == 60055, ("thread_alloc leaked bytes", th)
	under = other = 0
	for s, v in rows(sys.argv[2]):
	    if any("sqlite3" in f for f in s):
	        if "sql_work (py_nogil.py:24)" in s:
	            under += v
	        else:
	            other += v
	assert under > 2000 and other * 100 <= under, ("SQLite allocations", under, other)
	PYEOF
'

expect "daemon threads allocating without the GIL as the program ends: exit 0, their mallocs under their function" '
	for i in 1 2 3 4 5; do
		"$KILN" heap -q -o d.prof -- /usr/bin/python3 "$TOP/tests/workloads/py_daemon_exit.py" 2>err ||
			{ echo "run $i failed"; cat err; exit 1; }
	done
	"$KILN" heap report d.prof --folded --value alloc_count >c &&
	n=$(grep "spin (py_daemon_exit.py:11);.*ffi_call;" c | awk "{s += \$NF} END {print s + 0}") &&
	[ "$n" -gt 1000 ] || { echo "allocations under spin: $n"; head -3 c; exit 1; }
'

finish
