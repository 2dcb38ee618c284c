#!/usr/bin/env bash
# t1704-formats-badinput: damaged pprof (truncated, bad varints, wrong wire types, ids that
# point nowhere, a zip bomb), JSON that is not the format it claims, and profiles a format
# cannot hold: one clear line, a non-zero exit, and never a half-written output file.
. "$(dirname "$0")/lib.sh"

# pb: protobuf bytes from a tiny description (python3): fields as (number, wire, value)
cat >"$SCRATCH/pb.py" <<'PY'
import gzip, sys
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)
def key(num, wire): return varint(num << 3 | wire)
def ld(num, payload): return key(num, 2) + varint(len(payload)) + payload
def vi(num, v): return key(num, 0) + varint(v)
def packed(num, vals): return ld(num, b"".join(varint(v) for v in vals))
strings = b"".join(ld(6, s) for s in [b"", b"samples", b"count", b"main", b"work", b"thread", b"pid", b"span", b"web-1", b"GET /", b"/usr/bin/app", b"abc123"])
vtype = ld(1, vi(1, 1) + vi(2, 2))
funcs = ld(5, vi(1, 1) + vi(2, 3)) + ld(5, vi(1, 2) + vi(2, 4))
locs = ld(4, vi(1, 1) + ld(4, vi(1, 1))) + ld(4, vi(1, 2) + ld(4, vi(1, 2)))
sample = lambda ids, v: ld(2, packed(1, ids) + packed(2, [v]))
good = vtype + sample([2, 1], 5) + locs + funcs + strings
cases = {
    "good": good,
    "badvarint": vtype + vi(9, 1) + key(10, 0) + b"\xff" * 11,
    "wiretype": vtype + vi(9, 1) + key(2, 0) + varint(3) + locs + funcs + strings,
    "noloc": vtype + sample([7, 1], 5) + locs + funcs + strings,
    "nofunc": vtype + sample([1], 5) + ld(4, vi(1, 1) + ld(4, vi(1, 9))) + funcs + strings,
    "nostring": vtype + sample([1], 5) + locs + ld(5, vi(1, 1) + vi(2, 77)) + ld(5, vi(1, 2) + vi(2, 4)) + strings,
    "values": vtype + ld(2, packed(1, [1]) + packed(2, [1, 2])) + locs + funcs + strings,
    "dupid": vtype + sample([1], 5) + locs + ld(4, vi(1, 1)) + funcs + strings,
    # what continuous profilers send: labels (thread, pid, and a span of their own),
    # a mapping with a build id, an unsymbolized location
    "labels": vtype
        + ld(2, packed(1, [3, 2, 1]) + packed(2, [4]) + ld(3, vi(1, 5) + vi(2, 8)) + ld(3, vi(1, 6) + vi(3, 42)) + ld(3, vi(1, 7) + vi(2, 9)))
        + ld(3, vi(1, 1) + vi(2, 0x1000) + vi(3, 0x9000) + vi(5, 10) + vi(6, 11))
        + locs + ld(4, vi(1, 3) + vi(2, 1) + vi(3, 0x1234)) + funcs + strings,
}
name = sys.argv[1]
data = cases[name] if name in cases else good
if name == "truncated":
    data = good[:len(good) - 7]
sys.stdout.buffer.write(data)
PY
export PB="python3 $SCRATCH/pb.py"

expect "a well-formed hand-made pprof loads (the crafting is right)" '
	$PB good >g.pb && "$KILN" report --folded g.pb >out && grep -q "main;work 5$" out
'
expect "labels, mappings and unsymbolized locations (as Pyroscope and Parca send): thread kept, other labels named once" '
	$PB labels >l.pb && "$KILN" report --folded --pid 42 l.pb >out 2>err && cat out err &&
	grep -q "^web-1;main;work;\[app\] 4$" out && [ "$(wc -l <err)" -eq 1 ] && grep -q "span" err &&
	"$KILN" report --pid 42 l.pb >r.txt 2>/dev/null && grep -q "\[app\]" r.txt
'
for c in truncated badvarint wiretype noloc nofunc nostring values dupid; do
	expect "pprof $c: one line saying what is wrong, exit 1, no output" "
		\$PB $c >bad.pb && check_exit 1 \"\$KILN\" report bad.pb >out 2>err && [ ! -s out ] &&
		[ \"\$(wc -l <err)\" -eq 1 ] && grep -q \"^kiln: error: 'bad.pb'\" err && cat err &&
		check_exit 1 \"\$KILN\" export -f speedscope -o x.json bad.pb 2>/dev/null && [ ! -e x.json ]
	"
done
expect "pprof error messages name the problem" '
	$PB noloc >a.pb && ! "$KILN" report a.pb 2>err; grep -q "refers to location 7, which the profile does not define" err &&
	$PB truncated >b.pb && ! "$KILN" report b.pb 2>err; grep -q "truncated" err &&
	$PB wiretype >c.pb && ! "$KILN" report c.pb 2>err; grep -q "wrong wire type" err &&
	$PB nostring >d.pb && ! "$KILN" report d.pb 2>err; grep -q "refers to string 77" err
'
expect "a gzipped pprof cut short: one line about the truncation" '
	$PB good | gzip >g.pb.gz && head -c $(( $(stat -c %s g.pb.gz) - 6 )) g.pb.gz >cut.pb.gz &&
	check_exit 1 "$KILN" report cut.pb.gz >out 2>err && [ "$(wc -l <err)" -eq 1 ] && grep -q "truncated" err
'
expect "a zip bomb (a pprof followed by 300 MB of zeros, gzipped): refused before it fills memory" '
	{ $PB good; head -c 300000000 /dev/zero; } | gzip -9 >bomb.pb.gz &&
	check_exit 1 "$KILN" report bomb.pb.gz >out 2>err && [ "$(wc -l <err)" -eq 1 ] && grep -q "zip bomb" err
'
expect "JSON that is not the format it claims: one line each" '
	printf "{\"nodes\": 5, \"samples\": []}" >a.cpuprofile &&
	check_exit 1 "$KILN" report a.cpuprofile 2>err && [ "$(wc -l <err)" -eq 1 ] && grep -q "not a valid .cpuprofile" err &&
	printf "{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"a\"},\"children\":[2]},{\"id\":2,\"callFrame\":{\"functionName\":\"b\"},\"children\":[1]}],\"samples\":[1],\"timeDeltas\":[0]}" >cyc.cpuprofile &&
	check_exit 1 "$KILN" report cyc.cpuprofile 2>err && [ "$(wc -l <err)" -eq 1 ] && grep -q "cycle\|two parents" err &&
	printf "{\"shared\":{\"frames\":[{\"name\":\"a\"}]},\"profiles\":[{\"type\":\"sampled\",\"name\":\"p\",\"unit\":\"none\",\"startValue\":0,\"endValue\":2,\"samples\":[[0],[4]],\"weights\":[1,1]}]}" >s.json &&
	check_exit 1 "$KILN" report s.json 2>err && [ "$(wc -l <err)" -eq 1 ] && grep -q "refers to frame 4" err &&
	printf "{\"shared\":{\"frames\":[]},\"profiles\":[{\"type\":\"sampled\",\"name\":\"p\",\"unit\":\"none\",\"startValue\":0,\"endValue\":2,\"samples\":[[]],\"weights\":[]}]}" >w.json &&
	check_exit 1 "$KILN" report w.json 2>err && grep -q "1 samples but 0 weights" err &&
	printf "{\"hello\": [1, 2]}" >h.json && check_exit 1 "$KILN" report h.json 2>err && grep -q "JSON but no profile format" err &&
	printf "{\"nodes\": [1, 2" >t.json && check_exit 1 "$KILN" report t.json 2>err && [ "$(wc -l <err)" -eq 1 ] && grep -q "is not valid JSON" err
'
expect "a heap profile cannot become a .cpuprofile: the line names the values it would lose; no file" '
	"$KILN" heap -q -o h.prof -- "$WORKLOADS/heap_known" >/dev/null 2>&1 &&
	check_exit 1 "$KILN" export -f chrome -o h.cpuprofile h.prof 2>err && [ ! -e h.cpuprofile ] &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "alloc_bytes" err && grep -q "peak_bytes" err &&
	check_exit 1 "$KILN" export -f firefox -o h.ff h.prof 2>err && [ ! -e h.ff ] && grep -q "alloc_bytes" err &&
	"$KILN" export -f chrome --value alloc_count -o h.cpuprofile h.prof 2>err && [ -s h.cpuprofile ] && grep -q "not written" err
'
expect "fractional counts cannot become pprof: an existing output file stays as it was" '
	printf "a;b 0.5\na;c 2\n" >f.folded && echo keep >out.pb.gz &&
	check_exit 1 "$KILN" export -f pprof -o out.pb.gz f.folded 2>err && [ "$(cat out.pb.gz)" = keep ] &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "fractional values of .samples. (e.g. 0.5)" err && { ls -A >n; [ "$(grep -c . n)" -eq 4 ] || { cat n; exit 1; }; }
'
expect "a full disk (/dev/full): one line, exit 1, and the device is written in place, not replaced" '
	[ -c /dev/full ] || exit 0
	printf "a;b 1\n" >f.folded && check_exit 1 "$KILN" export -f speedscope -o /dev/full f.folded 2>err &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "No space left on device" err && [ -c /dev/full ] &&
	"$KILN" export -f json -o /dev/null f.folded && [ -c /dev/null ]
'
expect "usage errors: no format, an unknown format, two profiles (exit 2)" '
	printf "a;b 1\n" >f.folded &&
	check_exit 2 "$KILN" export f.folded 2>err && grep -q "say which format" err &&
	check_exit 2 "$KILN" export -f svg f.folded 2>err && grep -q "not a format kiln writes" err &&
	check_exit 2 "$KILN" export -f json f.folded f.folded 2>err &&
	check_exit 1 "$KILN" export -f json missing.prof 2>err && grep -q "missing.prof" err &&
	"$KILN" export --help >h.txt && grep -q "^usage: kiln export" h.txt && grep -q "examples:" h.txt
'
finish
