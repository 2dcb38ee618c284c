"""py_probe.py: the quick self-check: one function, kiln_probe_fn, that computes."""
import time


def kiln_probe_fn():
    t0 = time.thread_time()
    s = 0
    while time.thread_time() - t0 < 0.5:
        s += 1
    return s


kiln_probe_fn()
