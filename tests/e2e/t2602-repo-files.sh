#!/usr/bin/env bash
# t2602-repo-files: nothing stray is committed. Empty files named `log" -C sh` were once
# committed at the repository root (issue 11), and later e1, e2, e3 and `0)` (the stderr
# of commands tried by hand in the checkout, added with `git add -A`). The root holds only
# the project's own entries, every tracked name is plain (letters, digits, . _ - + /),
# and no tracked file is empty. Outside a git checkout (a release tarball) it is a SKIP.
. "$(dirname "$0")/lib.sh"

if ! command -v git >/dev/null || ! git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	skip "the committed files" "not a git checkout"
	finish
	exit
fi
git -C "$TOP" ls-files -z >"$SCRATCH/files" || { echo "git ls-files failed"; exit 1; }
export FILES="$SCRATCH/files"

expect "the repository root holds only the project's own files and directories" '
	# a new top-level entry of the project belongs in this list
	allowed=" .ci .gitignore Makefile README.md VERSION LICENSE bench completion debian docs scripts src tests "
	tr "\0" "\n" <"$FILES" | cut -d/ -f1 | sort -u >top
	[ -s top ] && grep -qx src top || { echo "no files listed"; exit 1; }
	bad=0
	while IFS= read -r e; do
		case "$allowed" in *" $e "*) ;; *) echo "stray at the repository root: '\''$e'\''"; bad=1 ;; esac
	done <top
	[ $bad = 0 ]
'
expect "every tracked file name is plain (no quotes, spaces, tabs or parentheses)" '
	tr "\0" "\n" <"$FILES" | grep -v "^[A-Za-z0-9._/+-]*\$" >odd
	[ ! -s odd ] || { echo "odd names:"; cat odd; exit 1; }
'
expect "no tracked file is empty" '
	cd "$TOP" && tr "\0" "\n" <"$FILES" | while IFS= read -r f; do
		[ -f "$f" ] && [ ! -L "$f" ] && [ ! -s "$f" ] && echo "$f"
	done >"$T/empty"
	[ ! -s "$T/empty" ] || { echo "empty files:"; cat "$T/empty"; exit 1; }
'
finish
