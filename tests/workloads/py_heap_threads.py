# py_heap_threads.py: known allocations of Python threads, for t2902. The main thread
# makes N blocks alone (kiln records it alone, then), two threads then make N blocks
# each and the main thread frees what they made (a block freed in another thread than
# the one that made it), and the threads free what the main thread made before they
# started; after they end the main thread makes N more, and keeps them to the end.
# Every block is a bytes object of SIZE bytes (33 bytes of header: SIZE + 33 each).
import queue
import sys
import threading

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
SIZE = 3000


def alone(n):
    return [bytes(SIZE) for _ in range(n)]


def worker(mine, out):
    for i in range(N):
        out.put(bytes(SIZE))   # freed by the main thread
        if i % 2 == 0 and mine:
            del mine[-1]       # the main thread's, freed here


def drain(q, n):
    got = 0
    while got < n:
        q.get()
        got += 1


def after(n):
    return [bytes(SIZE) for _ in range(n)]


def main():
    early = alone(N)
    q = queue.Queue(maxsize=64)
    halves = [early[: N // 2], early[N // 2:]]
    del early
    ts = [threading.Thread(target=worker, args=(halves[i], q)) for i in range(2)]
    for t in ts:
        t.start()
    drain(q, 2 * N)
    for t in ts:
        t.join()
    global kept
    kept = after(N)
    print(len(kept), sum(len(h) for h in halves))


main()
