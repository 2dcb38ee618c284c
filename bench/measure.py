#!/usr/bin/env python3
"""measure.py: run a command a few times and report wall time, CPU time and peak memory.

Usage: measure.py RUNS INPUT OUTPUT -- COMMAND...

Runs COMMAND RUNS times with stdin from INPUT ('-' for none) and stdout to OUTPUT, and
prints one line of key=value pairs: wall_med, wall_min, wall_max, cpu_med (user+sys, s),
rss_max (peak resident set, MiB), rc (exit status of the last run)."""
import os
import subprocess
import sys
import time


TIME = '/usr/bin/time'


def main():
    runs, inp, outp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    cmd = sys.argv[sys.argv.index('--') + 1:]
    walls, cpus, rss, rc = [], [], 0, 0
    tfile = outp + '.time'
    # GNU time measures the command's own peak memory (a child forked from this Python
    # process would count Python's pages too).
    use_time = os.access(TIME, os.X_OK)
    for _ in range(runs):
        fin = open(inp, 'rb') if inp != '-' else subprocess.DEVNULL
        run = [TIME, '-o', tfile, '-f', '%U %S %M'] + cmd if use_time else cmd
        with open(outp, 'wb') as fout:
            t0 = time.perf_counter()
            proc = subprocess.Popen(run, stdin=fin, stdout=fout, stderr=subprocess.DEVNULL)
            _, status, ru = os.wait4(proc.pid, 0)
            walls.append(time.perf_counter() - t0)
        if fin is not subprocess.DEVNULL:
            fin.close()
        rc = os.waitstatus_to_exitcode(status)
        if use_time:
            with open(tfile) as f:
                fields = f.read().split()[-3:]
            cpus.append(float(fields[0]) + float(fields[1]))
            rss = max(rss, int(fields[2]) / 1024.0)
        else:
            cpus.append(ru.ru_utime + ru.ru_stime)
            rss = max(rss, ru.ru_maxrss / 1024.0)
    if use_time and os.path.exists(tfile):
        os.unlink(tfile)
    walls.sort()
    cpus.sort()
    print('wall_med=%.3f wall_min=%.3f wall_max=%.3f cpu_med=%.3f rss_max=%.1f rc=%d' %
          (walls[len(walls) // 2], walls[0], walls[-1], cpus[len(cpus) // 2], rss, rc))


if __name__ == '__main__':
    main()
