#!/usr/bin/env bash
# run.sh: every benchmark under bench/ (bench/NAME.sh), one after another.
set -u
cd "$(dirname "$0")"
rc=0
for b in *.sh; do
	[ "$b" = run.sh ] && continue
	echo "== bench/$b"
	bash "$b" || rc=1
	echo
done
exit $rc
