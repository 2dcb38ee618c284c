#!/usr/bin/env bash
# run.sh: kiln's test suite: unit tests (cmocka), then end-to-end tests of the binary.
# Ends with one line "N passed, N failed, N skipped"; exits non-zero if anything failed.
#   tests/run.sh [PATTERN]   only e2e scripts whose name contains PATTERN (unit tests too)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
pattern=${1:-}
pass=0 fail=0 skip=0
failed_names=()
results=$(mktemp)
export KILN_RESULTS=$results

echo "== unit tests ($BUILD)"
for t in "$BUILD"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	case "$name" in *"$pattern"*) ;; *) [ -n "$pattern" ] && continue ;; esac
	out=$(CMOCKA_MESSAGE_OUTPUT=stdout "$t" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | grep -o '\[  PASSED  \] [0-9]* test' | tail -1 | grep -o '[0-9][0-9]*')
	f=$(printf '%s\n' "$out" | grep -o '\[  FAILED  \] [0-9]* test' | tail -1 | grep -o '[0-9][0-9]*')
	s=$(printf '%s\n' "$out" | grep -o '\[  SKIPPED \] [0-9]* test' | tail -1 | grep -o '[0-9][0-9]*')
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$f" -ne 0 ]; then
		failed_names+=("$name")
		printf '%s\n' "$out" | tail -n 40
	fi
	echo "$name: $p passed, $f failed, $s skipped"
done

echo "== end-to-end tests"
for t in tests/e2e/t[0-9]*.sh; do
	[ -e "$t" ] || continue
	case "$t" in *"$pattern"*) ;; *) [ -n "$pattern" ] && continue ;; esac
	before=$(wc -l <"$results")
	bash "$t"
	rc=$?
	after=$(wc -l <"$results")
	if [ "$after" -eq "$before" ]; then
		echo "# $t ended without its summary (exit $rc)"
		fail=$((fail + 1))
		failed_names+=("$(basename "$t")")
	elif [ $rc -ne 0 ]; then
		failed_names+=("$(basename "$t")")
	fi
done
while read -r p f s; do
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done <"$results"
rm -f "$results"
if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
