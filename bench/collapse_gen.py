#!/usr/bin/env python3
"""collapse_gen.py: make a large `perf script` text for bench/collapse.sh.

Usage: collapse_gen.py OUT SIZE_MB INPUT...

Concatenates the inputs into one unit (one event, so every sample counts: the last
"NAME:" of each sample header becomes "cpu-clock:"), then writes copies of the unit with
different pids and tids (pid + 100000 * copy) until OUT holds SIZE_MB megabytes."""
import re
import sys

HEADER = re.compile(rb'^(\S.*?\s+)(\d+)(?:(/+)(\d+))?(\s.*)$')
EVENT = re.compile(rb'(\s)\S+:(\s*)$')


def unit(paths):
    parts = []  # bytes, or (prefix, pid, slash, tid, rest) for headers
    for path in paths:
        with open(path, 'rb') as f:
            for line in f:
                line = line.rstrip(b'\n')
                if line[:1] in (b'', b'#', b' ', b'\t'):
                    parts.append(line + b'\n')
                    continue
                m = HEADER.match(line)
                if not m:
                    parts.append(line + b'\n')
                    continue
                rest = EVENT.sub(rb'\1cpu-clock:\2', m.group(5))
                parts.append((m.group(1), int(m.group(2)), m.group(3), m.group(4), rest + b'\n'))
        parts.append(b'\n')
    return parts


def main():
    out, size_mb, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    parts = unit(paths)
    want = size_mb * 1000 * 1000
    written = 0
    copy = 0
    with open(out, 'wb') as f:
        while written < want:
            add = 100000 * copy
            chunk = []
            for p in parts:
                if isinstance(p, bytes):
                    chunk.append(p)
                else:
                    prefix, pid, slash, tid, rest = p
                    if slash:
                        chunk.append(b'%s%d%s%d%s' % (prefix, pid + add, slash, int(tid) + add, rest))
                    else:
                        chunk.append(b'%s%d%s' % (prefix, pid + add, rest))
            data = b''.join(chunk)
            f.write(data)
            written += len(data)
            copy += 1


if __name__ == '__main__':
    main()
