# py_daemon_exit.py: two daemon threads keep calling malloc and free through ctypes
# (the GIL released in each call) while the main thread ends the program: CPython
# frees their thread states while they may still be inside such a call.
import ctypes, threading, time

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]


def spin():
    while True:
        libc.free(libc.malloc(100))


for _ in range(2):
    threading.Thread(target=spin, daemon=True).start()
time.sleep(0.05)
