"""py_wait.py: a Python program that waits in known places, for kiln record --off-cpu.

sleeper() sleeps in time.sleep; reader() blocks in a socket read that a helper thread
answers after a delay; spinner() computes. usage: python3 py_wait.py ROUNDS"""
import socket
import sys
import threading
import time


def sleeper():
    time.sleep(0.2)


def reader(sock):
    return sock.recv(16)


def answer(sock):
    time.sleep(0.2)
    sock.send(b"x")


def spinner():
    t0 = time.thread_time()
    s = 0
    while time.thread_time() - t0 < 0.05:
        s += 1
    return s


def main():
    rounds = int(sys.argv[1])
    for _ in range(rounds):
        sleeper()
        a, b = socket.socketpair()
        t = threading.Thread(target=answer, args=(b,))
        t.start()
        reader(a)
        t.join()
        a.close()
        b.close()
        spinner()


if __name__ == "__main__":
    main()
