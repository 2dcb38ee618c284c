# py_callers.py: one allocating line reached through one helper from seven callers in
# turn (more callers than kiln heap remembers chains per place), one of them through
# a recursion 60 frames deep. Caller cI allocates, per call, a list of 1000 * (I + 1)
# items (8 bytes each) at leaf's line; every caller is called ROUNDS times (argv[1]).
import sys


def leaf(k):
    return [None] * k  # ALLOC


def mid(k):
    return leaf(k)


def c0(): return mid(1000)
def c1(): return mid(2000)
def c2(): return mid(3000)
def c3(): return mid(4000)
def c4(): return mid(5000)
def c5(): return mid(6000)


def deep(d):
    return deep(d - 1) if d else mid(7000)


def c6(): return deep(60)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    callers = (c0, c1, c2, c3, c4, c5, c6)
    for _ in range(rounds):
        for c in callers:
            c()
    print(rounds)


main()
