# lib_python.sh: helpers for the Python tests (t15xx). Source after lib.sh.
PYW="$TOP/tests/workloads"
# pyshare FOLDED FN [FN...]: FN's share (0-100) of the samples in which any FN shows,
# each FN matched as a Python frame "FN (file:line)".
pyshare() {
	local f=$1
	shift
	awk -v want="$1" -v fns="$*" 'BEGIN { n = split(fns, a, " ") }
		{ v = $NF; s = $0; sub(/ [0-9.]+$/, "", s); hit = 0
		  for (i = 1; i <= n; i++) if (index(s, ";" a[i] " (")) hit = 1
		  if (!hit) next; all += v; if (index(s, ";" want " (")) got += v }
		END { printf "%.1f\n", all ? 100 * got / all : 0 }' "$f"
}
# callee_share FOLDED FN REGEX: share (0-100) of FN's samples whose frames after FN's
# frame match REGEX (native code called from it).
callee_share() {
	awk -v fn="$2" -v re="$3" '{ v = $NF; s = $0; sub(/ [0-9.]+$/, "", s)
		i = index(s, ";" fn " ("); if (!i) next
		rest = substr(s, i + 1); j = index(rest, ";"); rest = j ? substr(rest, j + 1) : ""
		all += v; if (rest ~ re) got += v }
		END { printf "%.1f\n", all ? 100 * got / all : 0 }' "$1"
}
pyjson() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
within() {
	awk -v v="$1" -v w="$2" -v t="$3" 'BEGIN { d = v - w; if (d < 0) d = -d; exit !(d <= t) }' ||
		{ echo "$1 is not within $2 +- $3" >&2; return 1; }
}
# meta PROFILE KEY: a meta value of a profile.
meta() {
	"$KILN" report -i "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["meta"].get(sys.argv[1], ""))' "$2"
}
# shares_ok FOLDED OWN.json TOL: each of alpha/beta/gamma within TOL points of the program's own figure.
shares_ok() {
	local fn k w
	for fn in alpha beta gamma; do
		k=$(pyshare "$1" $fn alpha beta gamma)
		w=$(pyjson "$2" "round(j['$fn'], 1)")
		echo "$fn: kiln $k, program $w"
		within "$k" "$w" "$3" || return 1
	done
}
export PYW
export -f pyshare callee_share pyjson within meta shares_ok
