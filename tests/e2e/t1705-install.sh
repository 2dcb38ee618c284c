#!/usr/bin/env bash
# t1705-install: make install / uninstall with PREFIX and DESTDIR (nothing left behind),
# the manual pages (man kiln-record), bash completion of commands and options, and the
# Debian package: built by make deb, unpacked into a scratch root, its kiln run.
. "$(dirname "$0")/lib.sh"

export MAKEFLAGS= MAKELEVEL=
expect "make install DESTDIR=... PREFIX=/usr puts kiln, its heap library, man pages, docs and completion in place" '
	make -s -C "$TOP" BUILD="$BUILD" NO_DEPS=1 install DESTDIR="$T/root" PREFIX=/usr >log 2>&1 || { cat log; exit 1; }
	r="$T/root/usr" &&
	[ -x "$r/bin/kiln" ] && [ -f "$r/lib/kiln/libkiln-heap.so" ] &&
	[ -f "$r/share/man/man1/kiln-record.1" ] && [ -f "$r/share/man/man1/kiln-export.1" ] && [ -f "$r/share/man/man1/kiln.1" ] &&
	[ -f "$r/share/man/man5/kiln-formats.5" ] && [ -f "$r/share/bash-completion/completions/kiln" ] &&
	[ -f "$r/share/doc/kiln/README.md" ] && [ -f "$r/share/doc/kiln/docs/kiln-export.md" ] &&
	"$r/bin/kiln" --version | grep -q "^kiln " &&
	MANPATH="$r/share/man" MANWIDTH=80 man kiln-record 2>/dev/null >page.txt && grep -q "^NAME" page.txt &&
	grep -Eq "kiln-record +- +sample" page.txt &&
	MANPATH="$r/share/man" MANWIDTH=80 man 5 kiln-formats 2>/dev/null | grep -q "pprof"
'
expect "make uninstall with the same DESTDIR and PREFIX leaves no file behind" '
	make -s -C "$TOP" BUILD="$BUILD" NO_DEPS=1 install DESTDIR="$T/root" PREFIX=/opt/k >log 2>&1 &&
	[ -n "$(find "$T/root" -type f)" ] &&
	make -s -C "$TOP" BUILD="$BUILD" NO_DEPS=1 uninstall DESTDIR="$T/root" PREFIX=/opt/k >log 2>&1 &&
	left=$(find "$T/root" -type f -o -type l) && [ -z "$left" ] || { echo "left: $left"; cat log; exit 1; }
	[ ! -e "$T/root/opt/k/lib/kiln" ] && [ ! -e "$T/root/opt/k/share/doc/kiln" ]
'
if [ -f /usr/share/bash-completion/bash_completion ]; then
	expect "bash completion: commands, the options of a command, export formats" '
		cat >c.sh <<-SH
		source /usr/share/bash-completion/bash_completion
		source "$TOP/completion/kiln.bash"
		PATH="$BUILD:\$PATH"
		comp() { COMP_WORDS=("\$@"); COMP_CWORD=\$((\$# - 1)); COMP_LINE="\$*"; COMP_POINT=\${#COMP_LINE}; COMPREPLY=(); _kiln; echo "\${COMPREPLY[*]}"; }
		comp kiln ex
		comp kiln export --
		comp kiln export -f ""
		comp kiln report --so
		comp kiln ""
		SH
		bash c.sh >out 2>err && sed -n 1p out | grep -qx export &&
		sed -n 2p out | grep -q -- "--format" && sed -n 2p out | grep -q -- "--no-gzip" &&
		sed -n 3p out | grep -qx "pprof speedscope firefox chrome folded json" &&
		sed -n 4p out | grep -qx -- "--sort" &&
		for c in record report flame diff collapse heap stat bench export; do sed -n 5p out | grep -qw $c || exit 1; done
	'
else
	skip "bash completion" "bash-completion is not installed"
fi
if command -v dpkg-buildpackage >/dev/null && command -v pandoc >/dev/null && git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
	expect "make deb builds a package that installs into a fresh root and runs" '
		make -C "$TOP" BUILD="$BUILD/debtest" deb >log 2>&1; deb=$(ls "$BUILD"/debtest/deb/kiln_*_*.deb 2>/dev/null | head -1)
		[ -n "$deb" ] || { tail -30 log; exit 1; }
		dpkg-deb -I "$deb" >info && grep -q "Package: kiln" info && grep -q "Depends:.*libprotobuf-c" info &&
		grep -q "Depends:.*libcurl4 (>= 7.56.1)" info && grep -q "Depends:.*libmicrohttpd12 (>= 0.9.50)" info &&
		dpkg -x "$deb" root && [ -x root/usr/bin/kiln ] && [ -f root/usr/share/man/man1/kiln-export.1.gz ] &&
		[ -f root/usr/share/bash-completion/completions/kiln ] && [ -f root/usr/lib/kiln/libkiln-heap.so ] &&
		root/usr/bin/kiln --version | grep -q "^kiln " &&
		readelf -d root/usr/bin/kiln >dyn && grep -q "NEEDED.*libc\.so" dyn && ! grep -E "NEEDED.*(curl|microhttpd)" dyn &&
		printf "main;a 3\nmain;b 1\n" >in.folded && root/usr/bin/kiln export -f pprof -o o.pb.gz in.folded &&
		root/usr/bin/kiln report --folded o.pb.gz >out && grep -q "main;a 3" out &&
		root/usr/bin/kiln heap -q -o h.prof -- "$WORKLOADS/heap_known" >/dev/null 2>&1 && [ -s h.prof ] &&
		{ ! command -v lintian >/dev/null || { lintian "$deb" >lint.txt 2>&1; ! grep -E "^[EW]: " lint.txt | grep -v "bogus-mail-host"; } ||
			{ cat lint.txt; exit 1; }; }
		rc=$?; rm -rf "$BUILD/debtest"; exit $rc
	'
else
	skip "make deb" "dpkg-buildpackage, pandoc or a git checkout missing"
fi
finish
