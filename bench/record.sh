#!/usr/bin/env bash
# record.sh: kiln record + kiln report against perf record + perf report, in one run:
#   1. fixed cost: `kiln record -- true` vs `perf record -- true` (wall time)
#   2. overhead at the default rate (999 Hz, call chains): the target's CPU time with
#      and without each recorder, and each recorder's own CPU time, repeated, interleaved
#   3. file size per sample over 100,000+ samples of a real program (gcc compiling
#      kiln's sources), symbols included
#   4. report time and memory on about 1,000,000 samples of the same program (20000 Hz)
# Prints medians with [min..max] over the repetitions and the ratios.
#   bench/record.sh            (RUNS=5 by default; BUILD=build; run `make` first)
set -u
cd "$(dirname "$0")/.."
. bench/lib/common.sh record
W="$PWD/$BUILD/workloads"
[ -x "$K" ] && [ -x "$W/threads" ] || { echo "record.sh: run make first" >&2; exit 1; }
command -v perf >/dev/null 2>&1 || { echo "record.sh: perf is not installed; nothing to compare with" >&2; exit 1; }

echo "machine: $(nproc) CPUs, $(uname -r), perf $(perf --version | awk '{ print $3 }'), load $(load)"
# the event both tools sample: cycles where the machine has a PMU, else cpu-clock
EV=cpu-clock
perf stat -x, -e cycles true 2>&1 | grep -q "not supported" || EV=cycles
echo "event: $EV"

# ---- 1. fixed cost ----
echo
echo "== 1. fixed cost: record -- true (wall ms, $RUNS runs each)"
: >"$out/k_true"
: >"$out/p_true"
for i in $(seq "$RUNS"); do
	t0=$(now_ms); "$K" record -q -e "$EV" -o "$out/t.prof" -- true 2>/dev/null; t1=$(now_ms)
	echo "$t1 $t0" | awk '{ print $1 - $2 }' >>"$out/k_true"
	t0=$(now_ms); perf record -q -e "$EV" -g -o "$out/t.data" -- true >/dev/null 2>&1; t1=$(now_ms)
	echo "$t1 $t0" | awk '{ print $1 - $2 }' >>"$out/p_true"
done
echo "kiln record -- true   $(stats "$out/k_true") ms"
echo "perf record -- true   $(stats "$out/p_true") ms"
awk -v k="$(median "$out/k_true")" -v p="$(median "$out/p_true")" \
	'BEGIN { printf "ratio perf/kiln       %.1fx\n", p / k }'

# ---- 2. overhead ----
WL="$W/threads 8000"
echo
echo "== 2. overhead at 999 Hz with call chains: '$(basename "$W")/threads 8000' (3 threads, about 10 s of CPU), $RUNS runs each, interleaved"
for f in plain kiln perf kself pself kmem pmem; do : >"$out/$f"; done
for i in $(seq "$RUNS"); do
	/usr/bin/time -f "%U %S" -o "$out/in" $WL >/dev/null
	cpu "$out/in" >>"$out/plain"
	/usr/bin/time -f "%U %S %M" -o "$out/outer" "$K" record -q -e "$EV" -o "$out/k.prof" -- \
		/usr/bin/time -f "%U %S" -o "$out/in" $WL >/dev/null 2>&1
	cpu "$out/in" >>"$out/kiln"
	awk '{ print $3 / 1024 }' "$out/outer" >>"$out/kmem"
	echo "$(cpu "$out/outer") $(cpu "$out/in")" | awk '{ print $1 - $2 }' >>"$out/kself"
	/usr/bin/time -f "%U %S %M" -o "$out/outer" perf record -q -e "$EV" -F 999 -g -o "$out/p.data" -- \
		/usr/bin/time -f "%U %S" -o "$out/in" $WL >/dev/null 2>&1
	cpu "$out/in" >>"$out/perf"
	awk '{ print $3 / 1024 }' "$out/outer" >>"$out/pmem"
	echo "$(cpu "$out/outer") $(cpu "$out/in")" | awk '{ print $1 - $2 }' >>"$out/pself"
done
pm=$(median "$out/plain")
echo "target CPU, no recorder     $(stats "$out/plain") s   (noise: spread of these runs)"
echo "target CPU, kiln record     $(stats "$out/kiln") s"
echo "target CPU, perf record     $(stats "$out/perf") s"
awk -v p="$pm" -v k="$(median "$out/kiln")" -v q="$(median "$out/perf")" 'BEGIN {
	printf "target overhead: kiln %+.2f%%, perf %+.2f%% (medians)\n", (k - p) * 100 / p, (q - p) * 100 / p }'
echo "recorder's own CPU: kiln $(stats "$out/kself") s, perf $(stats "$out/pself") s"
echo "recorder's peak memory (the target is ~2 MiB): kiln $(stats "$out/kmem") MiB, perf $(stats "$out/pmem") MiB"
awk -v s="$(median "$out/kself")" -v q="$(median "$out/pself")" -v t="$(median "$out/kiln")" -v u="$(median "$out/perf")" 'BEGIN {
	printf "recorder CPU / target CPU: kiln %.2f%%, perf %.2f%%; ratio perf/kiln %.1fx\n", s * 100 / t, q * 100 / u, q / s }'

# ---- 3 and 4: a real program, many stacks ----
# gcc compiling kiln's library sources, two at a time (cc1 is built without frame
# pointers, like most of a distribution: short, varied stacks)
cat >"$out/compile.sh" <<EOF
#!/bin/sh
cd "$PWD"
n=\${1:-1}
i=0
while [ \$i -lt \$n ]; do
	ls src/lib/*/*.c | xargs -P 2 -I{} cc -O2 -g -Isrc -Isrc/lib -D_GNU_SOURCE -DKILN_VERSION='"0"' \
		$(pkg-config --cflags libdw 2>/dev/null) -c -o /dev/null {}
	i=\$((i + 1))
done
EOF
chmod +x "$out/compile.sh"

# samples in a perf.data, from perf record's closing line
perf_samples() { sed -n 's/.*(\([0-9]*\) samples).*/\1/p' "$1" | tail -1; }
kiln_samples() { sed -n 's/^kiln record: \([0-9]*\) samples.*/\1/p' "$1" | tail -1; }

echo
echo "== 3. file size: gcc compiling kiln's sources (2 passes) at 9999 Hz"
"$K" record -e "$EV" -F 9999 -o "$out/c.prof" -- "$out/compile.sh" 2 >/dev/null 2>"$out/k.err"
perf record -e "$EV" -F 9999 -g -o "$out/c.data" -- "$out/compile.sh" 2 >/dev/null 2>"$out/p.err"
ks=$(kiln_samples "$out/k.err"); ps=$(perf_samples "$out/p.err")
kb=$(stat -c %s "$out/c.prof"); pb=$(stat -c %s "$out/c.data")
awk -v ks="$ks" -v kb="$kb" -v ps="$ps" -v pb="$pb" 'BEGIN {
	printf "kiln.prof  %d samples, %d bytes, %.1f bytes/sample (symbols included)\n", ks, kb, kb / ks
	printf "perf.data  %d samples, %d bytes, %.1f bytes/sample (no symbols; perf report needs the binaries)\n", ps, pb, pb / ps
	printf "ratio perf/kiln bytes per sample: %.1fx\n", (pb / ps) / (kb / ks) }'
# the same at the default rate on the small threads run of part 2
ks2=$("$K" report -i "$out/k.prof" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["samples"])' 2>/dev/null)
[ -n "$ks2" ] && [ "$ks2" -gt 0 ] && awk -v n="$ks2" -v b="$(stat -c %s "$out/k.prof")" -v pb="$(stat -c %s "$out/p.data")" \
	'BEGIN { printf "threads at 999 Hz: kiln %.1f bytes/sample (%d samples), perf.data %.1f bytes/sample\n", b / n, n, pb / n }'

echo
echo "== 4. report on ~1,000,000 samples: gcc compiling kiln's sources (2 passes) at 20000 Hz"
"$K" record -v -e "$EV" -F 20000 -o "$out/m.prof" -- "$out/compile.sh" 2 >/dev/null 2>"$out/k.err"
perf record -e "$EV" -F 20000 -g -o "$out/m.data" -- "$out/compile.sh" 2 >/dev/null 2>"$out/p.err"
ks=$(kiln_samples "$out/k.err"); ps=$(perf_samples "$out/p.err")
echo "recorded: kiln $ks samples ($(grep -o '[0-9]* lost' "$out/k.err" | tail -1)), $(stat -c %s "$out/m.prof") bytes; perf $ps samples, $(stat -c %s "$out/m.data") bytes"
sed -n 's/^kiln record: kiln used/kiln record at 20000 Hz: kiln used/p' "$out/k.err"
: >"$out/krep"
for i in 1 2 3; do
	/usr/bin/time -f "%e %M" -o "$out/t" "$K" report -i "$out/m.prof" >/dev/null 2>&1
	awk '{ print $1 }' "$out/t" >>"$out/krep"
done
kmem=$(awk '{ print $2 }' "$out/t")
/usr/bin/time -f "%e %M" -o "$out/t" "$K" report -i "$out/m.prof" --tree >/dev/null 2>&1
ktree=$(awk '{ print $1 }' "$out/t")
/usr/bin/time -f "%e %M" -o "$out/t" perf report -i "$out/m.data" --stdio >/dev/null 2>&1
prep=$(awk '{ print $1 }' "$out/t"); pmem=$(awk '{ print $2 }' "$out/t")
/usr/bin/time -f "%e %M" -o "$out/t" perf report -i "$out/m.data" --stdio --no-children >/dev/null 2>&1
prep2=$(awk '{ print $1 }' "$out/t")
echo "kiln report (table)        $(stats "$out/krep") s, peak $kmem KiB"
echo "kiln report --tree         $ktree s"
echo "perf report --stdio        $prep s, peak $pmem KiB (children view, like kiln's table)"
echo "perf report --no-children  $prep2 s"
awk -v k="$(median "$out/krep")" -v p="$prep" -v ks="$ks" -v kb="$(stat -c %s "$out/m.prof")" -v ps="$ps" -v pb="$(stat -c %s "$out/m.data")" 'BEGIN {
	printf "ratio perf report / kiln report: %.0fx\n", p / k
	printf "bytes/sample at 20000 Hz: kiln %.1f, perf %.1f (ratio %.1fx)\n", kb / ks, pb / ps, (pb / ps) / (kb / ks) }'
