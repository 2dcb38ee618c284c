#!/usr/bin/python3
# probed.py PID [TIMEOUT]: waits until `kiln lock -p PID` has its probes in: the last one
# kiln attaches (on libc's pthread_cond_timedwait) shows in process PID's memory as int3
# (0xcc, read through /proc/PID/mem); then 0.3 s more for kiln to arm its program.
# Exits 1 when that does not happen within TIMEOUT seconds (default 60). Needs root.
# Used by t2401-lock-attach.sh and bench/lock.sh.
import re, subprocess, sys, time

pid = int(sys.argv[1])
timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60


def libc():
    for line in open(f"/proc/{pid}/maps"):
        f = line.split()
        if len(f) >= 6 and "x" in f[1] and re.search(r"/libc[.-][^/]*so", f[5]):
            return int(f[0].split("-")[0], 16), int(f[2], 16), f[5]
    return None


def file_offset(path, name):
    nm = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True).stdout
    v = [int(l.split()[0], 16) for l in nm.splitlines() if l.endswith(" " + name)]
    if not v:
        return None
    for l in subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout.splitlines():
        f = l.split()
        if f and f[0] == "LOAD" and "E" in f[-2:]:
            o, va, fs = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if va <= v[0] < va + fs:
                return v[0] - va + o
    return None


deadline = time.time() + timeout
off = None
while time.time() < deadline:
    m = libc()
    if m:
        start, pgoff, path = m
        if off is None:
            off = file_offset(path, "pthread_cond_timedwait@@GLIBC_2.3.2")
        if off is not None:
            with open(f"/proc/{pid}/mem", "rb") as mem:
                mem.seek(start + off - pgoff)
                if mem.read(1) == b"\xcc":
                    time.sleep(0.3)
                    sys.exit(0)
    time.sleep(0.05)
print(f"kiln's probes never appeared in process {pid}", file=sys.stderr)
sys.exit(1)
