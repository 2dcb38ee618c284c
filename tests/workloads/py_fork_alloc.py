# py_fork_alloc.py: a Python program that forks in the middle of a loop, so that the
# child allocates through the very frame chain the parent used before the fork (the
# kiln heap library's memos of that chain are inherited), at the same instruction but
# through another C function: the parent keeps 200 bytes(1000), the child 200
# bytearray(3000), both from alloc's one line.
import os


def alloc(fn, k):
    return fn(k)  # ALLOC


def step(fn, k):
    return alloc(fn, k)


def main():
    keep = []
    child = False
    for i, fn in enumerate((bytes, None, bytearray)):
        if fn is None:
            pid = os.fork()
            if pid:
                os.waitpid(pid, 0)
                break
            child = True
            continue
        for _ in range(200):
            keep.append(step(fn, 1000 * (i + 1)))
    print("child" if child else "parent", len(keep))
    if child:
        os._exit(0)


main()
