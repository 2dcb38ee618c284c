# lib_agent.sh: helpers for the agent's tests (t20xx). Source after lib.sh and lib_python.sh.
# share FOLDED FN...: the first FN's share (0-100) of the samples whose stacks hold any FN
share() {
	local f=$1
	shift
	awk -v want="$1" -v fns="$*" 'BEGIN { n = split(fns, a, " ") }
		{ v = $NF; s = ";" $0 ";"; sub(/ [0-9.]+;$/, ";", s); hit = 0
		  for (i = 1; i <= n; i++) if (index(s, ";" a[i] ";")) hit = 1
		  if (!hit) next; all += v; if (index(s, ";" want ";")) got += v }
		END { printf "%.1f\n", all ? 100 * got / all : 0 }' "$f"
}
export -f share
