# python_alloc.py: an allocation-heavy Python program for bench/python-heap.sh: builds
# and walks trees of small objects, dicts, lists and strings, ROUNDS times (argv[1]).
import sys
class Node:
    __slots__ = ("k", "v", "kids")
    def __init__(self, k, v):
        self.k = k; self.v = v; self.kids = []
def build(depth, width):
    n = Node(depth, str(depth) * 4)
    if depth:
        for i in range(width):
            n.kids.append(build(depth - 1, width))
    return n
def walk(n):
    s = {n.k: n.v}
    for c in n.kids:
        s.update(walk(c))
    return s
def main():
    total = 0
    for r in range(int(sys.argv[1]) if len(sys.argv) > 1 else 10):
        t = build(7, 4)
        d = walk(t)
        total += len(d) + len([x * 2 for x in range(20000)])
        words = " ".join(str(i) for i in range(20000)).split()
        total += len(words)
    print(total)
main()
