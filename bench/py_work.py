"""py_work.py: a fixed amount of CPU-bound Python work for bench/python.sh (function
calls, integer arithmetic, a C call into zlib), about two seconds on a 2026 machine.
Writes its own CPU time (time.process_time) and wall time to the file argv[2].
usage: python3 py_work.py ROUNDS OUT"""
import sys
import time
import zlib

DATA = bytes(range(256)) * 16


def leaf(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


def middle(n):
    return leaf(n) + leaf(n // 2)


def compress():
    return len(zlib.compress(DATA, 6))


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    rounds = int(sys.argv[1])
    t0, w0 = time.process_time(), time.monotonic()
    total = 0
    for _ in range(rounds):
        total += middle(3000) + compress() + fib(14)
    t1, w1 = time.process_time(), time.monotonic()
    with open(sys.argv[2], "w") as f:
        f.write("%.6f %.6f %d\n" % (t1 - t0, w1 - w0, total & 0xff))


if __name__ == "__main__":
    main()
