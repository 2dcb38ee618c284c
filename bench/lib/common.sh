# bench/lib/common.sh: what the benchmark scripts share (sourced, not run; bench/run.sh
# runs bench/*.sh only). After `. bench/lib/common.sh NAME` from the top of the tree:
#   BUILD (build unless set), K (the kiln binary), RUNS (5 unless set), out (a scratch
#   directory removed at exit), KILN_NO_PROGRESS exported.
#   stats FILE [FMT]   "median [min..max]" of the numbers in FILE (one a line), FMT a
#                      printf format for each (%.4g unless given)
#   median FILE        the median of the numbers in FILE (0 when none)
#   now_ms             the time in milliseconds
#   cpu FILE           user + system seconds from a /usr/bin/time -f "%U %S" output file
#   load               the machine's load averages, for the report's first lines
bench_name=${1:-bench}
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
K="$PWD/$BUILD/kiln"
out=$(mktemp -d "${TMPDIR:-/tmp}/kiln-bench-$bench_name.XXXXXX")
trap 'rm -rf "$out"' EXIT
export KILN_NO_PROGRESS=1

stats() {
	sort -g "$1" | awk -v f="${2:-%.4g}" '{ v[NR] = $1 } END {
		if (!NR) { print "n/a"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf f " [" f ".." f "]", m, v[1], v[NR] }'
}
median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { if (!NR) { print 0; exit }
		print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
now_ms() { date +%s%N | awk '{ printf "%.3f", $1 / 1e6 }'; }
cpu() { awk 'NF >= 2 { s = $1 + $2 } END { print s + 0 }' "$1"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
