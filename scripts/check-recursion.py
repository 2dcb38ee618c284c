#!/usr/bin/env python3
"""check-recursion.py: fails when a function of kiln can call itself, directly or through
other functions (recursion over input depth overflows the C stack on deep input).

Reads the call graphs gcc writes with -fcallgraph-info (one FILE.ci per source file, VCG
text; `make check-recursion` makes them), joins them across files and prints every cycle.
Calls through function pointers are not in these graphs; review those by hand.

The few cycles below are bounded by construction, not by the input, and are allowed.
"""
import glob
import re
import sys

# function (as "file:name" for static functions, else "name") -> why its depth is bounded
ALLOWED = {
    "ks_t_quantile": "calls itself once, for the upper tail (p < 0.5 -> 1 - p)",
    "ks_norm_quantile": "calls itself once, for the upper tail (p < 0.5 -> 1 - p)",
    "src/lib/heap/heap_run.c:check_file": "follows '#!' interpreters at most 3 deep",
    "src/lib/collect/record.c:task_find": "re-inserts into a table twice the size, once",
    "src/lib/collect/offcpu.c:find": "re-inserts into a table twice the size, once",
    "src/lib/collect/pyframes.c:proc_find": "re-inserts into a table twice the size, once",
    "src/lib/collect/pyframes.c:tq_find": "re-inserts into a table twice the size, once",
}

EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def load(directory):
    edges = {}
    for path in glob.glob(directory + "/**/*.ci", recursive=True):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = EDGE.match(line)
                if m:
                    edges.setdefault(m.group(1), set()).add(m.group(2))
    # an extern call names "f"; its definition's node is "file:f" (or "f" itself)
    defined = {}
    for node in edges:
        if ":" in node:
            defined.setdefault(node.split(":", 1)[1], []).append(node)
    def resolve(name):
        if ":" in name:
            return name
        d = defined.get(name)
        return d[0] if d and len(d) == 1 else name
    return {a: {resolve(b) for b in bs} for a, bs in edges.items()}


def cycles(graph):
    """Strongly connected components with a cycle (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph.get(root, ())))]
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(graph.get(w, ()))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in graph.get(v, ()):
                    found.append(sorted(comp))
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check-recursion.py DIR_OF_CI_FILES")
    graph = load(sys.argv[1])
    if not graph:
        sys.exit("check-recursion: no call graphs (*.ci) under " + sys.argv[1])
    bad = [c for c in cycles(graph) if not (len(c) == 1 and c[0] in ALLOWED)]
    for c in bad:
        print("recursion: " + " -> ".join(c), file=sys.stderr)
    if bad:
        print("check-recursion: %d cycle%s; make them loops (docs/internals-fuzzing.md)"
              % (len(bad), "" if len(bad) == 1 else "s"), file=sys.stderr)
        sys.exit(1)
    print("check-recursion: no recursion in %d functions (%d bounded ones allowed)"
          % (len(graph), len(ALLOWED)))


if __name__ == "__main__":
    main()
