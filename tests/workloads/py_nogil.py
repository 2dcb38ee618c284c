# py_nogil.py: allocations made by C code that runs with the GIL released, from Python
# functions: c_alloc() calls libc's malloc through ctypes.CDLL (which releases the GIL
# around the call) 20 times, keeping the blocks (5,001 to 5,020 bytes); sql_work() runs
# SQLite (the sqlite3 module releases the GIL around SQLite's work, which allocates);
# and a thread does c_alloc's work too (thread_alloc, 6,001 to 6,010 bytes) while the
# main thread allocates Python objects.
import ctypes, sqlite3, threading

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
kept = []


def c_alloc():
    for i in range(20):
        kept.append(libc.malloc(5001 + i))


def thread_alloc():
    for i in range(10):
        kept.append(libc.malloc(6001 + i))


def sql_work():
    con = sqlite3.connect(":memory:")
    con.execute("create table t (k integer primary key, v text)")
    con.executemany("insert into t (v) values (?)", (("row %d" % i * 3,) for i in range(3000)))
    n = con.execute("select count(*), max(length(v)) from t where v like '%7%'").fetchone()
    con.close()
    return n


th = threading.Thread(target=thread_alloc)
th.start()
junk = [str(i) * 3 for i in range(20000)]
th.join()
c_alloc()
print(sql_work())
