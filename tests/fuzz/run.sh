#!/usr/bin/env bash
# run.sh: runs every libFuzzer harness built by `make fuzz` for SECONDS each on its seed
# corpus (tests/fuzz/corpus/NAME) plus what earlier runs found (build-fuzz/corpus/NAME).
# Fails if any harness finds a crash, a leak, undefined behaviour or a timeout; the input
# is left in build-fuzz/artifacts/ (see docs/internals-fuzzing.md).
#   tests/fuzz/run.sh [SECONDS] [NAME...]
set -u
cd "$(dirname "$0")/../.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
seconds=${1:-10}
shift || true
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for h in "$FUZZ_BUILD"/fuzz_*; do
		[ -x "$h" ] && names+=("$(basename "$h" | sed 's/^fuzz_//')")
	done
fi
if [ ${#names[@]} -eq 0 ]; then
	echo "fuzz: no harnesses in $FUZZ_BUILD; run 'make fuzz' first" >&2
	exit 1
fi
mkdir -p "$FUZZ_BUILD/artifacts"
failed=()
for name in "${names[@]}"; do
	bin="$FUZZ_BUILD/fuzz_$name"
	seeds="tests/fuzz/corpus/$name"
	work="$FUZZ_BUILD/corpus/$name"
	log="$FUZZ_BUILD/fuzz_$name.log"
	mkdir -p "$work" "$seeds"
	dict=()
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	# FUZZ_SEED: the same sequence of inputs every run (CI), so that a run does not fail on
	# a finding only its own random draw reached; without it each run explores anew
	[ -n "${FUZZ_SEED:-}" ] && dict+=(-seed="$FUZZ_SEED")
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
	"$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$FUZZ_BUILD/artifacts/$name-" "${dict[@]}" \
		"$work" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	if [ $rc -ne 0 ]; then
		failed+=("$name")
		echo "fuzz_$name: FAILED (exit $rc) after ${runs:-?} runs; the report:"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written|^    #[0-9]+ ' "$log" | head -n 40 | sed 's/^/  /'
	else
		echo "fuzz_$name: ok, ${runs:-?} runs in ${seconds}s"
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]}"
	exit 1
fi
