# py_alloc_truth.py: a Python program whose allocations are known (tests/e2e/t1601).
#  - Holder.fill keeps 4000 blocks of 1000 bytes (about 4 MB) until the end;
#  - big_buffer allocates one 32 MB buffer (or argv[1] MB), live at the heap's peak, then drops it;
#  - churn makes 100,000 temporaries of 200 bytes (allocated, then freed at once).
import sys


class Holder:
    def __init__(self):
        self.items = []

    def fill(self, n):
        for _ in range(n):
            self.items.append(bytearray(1000))  # KEEP


def big_buffer(mb):
    buf = bytearray(mb << 20)  # PEAK
    buf[0] = 1
    return len(buf)


def churn(n):
    bad = 0
    for _ in range(n):
        if len(bytes(200)) != 200:  # TEMP
            bad += 1
    return bad


def main():
    h = Holder()
    h.fill(4000)
    big_buffer(int(sys.argv[1]) if len(sys.argv) > 1 else 32)
    churn(100000)
    print(len(h.items), file=sys.stderr)


main()
