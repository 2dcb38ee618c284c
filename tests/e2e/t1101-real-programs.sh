#!/usr/bin/env bash
# t1101-real-programs: kiln record and kiln heap are transparent on real programs
# nobody here wrote, as Debian ships them: the same exit code and byte-identical
# standard output with and without kiln, and no hang (every run has a timeout, so a
# hang fails instead of blocking). Each program does real work. A program this
# machine lacks is a SKIP naming the package (scripts/deps.sh --test installs them).
. "$(dirname "$0")/lib.sh"

# same MODE IN CMD...: runs CMD (stdin from IN) alone, then under kiln MODE (heap or
# record); fails unless the exit codes and the stdout bytes are the same and the
# profile loads.
same() {
	local mode=$1 in=$2 want got
	shift 2
	"$@" <"$in" >want.out 2>want.err
	want=$?
	timeout -k 5 300 "$KILN" "$mode" -q -o "k-$mode.prof" -- "$@" <"$in" >got.out 2>got.err
	got=$?
	if [ "$got" != "$want" ]; then
		echo "kiln $mode: exit $got, without kiln $want: $*"
		tail -n 5 got.err
		return 1
	fi
	if ! cmp -s want.out got.out; then
		echo "kiln $mode: the output differs: $*"
		diff want.out got.out | head -n 10
		return 1
	fi
	if ! "$KILN" report -i "k-$mode.prof" >rep.out 2>rep.err; then
		echo "kiln $mode: the profile of '$*' does not load"
		tail -n 5 rep.err
		return 1
	fi
	return 0
}
# both IN CMD...: same under kiln heap and kiln record
both() {
	same heap "$@" && same record "$@"
}
export -f same both

have() { command -v "$1" >/dev/null 2>&1; }

# ---- a tree to search, files to compress, a script per interpreter ----
mkdir -p "$SCRATCH/tree"
cp -r "$TOP/src" "$SCRATCH/tree/src"
cp -r "$TOP/docs" "$SCRATCH/tree/docs"
export TREE="$SCRATCH/tree"
cat >"$SCRATCH/work.py" <<'PY'
import collections, hashlib, json, os, re, sys
words = collections.Counter()
for root, dirs, files in sorted(os.walk(sys.argv[1])):
    dirs.sort()
    for f in sorted(files):
        with open(os.path.join(root, f), errors="replace") as fh:
            words.update(re.findall(r"[a-z_]{4,}", fh.read()))
top = words.most_common(15)
print(json.dumps(top))
print(hashlib.sha256(json.dumps(top).encode()).hexdigest())
print(sum(i * i for i in range(200000)))
PY
cat >"$SCRATCH/work.js" <<'JS'
const fs = require("fs"), path = require("path"), crypto = require("crypto");
function walk(d, out) {
  for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p, out); else out.push(p);
  }
  return out;
}
const counts = new Map();
for (const f of walk(process.argv[2], [])) {
  for (const w of fs.readFileSync(f, "utf8").match(/[a-z_]{4,}/g) || []) counts.set(w, (counts.get(w) || 0) + 1);
}
const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 15);
console.log(JSON.stringify(top));
console.log(crypto.createHash("sha256").update(JSON.stringify(top)).digest("hex"));
let s = 0; for (let i = 0; i < 2000000; i++) s += i % 7; console.log(s);
JS
cat >"$SCRATCH/batch.sql" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
INSERT INTO t SELECT i, 'n' || (i % 97), i * 1.5 FROM c;
CREATE INDEX t_name ON t(name);
SELECT name, count(*), sum(v) FROM t GROUP BY name ORDER BY name LIMIT 10;
SELECT count(*) FROM t WHERE name = 'n42';
UPDATE t SET v = v * 2 WHERE id % 3 = 0;
SELECT printf('%.1f', sum(v)) FROM t;
SQL
cat >"$SCRATCH/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; char name[40]; };
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
int main(int argc, char **argv)
{
	char *names[1000];
	for (int i = 0; i < 1000; i++) {
		names[i] = malloc(32);
		snprintf(names[i], 32, "item-%d", (i * 7919) % 1000);
	}
	qsort(names, 1000, sizeof(names[0]), cmp);
	printf("%s %s %d\n", names[0], names[999], argc);
	return 0;
}
C
export WORK_PY="$SCRATCH/work.py" WORK_JS="$SCRATCH/work.js" BATCH_SQL="$SCRATCH/batch.sql" PROG_C="$SCRATCH/prog.c"

if have rg; then
	expect "ripgrep searching a source tree (Rust, threads)" '
		both /dev/null rg -n --sort path -e "kiln_[a-z]+\\(" "$TREE" && both /dev/null rg -c --sort path static "$TREE"
	'
else
	skip "ripgrep" "rg is not installed (package ripgrep)"
fi
if have python3; then
	expect "python3 on PATH (pyenv shim: a bash script that execs) running a script" '
		both /dev/null python3 "$WORK_PY" "$TREE"
	'
fi
if [ -x /usr/bin/python3 ]; then
	expect "/usr/bin/python3 (Debian) running a script" '
		both /dev/null /usr/bin/python3 "$WORK_PY" "$TREE"
	'
else
	skip "/usr/bin/python3" "python3 is not installed (package python3)"
fi
if have sqlite3; then
	expect "sqlite3 running a batch of SQL from stdin" '
		both "$BATCH_SQL" sqlite3 && both "$BATCH_SQL" sh -c "rm -f db.sqlite; exec sqlite3 -csv db.sqlite"
	'
else
	skip "sqlite3" "sqlite3 is not installed (package sqlite3)"
fi
if have git; then
	expect "git log, status and diff on a repository it creates" '
		export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
		export GIT_AUTHOR_DATE=2020-01-01T00:00:00Z GIT_COMMITTER_DATE=2020-01-01T00:00:00Z
		export GIT_CONFIG_NOSYSTEM=1 HOME=$T
		git init -q r && cp -r "$TREE/src" r/ && git -C r add . && git -C r commit -qm one &&
		sed -i "s/kiln/KILN/g" r/src/cmd/*.c && git -C r commit -qam two && echo new >r/untracked || exit 1
		both /dev/null git -C r log --stat && both /dev/null git -C r status --porcelain &&
		both /dev/null git -C r diff HEAD~1 --stat && both /dev/null git -C r rev-list --count HEAD
	'
else
	skip "git" "git is not installed (package git)"
fi
if have xz; then
	expect "xz compressing and decompressing through pipes" '
		cat "$TREE"/src/lib/*/*.c >in.txt
		both in.txt xz -c -6 -T1 && xz -c -6 -T1 <in.txt >in.xz && both in.xz xz -dc
	'
else
	skip "xz" "xz is not installed (package xz-utils)"
fi
if have node; then
	expect "node running a script" '
		both /dev/null node "$WORK_JS" "$TREE"
	'
else
	skip "node" "node is not installed (package nodejs)"
fi
if have go; then
	expect "a Go program built with go build: kiln record transparent, kiln heap refuses it clearly" '
		export GOCACHE="$BUILD/go-cache" GOPATH="$BUILD/go-path" GOFLAGS=-mod=mod GO111MODULE=on GOTOOLCHAIN=local
		mkdir -p g && cat >g/main.go <<GO
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	var words []string
	for i := 0; i < 200000; i++ {
		words = append(words, fmt.Sprintf("w%d", (i*7919)%100000))
	}
	sort.Strings(words)
	h := sha256.Sum256([]byte(strings.Join(words, ",")))
	fmt.Printf("%d %s %x\n", len(words), words[0], h[:8])
	if len(os.Args) > 1 {
		os.Exit(4)
	}
}
GO
		(cd g && printf "module g\n\ngo 1.19\n" >go.mod && go build -o prog .) || exit 1
		same record /dev/null ./g/prog && same record /dev/null ./g/prog exit-4 || exit 1
		check_exit 1 "$KILN" heap -o go.prof -- ./g/prog 2>err && grep -q "statically linked" err &&
		[ "$(wc -l <err)" = 1 ] && [ ! -e go.prof ]
	'
else
	skip "a Go program" "go is not installed (package golang-go)"
fi
if have gcc; then
	expect "gcc compiling a C file (driver, cc1, as, collect2, ld), output files identical" '
		both /dev/null gcc -O2 -E "$PROG_C" || exit 1
		gcc -O2 -o want.bin "$PROG_C" && "$KILN" heap -q -o gh.prof -- gcc -O2 -o got-heap.bin "$PROG_C" &&
		"$KILN" record -q -o gr.prof -- gcc -O2 -o got-record.bin "$PROG_C" || exit 1
		cmp want.bin got-heap.bin && cmp want.bin got-record.bin && both /dev/null ./want.bin a b
	'
else
	skip "gcc" "gcc is not installed (package gcc)"
fi
expect "pipes: a program reading stdin and writing stdout, and a pipeline in a shell" '
	seq 1 50000 >nums.txt
	both nums.txt sort -rn && both nums.txt tr 0-9 a-j && both /dev/null sh -c "seq 1 30000 | sort -r | head -n 5"
'
expect "a program that exits non-zero: the same status" '
	both /dev/null sh -c "echo out; exit 3" && both /dev/null false && both "$PROG_C" grep -c no-such-line-here
'
expect "a program that dies of a signal: 128 + N, the same output before it" '
	both /dev/null sh -c "echo before; kill -SEGV \$\$" && both /dev/null /usr/bin/python3 -c "import os; print(1, flush=True); os.kill(os.getpid(), 9)" &&
	both /dev/null sh -c "echo x; kill -TERM \$\$"
'
finish
