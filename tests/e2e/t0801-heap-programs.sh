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
	git -C r fsck >/dev/null 2>&1 && "$KILN" heap report gc.prof >rep && grep -q "sum of [0-9]* processes" rep
'
else
	skip "git on a small repository" "git is not installed"
fi

expect "kiln flame draws the heap profile when it reads kiln profiles" '
	"$KILN" heap -q -o k.prof -- "$WORKLOADS/heap_known" || exit 1
	if ! "$KILN" flame k.prof >f.svg 2>err; then
		grep -q "not available\|not a\|cannot" err && exit 0   # flame lands on another branch
		cat err; exit 1
	fi
	grep -q "make_big" f.svg
'
finish
