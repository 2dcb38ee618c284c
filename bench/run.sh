#!/usr/bin/env bash
# run.sh: `make bench`: run every benchmark under bench/ (or those named) and keep a log.
# Each bench/NAME.sh compares kiln against the tool a user would pick instead, in one run,
# and prints ratios. Benchmarks are not tests: run them on a quiet machine.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
mkdir -p bench/results
status=0
for b in bench/*.sh; do
	name=$(basename "$b" .sh)
	[ "$name" = run ] && continue
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	echo "=== bench/$name"
	bash "$b" 2>&1 | tee "bench/results/$name.txt"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
exit $status
