#!/usr/bin/env python3
"""gen-folded.py: write a deterministic synthetic folded-stacks file for benchmarks.

    gen-folded.py [--stacks N] [--seed S] OUT

N unique stacks (default 200000) of depth 3 to 40, drawn as random walks through a
call tree whose branching is skewed (a few hot children, many cold ones), with
function names of realistic length; counts are skewed too. Lines are sorted, as
stackcollapse output is. The default makes about 66 MB."""
import random
import sys


def main():
    args = sys.argv[1:]
    stacks, seed, out = 200000, 42, None
    while args:
        a = args.pop(0)
        if a == "--stacks":
            stacks = int(args.pop(0))
        elif a == "--seed":
            seed = int(args.pop(0))
        else:
            out = a
    if not out:
        sys.exit("usage: gen-folded.py [--stacks N] [--seed S] OUT")
    rnd = random.Random(seed)
    words = ["alloc", "buffer", "cache", "dispatch", "encode", "flush", "get", "hash",
             "insert", "json", "key", "lookup", "merge", "node", "open", "parse",
             "query", "read", "send", "table", "update", "value", "write", "index",
             "render", "layout", "stream", "socket", "event", "loop", "task", "queue"]
    spaces = ["std::", "net::", "db::", "io::", "", "", ""]
    names = []
    for i in range(6000):
        n = rnd.choice(spaces) + "_".join(rnd.choice(words) for _ in range(1 if rnd.random() < 0.78 else 2))
        names.append("%s_%d" % (n, i))
    seen = set()
    lines = []
    while len(lines) < stacks:
        depth = rnd.randint(3, 40)
        node = 0
        frames = []
        for d in range(depth):
            # skewed choice of child: mostly the first few
            c = min(int(rnd.expovariate(0.35)), 400)
            node = (node * 1000003 + c * 7919 + d + 1) % 1000000007
            frames.append(names[node % len(names)])
        key = ";".join(frames)
        if key in seen:
            continue
        seen.add(key)
        count = int(rnd.paretovariate(1.2)) if rnd.random() < 0.9 else rnd.randint(1, 5000)
        lines.append("%s %d\n" % (key, count))
    lines.sort()
    with open(out, "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
