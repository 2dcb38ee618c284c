#!/usr/bin/env bash
# answers.sh: what issue 12's answers cost. (1) kiln's own CPU while recording xz -9 and
# a gcc compile (the targets mostly run code without symbols, where the unwind-table
# boundaries are looked up), for this build and another (BASE=path/to/kiln of the
# commit before). kiln attaches with -p, so its rusage excludes the target's. (2) the
# time of `kiln report` with and without the findings (--no-findings).
#   BASE=/path/to/old/kiln bench/answers.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KILN=$PWD/$BUILD/kiln
BASE=${BASE:-}
ROUNDS=${1:-3}
out=$(mktemp -d "${TMPDIR:-/tmp}/kiln-bench-answers.XXXXXX")
trap 'rm -rf "$out"' EXIT
head -c 6000000 /dev/urandom | base64 >"$out/in.txt"
cat >"$out/big.c" <<'C'
#include <stdio.h>
#include <string.h>
C
for i in $(seq 1 400); do
	echo "static int f$i(int x) { char b[64]; snprintf(b, sizeof b, \"%d\", x * $i); return (int)strlen(b) + x; }" >>"$out/big.c"
done
echo "int main(void) { int s = 0;" >>"$out/big.c"
for i in $(seq 1 400); do echo "s += f$i(s);" >>"$out/big.c"; done
echo "return s & 1; }" >>"$out/big.c"

# kiln_cpu KILN NAME CMD...: kiln's own user+sys seconds recording CMD (attached with -p)
kiln_cpu() {
	python3 - "$@" <<'PY'
import os, subprocess, sys, time
kiln, name, out = sys.argv[1], sys.argv[2], sys.argv[3]
cmd = sys.argv[4:]
t = subprocess.Popen(["sh", "-c", 'read x; exec "$@"', "sh"] + cmd, stdin=subprocess.PIPE,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
k = subprocess.Popen([kiln, "record", "-q", "-o", out + "/k.prof", "-p", str(t.pid)],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(0.3)
t.stdin.write(b"go\n"); t.stdin.close()
t.wait()
_, status, ru = os.wait4(k.pid, 0)
print("%.3f" % (ru.ru_utime + ru.ru_stime))
PY
}

for target in xz gcc; do
	case $target in
	xz) cmd=(xz -9 -k -c "$out/in.txt") ;;
	gcc) cmd=(gcc -O2 -c -o "$out/big.o" "$out/big.c") ;;
	esac
	for r in $(seq 1 "$ROUNDS"); do
		new=$(kiln_cpu "$KILN" "$target" "$out" "${cmd[@]}")
		if [ -n "$BASE" ]; then
			old=$(kiln_cpu "$BASE" "$target" "$out" "${cmd[@]}")
			echo "record_cpu_$target round $r: this $new s, base $old s"
		else
			echo "record_cpu_$target round $r: this $new s"
		fi
	done
done

# report time with and without findings, on the last xz profile (recorded again here)
"$KILN" record -q -o "$out/r.prof" -- xz -9 -k -c "$out/in.txt" >/dev/null 2>&1
# 50 runs each, interleaved: the mean wall time per report
for r in $(seq 1 "$ROUNDS"); do
	ta=0 tb=0
	for i in $(seq 1 50); do
		t0=$(date +%s%N); "$KILN" report -i "$out/r.prof" >/dev/null; t1=$(date +%s%N)
		"$KILN" report -i "$out/r.prof" --no-findings >/dev/null; t2=$(date +%s%N)
		ta=$((ta + t1 - t0)) tb=$((tb + t2 - t1))
	done
	echo "report round $r: with findings $((ta / 50000)) us, without $((tb / 50000)) us (mean of 50)"
done
