# lib.sh: the end-to-end test harness. Source it from tests/e2e/tNNNN-*.sh.
#
#   . "$(dirname "$0")/lib.sh"
#   expect "kiln --version prints the version" '
#       "$KILN" --version >out && grep -q "^kiln " out
#   '
#   skip "needs hardware counters" "no PMU on this machine"
#   finish
#
# Each expect body runs in a subshell with `set -e` semantics off (use && and explicit
# checks), inside a fresh scratch directory ($T). A body that exits non-zero fails; its
# output is shown. Never pipe kiln's output in a way that hides its exit status: write
# to a file, then check the file.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
KILN="$BUILD/kiln"
WORKLOADS="$BUILD/workloads"
DATA="$TOP/tests/data"
TEST_NAME=$(basename "$0" .sh)
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/kiln-$TEST_NAME.XXXXXX")
export KILN WORKLOADS DATA TOP BUILD KILN_NO_PROGRESS=1
# perf's build-id cache per test, not the user's ~/.debug: Debian 12's perf 6.1 aborts at
# exit once that cache holds certain files (an assertion in util/build-id.c)
export PERF_BUILDID_DIR="$SCRATCH/perf-buildid"
_pass=0 _fail=0 _skip=0 _n=0
trap 'rm -rf "$SCRATCH"' EXIT

expect() {
	local desc=$1 body=$2 out rc
	_n=$((_n + 1))
	T="$SCRATCH/$_n"
	mkdir -p "$T"
	out=$(cd "$T" && export T && bash -c "$body" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		_pass=$((_pass + 1))
		echo "ok $_n - $desc"
	else
		_fail=$((_fail + 1))
		echo "not ok $_n - $desc (exit $rc)"
		printf '%s\n' "$out" | tail -n 30 | sed 's/^/#   /'
	fi
}

# skip DESC REASON: a test this machine cannot run, reported apart from failures.
skip() {
	_n=$((_n + 1))
	_skip=$((_skip + 1))
	echo "ok $_n - $1 # SKIP $2"
}

finish() {
	echo "# $TEST_NAME: $_pass passed, $_fail failed, $_skip skipped"
	if [ -n "${KILN_RESULTS:-}" ]; then
		echo "$_pass $_fail $_skip" >>"$KILN_RESULTS"
	fi
	[ $_fail -eq 0 ]
}

# Helpers usable inside bodies (exported as functions).
# check_exit WANT CMD...: runs CMD, fails unless its exit status is WANT.
check_exit() {
	local want=$1 rc
	shift
	"$@"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "expected exit $want, got $rc: $*" >&2
		return 1
	fi
}
# one_line_error FILE: stderr FILE has exactly one line starting "kiln" and naming "error".
one_line_error() {
	local n
	n=$(wc -l <"$1")
	if [ "$n" -lt 1 ] || ! grep -q "error" "$1"; then
		echo "expected an error message in $1, got:" >&2
		cat "$1" >&2
		return 1
	fi
}
# perf_record ARGS...: `perf record ARGS`, then, if perf fails, `perf record -B ARGS` (no
# build ids) up to twice: Debian 12's perf 6.1 aborts at exit once its build-id cache
# (~/.debug) holds certain files (an assertion in util/build-id.c), and a crash of perf is
# not a finding about kiln. Output goes to /dev/null; the last status is returned.
perf_record() {
	local try rc
	perf record "$@" >/dev/null 2>&1 && return 0
	rc=$?
	echo "perf record failed (exit $rc): again without build ids (-B)"
	for try in 1 2; do
		perf record -B "$@" >/dev/null 2>&1 && return 0
		rc=$?
		echo "perf record -B failed (try $try, exit $rc)"
	done
	return "$rc"
}
export -f check_exit one_line_error perf_record
