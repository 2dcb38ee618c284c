#!/usr/bin/env bash
# t2802-install-pages: what a Debian user meets after installing: `man -k kiln` / whatis
# lines in plain text (mandb reads them with lexgrog), option lists rendered as tagged
# paragraphs rather than run into the text, and a source package whose Build-Depends name
# every package the build needs (a clean build root has only those).
. "$(dirname "$0")/lib.sh"

export MAKEFLAGS= MAKELEVEL=
if command -v pandoc >/dev/null; then
	make -s -C "$TOP" BUILD="$BUILD" NO_DEPS=1 man >"$SCRATCH/man.log" 2>&1 || cat "$SCRATCH/man.log"
fi
export MAN="$BUILD/man"

if command -v lexgrog >/dev/null && command -v pandoc >/dev/null; then
	expect "every manual page's whatis line (what man -k shows) is plain text and names its page" '
		n=0 &&
		for f in "$MAN"/*.1 "$MAN"/*.5; do
			page=$(basename "$f" | sed "s/\.[15]\$//") &&
			lexgrog "$f" >w.txt 2>&1 || { cat w.txt; exit 1; }
			grep -q "^$f: \"$page - [^\"]*\"\$" w.txt || { echo "bad whatis: $(cat w.txt)"; exit 1; }
			! grep -Eq "f\[[A-Z]+\]|\\\\" w.txt || { echo "markup in whatis: $(cat w.txt)"; exit 1; }
			n=$((n + 1))
		done && [ "$n" -ge 15 ] &&
		lexgrog "$MAN/kiln-collapse.1" | grep -q "kiln-collapse - turn perf script output into folded stacks"
	'
	expect "option lists (\"\`-o FILE\`\" then \":   text\" in docs/) become tagged paragraphs in the pages" '
		for md in "$TOP"/docs/kiln-*.md; do
			page="$MAN/$(basename "$md" .md).1" &&
			want=$(grep -c "^:   " "$md"); got=$(grep -c "^\.TP" "$page")
			[ "$got" -ge "$want" ] || { echo "$page: $got tagged paragraphs for $want definitions"; exit 1; }
			! grep -q "^: " "$page" || { echo "$page: a definition run into the text"; exit 1; }
		done &&
		MANWIDTH=80 man -l "$MAN/kiln-export.1" 2>/dev/null >page.txt &&
		grep -A1 -E "^ {7}-o, --output FILE\$" page.txt >o.txt && sed -n 2p o.txt | grep -Eq "^ {14}where to write"
	'
else
	skip "whatis lines" "lexgrog (man-db) or pandoc is missing"
	skip "option lists in manual pages" "lexgrog (man-db) or pandoc is missing"
fi
expect "report, flame and diff say in --help and on their page that they read pprof, .cpuprofile, speedscope and perf.data" '
	for c in report flame diff; do
		"$KILN" $c --help >h.txt && tr "\n" " " <"$TOP/docs/kiln-$c.md" >page.txt &&
		for f in pprof .cpuprofile speedscope perf.data; do
			grep -q -- "$f" h.txt || { echo "kiln $c --help does not name $f"; exit 1; }
			grep -q -- "$f" page.txt || { echo "docs/kiln-$c.md does not name $f"; exit 1; }
		done || exit 1
	done
'
if [ -f /usr/share/bash-completion/bash_completion ]; then
	expect "bash completion after '--' completes the command to run (kiln record -- CMD, lock, latency, stat)" '
		mkdir -p bin && printf "#!/bin/sh\n" >bin/kilntestprog && chmod +x bin/kilntestprog && touch ./kilntestfile &&
		cat >c.sh <<-SH
		source /usr/share/bash-completion/bash_completion
		source "$TOP/completion/kiln.bash"
		PATH="$BUILD:$T/bin:\$PATH"
		comp() { COMP_WORDS=("\$@"); COMP_CWORD=\$((\$# - 1)); COMP_LINE="\$*"; COMP_POINT=\${#COMP_LINE}; COMPREPLY=(); _kiln; echo "\${COMPREPLY[*]}"; }
		comp kiln record -- kilntestp
		comp kiln record -o x.prof -F 99 -- kilntestp
		comp kiln lock -- kilntestp
		comp kiln latency malloc -- kilntestp
		comp kiln stat -r 3 -- kilntestp
		comp kiln record kilntestp
		comp kiln record -o x.prof ./kilntestf
		SH
		bash c.sh >out 2>/dev/null && cat out && [ "$(wc -l <out)" -eq 7 ] &&
		for n in 1 2 3 4 5 6; do sed -n ${n}p out | grep -qx kilntestprog || exit 1; done &&
		sed -n 7p out | grep -qx "./kilntestfile"
	'
else
	skip "bash completion after --" "bash-completion is not installed"
fi
expect "debian/control Build-Depends names every build package of scripts/deps.sh (a clean build root has only those)" '
	awk "/--test/ { exit } /^check_(pc|bin|file) / { print \$3 }" "$TOP/scripts/deps.sh" | sort -u >need &&
	[ "$(wc -l <need)" -ge 10 ] &&
	awk "/^Build-Depends:/ { on = 1; sub(/^Build-Depends:/, \"\"); print; next } on && /^[ \t]/ { print; next } { on = 0 }" "$TOP/debian/control" |
		tr "," "\n" | sed "s/(.*)//; s/[[:space:]]//g" | grep . | sort -u >have &&
	# gcc and make come with build-essential; cmocka is for the unit tests, which the package does not run
	grep -vxE "gcc|make|libcmocka-dev" need | comm -23 - have >missing &&
	{ [ ! -s missing ] || { echo "Build-Depends lacks:"; cat missing; exit 1; }; }
'
finish
