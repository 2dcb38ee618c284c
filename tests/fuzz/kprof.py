#!/usr/bin/env python3
"""kprof.py: makes kiln.prof seeds for the fuzzers and crafted files for the tests
(docs/profile-format.md has the format).

  kprof.py plain IN OUT        IN with every chunk stored uncompressed (zstd -d), so that
                               mutations of a seed reach the chunk decoder
  kprof.py nosamples IN OUT    IN (uncompressed) with every samples chunk emptied
  kprof.py crafted NAME OUT    a crafted profile (see crafted(); "heap-NAME" makes it a
                               heap profile)
"""
import struct
import subprocess
import sys
import zlib

MAGIC = b"KILNPROF"
CHUNK_MAGIC = 0x4B48434B
ZSTD = 2
CH_META, CH_STRINGS, CH_VALUE_TYPES, CH_FRAMES, CH_STACKS, CH_THREADS, CH_SAMPLES, CH_END = 1, 2, 3, 4, 5, 6, 7, 8


def uv(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def zz(v):
    return (v << 1) ^ (v >> 63) if v >= 0 else ((v << 1) ^ -1) & (2**64 - 1)


def chunk(ctype, payload, flags=0):
    return struct.pack("<IHHIII", CHUNK_MAGIC, ctype, flags, len(payload), len(payload),
                       zlib.crc32(payload) & 0xFFFFFFFF) + payload


def header():
    return MAGIC + bytes([1, 0, 0, 0]) + b"\0\0\0\0"


def strings(first, names):
    p = uv(first) + uv(len(names))
    for s in names:
        p += uv(len(s)) + s.encode()
    return chunk(CH_STRINGS, p)


def base_profile(heap=False):
    """strings 1 main, 2 samples, 3 count, 4 prog (5 kind, 6 heap); one value type, one
    frame, one stack, one thread; with heap, the meta kind=heap of a heap profile."""
    out = header() + strings(1, ["main", "samples", "count", "prog"] + (["kind", "heap"] if heap else []))
    if heap:
        out += chunk(CH_META, uv(1) + uv(5) + uv(6))
    out += chunk(CH_VALUE_TYPES, uv(1) + uv(2) + uv(3) + uv(0))
    out += chunk(CH_FRAMES, uv(1) + uv(1) + uv(1) + uv(0) + uv(0) + uv(0) + uv(0) + uv(0))
    out += chunk(CH_STACKS, uv(1) + uv(1) + uv(1) + uv(1))
    out += chunk(CH_THREADS, uv(1) + uv(1) + uv(zz(7)) + uv(zz(7)) + uv(4))
    return out


def samples(times, threads, stack_deltas, values):
    p = uv(len(times)) + uv(1)
    p += b"".join(uv(zz(t)) for t in times)
    p += b"".join(uv(t) for t in threads)
    p += b"".join(uv(d) for d in stack_deltas)
    p += b"".join(uv(zz(v) << 1) for v in values)
    return chunk(CH_SAMPLES, p)


def crafted(name):
    heap = name.startswith("heap-")
    if heap:
        name = name[5:]
    if name == "good":
        return base_profile(heap) + samples([1, 1], [1, 1], [zz(1), zz(0)], [3, 4]) + chunk(CH_END, b"")
    if name == "stack-delta-overflow":
        # stack deltas INT64_MAX twice: the sum overflowed a signed 64-bit integer
        big = zz(2**63 - 1)
        return base_profile(heap) + samples([1, 1, 1], [1, 1, 1], [big, big, big], [1, 1, 1]) + chunk(CH_END, b"")
    if name == "no-intact-samples":
        # a good start, then a damaged chunk: no sample survives
        bad = bytearray(samples([1], [1], [zz(1)], [1]))
        bad[-1] ^= 0xFF
        return base_profile(heap) + bytes(bad)
    if name == "empty-samples-chunk":
        # a samples chunk holding zero samples, then the end
        return base_profile(heap) + samples([], [], [], []) + chunk(CH_END, b"")
    if name == "empty-first-chunk":
        # an empty chunk before any other: its payload was NULL + 0
        return header() + chunk(CH_END, b"")
    if name == "no-functions":
        # value types, one thread, samples on the empty stack: no frame, no function
        # values "samples" and "bytes": a report of bytes builds a second function table
        out = header() + strings(1, ["samples", "count", "prog", "bytes"])
        out += chunk(CH_VALUE_TYPES, uv(2) + uv(1) + uv(2) + uv(4) + uv(2) + uv(0))
        out += chunk(CH_THREADS, uv(1) + uv(1) + uv(zz(7)) + uv(zz(7)) + uv(3))
        p = uv(1) + uv(2) + uv(zz(1)) + uv(1) + uv(zz(0)) + uv(zz(2) << 1) + uv(zz(5) << 1)
        return out + chunk(CH_SAMPLES, p) + chunk(CH_END, b"")
    sys.exit("kprof.py: unknown crafted profile '%s'" % name)


def nosamples(data):
    """Every samples chunk of plain(data) replaced by one of zero samples."""
    data = plain(data)
    out = bytearray(data[:16])
    pos = 16
    while pos + 20 <= len(data):
        magic, ctype, flags, slen, rlen, crc = struct.unpack_from("<IHHIII", data, pos)
        payload = data[pos + 20:pos + 20 + slen]
        if ctype == CH_SAMPLES:
            k = 0
            while payload[k] & 0x80:  # skip the sample count
                k += 1
            k += 1
            nv = payload[k]  # the value count (< 128)
            payload = uv(0) + uv(nv)
        out += chunk(ctype, payload, flags)
        pos += 20 + slen
    return bytes(out)


def plain(data):
    out = bytearray(data[:16])
    pos = 16
    while pos + 20 <= len(data):
        magic, ctype, flags, slen, rlen, crc = struct.unpack_from("<IHHIII", data, pos)
        payload = data[pos + 20:pos + 20 + slen]
        if magic != CHUNK_MAGIC or len(payload) < slen:
            break
        if flags & ZSTD:
            payload = subprocess.run(["zstd", "-d", "-q", "-c"], input=payload, check=True,
                                     stdout=subprocess.PIPE).stdout
            flags &= ~ZSTD
        out += chunk(ctype, payload, flags)
        pos += 20 + slen
    return bytes(out)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("plain", "nosamples", "crafted"):
        sys.exit(__doc__)
    if sys.argv[1] in ("plain", "nosamples"):
        with open(sys.argv[2], "rb") as f:
            data = f.read()
        data = plain(data) if sys.argv[1] == "plain" else nosamples(data)
    else:
        data = crafted(sys.argv[2])
    with open(sys.argv[3], "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
