# py_leak_late.py: ten blocks leaked by leak_me() (malloc through ctypes, never freed)
# at the start, then a second of other work, so that kiln heap writes their stack and
# values out long before the program ends.
import ctypes, time
libc = ctypes.PyDLL(None)  # calls keep the GIL: Python frames are seen
libc.malloc.restype = ctypes.c_void_p
def leak_me():
    return [libc.malloc(1000 + i) for i in range(10)]
kept = leak_me()
end = time.monotonic() + 1.0
while time.monotonic() < end:
    [str(i) for i in range(100)]
