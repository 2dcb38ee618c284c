"""py_shares.py: Python functions with known CPU shares, for kiln record's Python tests.

alpha, beta and gamma take 60/30/10 percent of the CPU time (beta inside zlib.compress,
a C function), interleaved in small slices so any window of the run has the same mix.
Each function measures its own CPU time with time.thread_time(); at the end the program
writes the measured shares as JSON to the file named by argv[2] (the test compares).
usage: python3 py_shares.py SECONDS OUT.json [threads]
  threads: run alpha in one thread and beta+gamma in another (two Python threads)."""
import json
import sys
import threading
import time
import zlib

spent = {"alpha": 0.0, "beta": 0.0, "gamma": 0.0}
DATA = bytes(range(256)) * 64


def alpha(budget):
    t0 = time.thread_time()
    s = 0
    while time.thread_time() - t0 < budget:
        for i in range(2000):
            s += i * i
    spent["alpha"] += time.thread_time() - t0
    return s


def beta(budget):
    t0 = time.thread_time()
    n = 0
    while time.thread_time() - t0 < budget:
        n += len(zlib.compress(DATA, 9))
    spent["beta"] += time.thread_time() - t0
    return n


def gamma(budget):
    t0 = time.thread_time()
    s = 0
    while time.thread_time() - t0 < budget:
        for i in range(2000):
            s ^= i
    spent["gamma"] += time.thread_time() - t0
    return s


def loop(seconds, fns):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for fn, budget in fns:
            fn(budget)


def main():
    seconds = float(sys.argv[1])
    out = sys.argv[2]
    if len(sys.argv) > 3 and sys.argv[3] == "threads":
        a = threading.Thread(target=loop, args=(seconds, [(alpha, 0.006)]), name="worker-a")
        b = threading.Thread(target=loop, args=(seconds, [(beta, 0.003), (gamma, 0.001)]), name="worker-b")
        a.start()
        b.start()
        a.join()
        b.join()
    else:
        loop(seconds, [(alpha, 0.006), (beta, 0.003), (gamma, 0.001)])
    total = sum(spent.values())
    with open(out, "w") as f:
        json.dump({k: 100.0 * v / total for k, v in spent.items()}, f)


if __name__ == "__main__":
    main()
