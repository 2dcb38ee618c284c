"""py_mp.py: multiprocessing workers (fork or spawn) that compute in mp_work.
usage: python3 py_mp.py fork|spawn SECONDS"""
import multiprocessing as mp
import sys
import time


def mp_work(seconds):
    t0 = time.thread_time()
    s = 0
    while time.thread_time() - t0 < seconds:
        s += 1
    return s


def main():
    ctx = mp.get_context(sys.argv[1])
    seconds = float(sys.argv[2])
    with ctx.Pool(2) as pool:
        print(sum(pool.map(mp_work, [seconds, seconds])))


if __name__ == "__main__":
    main()
