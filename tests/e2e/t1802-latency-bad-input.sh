#!/usr/bin/env bash
# t1802-latency-bad-input: a function that does not exist (close names suggested), a
# stripped binary, not root, a target that exits at once or never calls the function,
# a missing program or process, usage errors: one clear line, non-zero exit, the
# target's own exit status where it ran.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "kiln latency bad input" "uprobes need root"
	finish
	exit $?
fi

expect "a function that does not exist: one line suggesting the close name, exit 1, the target never runs" '
	check_exit 1 "$KILN" latency slow_opp -- "$WORKLOADS/lat_modes" 1 2>err &&
	[ "$(wc -l <err)" -eq 1 ] && grep -q "no function .slow_opp." err && grep -q "did you mean .slow_op." err
'
expect "a stripped binary without the symbol: says it is stripped" '
	cp "$WORKLOADS/lat_modes" s && strip s &&
	check_exit 1 "$KILN" latency slow_op -- ./s 1 2>err && [ "$(wc -l <err)" -eq 1 ] && grep -q "stripped" err
'
expect "not root: one line saying uprobes need root, exit 1" '
	command -v setpriv >/dev/null || exit 0
	d=$(mktemp -d /tmp/kiln-t1802.XXXXXX) && chmod 755 "$d" && cp "$WORKLOADS/lat_modes" "$KILN" "$d/" || exit 1
	check_exit 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$d/kiln" latency slow_op -- "$d/lat_modes" 1 2>err
	rc=$?; rm -rf "$d"
	[ $rc = 0 ] && [ "$(wc -l <err)" -eq 1 ] && grep -q "root" err || { cat err; exit 1; }
'
expect "a target that exits at once without calling it: one line, its non-zero status passed on" '
	check_exit 1 "$KILN" latency slow_op -- "$WORKLOADS/lat_modes" 0 >out 2>err &&
	grep -q "no call of .slow_op. was seen" err && [ "$(grep -c "^kiln" err)" -eq 1 ] &&
	check_exit 3 "$KILN" latency work -- "$WORKLOADS/lat_edge" exit >out 2>err
'
expect "a missing program: 127; a missing process: 1; each one line" '
	check_exit 127 "$KILN" latency f -- no-such-program-kiln 2>err && [ "$(wc -l <err)" -eq 1 ] &&
	check_exit 1 "$KILN" latency f -p 999999999 2>err2 && [ "$(wc -l <err2)" -eq 1 ] && grep -q "no process" err2
'
expect "usage errors exit 2: no function, no command, both -p and a command" '
	check_exit 2 "$KILN" latency 2>e1 && check_exit 2 "$KILN" latency f 2>e2 &&
	check_exit 2 "$KILN" latency f -p 1 -- true 2>e3 && check_exit 2 "$KILN" latency f --slowest x -- true 2>e4 &&
	grep -q "usage\|see" e2
'
expect "a module that is not linked: one line naming it" '
	check_exit 1 "$KILN" latency libnotthere:f -- "$WORKLOADS/lat_modes" 1 2>err && [ "$(wc -l <err)" -eq 1 ] &&
	grep -q "no module .libnotthere." err
'
expect "--help names the options and an example" '
	"$KILN" latency --help >h && grep -q -- "--by-caller" h && grep -q "example" h
'
finish
