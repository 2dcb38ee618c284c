#!/usr/bin/env bash
# t0801-heap-programs: real programs give the same output with and without kiln heap
# (python3 on a script, sqlite3 on a batch of SQL, git on a small repository), and
# their profiles are sane.
. "$(dirname "$0")/lib.sh"

# sane PROFILE: a finished heap profile with allocations and a symbolized stack
sane() {
	"$KILN" heap report "$1" --json >"$1.json" || return 1
	python3 - "$1.json" <<-EOF
	import json, sys
	d = json.load(open(sys.argv[1]))
	s = d["summary"]
	assert s["allocations"] > 100, s
	assert 0 <= s["leaked_bytes"] <= s["bytes"] and 0 < s["peak_bytes"] <= s["bytes"], s
	assert s["temporary"] <= s["allocations"] and s["exit"] == "exit 0", s
	names = [f["name"] for e in d["calls"] for f in e["stack"]]
	assert any(not n.startswith("[") for n in names), names[:20]
	EOF
}
export -f sane

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
export PY

if [ -n "$PY" ]; then
expect "python3 on a script: same output, sane profile" '
	cat >s.py <<-EOF
	import json, collections, re
	d = collections.Counter()
	for i in range(20000):
	    d[str(i % 97)] += i
	words = re.findall(r"\w+", " ".join("w%d" % (i * 7 % 1000) for i in range(5000)))
	print(json.dumps(sorted(d.items())[:5]), sum(d.values()), len(set(words)))
	EOF
	"$PY" s.py >want && "$KILN" heap -q -o py.prof -- "$PY" s.py >got && cmp want got && sane py.prof
'
else
	skip "python3 on a script" "python3 is not installed"
fi

if command -v sqlite3 >/dev/null; then
expect "sqlite3 on a batch of SQL: same output, sane profile" '
	cat >b.sql <<-EOF
	CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 5000)
	INSERT INTO t SELECT i, printf("row %d", i), i * 0.5 FROM n;
	CREATE INDEX tb ON t(b);
	SELECT count(*), sum(c), max(b) FROM t;
	SELECT b FROM t WHERE a % 1000 = 0 ORDER BY b;
	DELETE FROM t WHERE a % 2 = 0;
	VACUUM;
	SELECT count(*) FROM t;
	EOF
	sqlite3 a.db <b.sql >want && "$KILN" heap -q -o sq.prof -- sqlite3 b.db <b.sql >got &&
	cmp want got && cmp a.db b.db && sane sq.prof
'
else
	skip "sqlite3 on a batch of SQL" "sqlite3 is not installed (scripts/deps.sh --test installs it)"
fi

if command -v git >/dev/null; then
expect "git on a small repository: same output, sane profile, child processes" '
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
	export GIT_AUTHOR_DATE=2020-01-01T00:00:00Z GIT_COMMITTER_DATE=2020-01-01T00:00:00Z
	export GIT_CONFIG_NOSYSTEM=1 HOME=$T
	git init -q r && for i in 1 2 3 4 5; do seq $i 300 >r/f$i.txt; done &&
	git -C r add . && git -C r commit -qm one && sed -i s/1/one/ r/f1.txt && git -C r commit -qam two || exit 1
	git -C r log --stat -p >want && "$KILN" heap -q -o git.prof -- git -C r log --stat -p >got &&
	cmp want got && sane git.prof || exit 1
	# gc runs several git processes: each is recorded
	"$KILN" heap -o gc.prof -- git -C r gc -q 2>err && grep -q "processes recorded" err &&
	git -C r fsck >/dev/null 2>&1 && "$KILN" heap report gc.prof >rep && grep -q "^peak heap .* ([0-9]* processes together)" rep && grep -q "^own peaks " rep
'
else
	skip "git on a small repository" "git is not installed"
fi

if command -v g++ >/dev/null; then
expect "C++: every operator new and delete is seen, bad_alloc still thrown" '
	cat >n.cpp <<-EOF
	#include <new>
	#include <cstdio>
	#include <string>
	struct alignas(64) Big { char c[256]; };
	void *volatile sink;
	__attribute__((noinline)) void news() {
	    for (int i = 0; i < 100; i++) { int *p = new int[10]; sink = p; delete[] p; }
	    for (int i = 0; i < 50; i++) { Big *b = new Big; sink = b; delete b; }
	    for (int i = 0; i < 20; i++) { int *p = new (std::nothrow) int; sink = p; delete p; }
	    for (int i = 0; i < 30; i++) { Big *b = new (std::nothrow) Big[2]; sink = b; delete[] b; }
	    char *keep = new char[4096];
	    sink = keep;
	    try { sink = new char[(size_t)1 << 62]; } catch (std::bad_alloc &) { std::puts("bad_alloc"); }
	}
	int main() { news(); std::string s(100, 120); std::puts(s.c_str() + 95); return 0; }
	EOF
	g++ -O0 -g -o n n.cpp || exit 1
	./n >want && "$KILN" heap -q -o n.prof -- ./n >got && cmp want got && grep -qx bad_alloc got || exit 1
	"$KILN" heap report n.prof --folded --value alloc_count >a || exit 1
	# new[] 100, aligned new 50, nothrow new 20, aligned nothrow new[] 30, new[] 1
	n=$(awk "/;news\(\) [0-9]+\$/ { s += \$NF } END { print s + 0 }" a)
	[ "$n" = 201 ] || { cat a; exit 1; }
	"$KILN" heap report n.prof --folded --value leaked_count >l &&
	[ "$(awk "/;news\(\) [0-9]+\$/ { s += \$NF } END { print s + 0 }" l)" = 1 ] || { cat l; exit 1; }
'
else
	skip "C++ operator new and delete" "g++ is not installed"
fi

expect "a library loaded with dlopen: its allocations are seen and named" '
	cat >lib.c <<-EOF
	#include <stdlib.h>
	void *volatile keep;
	void lib_alloc(int n) { for (int i = 0; i < n; i++) keep = malloc(777); }
	EOF
	cat >main.c <<-EOF
	#include <dlfcn.h>
	#include <stdio.h>
	int main(int argc, char **argv) {
	    for (int round = 0; round < 2; round++) {
	        void *h = dlopen(argv[1], RTLD_NOW);
	        if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
	        void (*f)(int) = (void (*)(int))dlsym(h, "lib_alloc");
	        f(5);
	        dlclose(h);
	    }
	    return 0;
	}
	EOF
	cc -O1 -g -fno-omit-frame-pointer -shared -fPIC -o libx.so lib.c && cc -O1 -g -o m main.c -ldl || exit 1
	"$KILN" heap -q -o d.prof -- ./m "$PWD/libx.so" || exit 1
	"$KILN" heap report d.prof --folded --value leaked_count >l || exit 1
	[ "$(awk "/;lib_alloc [0-9]+\$/ { s += \$NF } END { print s + 0 }" l)" = 10 ] || { cat l; exit 1; }
'

expect "kiln flame draws the heap profile when it reads kiln profiles" '
	"$KILN" heap -q -o k.prof -- "$WORKLOADS/heap_known" || exit 1
	if ! "$KILN" flame k.prof >f.svg 2>err; then
		grep -q "not available\|not a\|cannot" err && exit 0   # flame lands on another branch
		cat err; exit 1
	fi
	grep -q "make_big" f.svg
'
finish
