#!/usr/bin/env bash
# t0501-report: kiln report on a recorded profile: table, tree, folded, JSON, filters,
# values; and on bad input: missing, directory, garbage, truncated, corrupt, newer format.
. "$(dirname "$0")/lib.sh"

pyq() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
export -f pyq

# one recording for the whole file: two programs (one mostly in the kernel), long
# enough (1.5 s) for the file to hold more than one group of chunks
P="$SCRATCH/p.prof"
if ! "$KILN" record -q -o "$P" -- "$WORKLOADS/spawn" "$WORKLOADS/shares" 1200 -- \
	/bin/dd if=/dev/zero of=/dev/null bs=64k count=30000 >/dev/null 2>"$SCRATCH/rec.err"; then
	cat "$SCRATCH/rec.err"
fi
export P

expect "the table: header, aligned columns, functions by self share" '
	"$KILN" report -i "$P" >r.txt 2>err && [ ! -s err ] &&
	sed -n 2p r.txt | grep -Eq "p.prof: [0-9]+ samples of cpu-clock at 999 Hz over [0-9.]+ s" &&
	grep -q "^command: .*spawn" r.txt &&
	grep -Eq "^ +Self% +Total% +Samples +Module +Function$" r.txt &&
	grep -Eq "^ +[0-9.]+% +[0-9.]+% +[0-9]+ +shares +spin$" r.txt &&
	awk "/Self%/ { on = 1; next } on && /%/ { v = \$1 + 0; if (seen && v > prev + 0.001) bad = 1; prev = v; seen = 1 }
	     END { exit bad || !seen }" r.txt
'
expect "--sort total puts the outermost caller first; --top N keeps N rows" '
	"$KILN" report -i "$P" --sort total --top 3 >r.txt &&
	[ "$(grep -Ec "^ +[0-9.]+% +[0-9.]+%" r.txt)" -eq 3 ] &&
	awk "/Self%/ { on = 1; next } on && /%/ { v = \$2 + 0; if (seen && v > prev + 0.001) bad = 1; prev = v; seen = 1 }
	     END { exit bad || !seen }" r.txt &&
	grep -q "more functions below the limits" r.txt
'
expect "two processes: the thread summary names both" '
	"$KILN" report -i "$P" >r.txt && grep -Eq "threads in [23] processes" r.txt &&
	grep -Eq " shares$" r.txt && grep -Eq " dd$" r.txt
'
expect "--tree: rooted at process names, children below their callers" '
	"$KILN" report -i "$P" --tree --percent-limit 1 >t.txt &&
	grep -Eq "^ +[0-9.]+% +[0-9.]+%  shares$" t.txt && grep -Eq "^ +[0-9.]+% +[0-9.]+%  dd$" t.txt &&
	grep -q "└─ hot_a  \[shares\]" t.txt &&
	awk "/hot_a/ { getline nx; ok = (nx ~ /spin/) } END { exit !ok }" t.txt
'
expect "--percent-limit prunes the tree" '
	"$KILN" report -i "$P" --tree --percent-limit 0 >all.txt &&
	"$KILN" report -i "$P" --tree --percent-limit 20 >few.txt &&
	[ "$(wc -l <few.txt)" -lt "$(wc -l <all.txt)" ] && grep -q "below 20%" few.txt &&
	sed -n "/Call tree/,\$p" few.txt >tree.txt && grep -q hot_a tree.txt && ! grep -q "hot_c" tree.txt
'
expect "--folded: process name first, kernel frames _[k], counts add up to the samples" '
	"$KILN" report -i "$P" --folded >f.txt &&
	grep -q "^shares;.*main;work_a;hot_a;spin [0-9]*$" f.txt && grep -q "^dd;.*_\[k\]" f.txt &&
	sum=$(awk "{ s += \$NF } END { print s }" f.txt) &&
	n=$("$KILN" report -i "$P" --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"samples\"])") &&
	[ "$sum" = "$n" ] &&
	LC_ALL=C sort -c f.txt
'
expect "--json: documented fields, valid JSON, percentages add up" '
	"$KILN" report -i "$P" --json >r.json &&
	[ "$(pyq r.json "j[\"format\"]")" = kiln-report ] && [ "$(pyq r.json "j[\"version\"]")" = 1 ] &&
	[ "$(pyq r.json "j[\"value\"][\"name\"]")" = samples ] &&
	[ "$(pyq r.json "round(sum(f[\"self_percent\"] for f in j[\"functions\"]))")" = 100 ] &&
	[ "$(pyq r.json "j[\"meta\"][\"kind\"]")" = cpu ] &&
	[ "$(pyq r.json "all(k in j[\"functions\"][0] for k in (\"name\",\"module\",\"self\",\"total\",\"self_percent\",\"total_percent\",\"self_samples\",\"total_samples\",\"kernel\",\"inline\"))")" = True ] &&
	[ "$(pyq r.json "any(f[\"kernel\"] for f in j[\"functions\"])")" = True ] &&
	"$KILN" report -i "$P" --json --tree >t.json &&
	pyq t.json "\" \".join(sorted(n[\"name\"] for n in j[\"tree\"]))" | grep -q "^dd shares"
'
expect "--value chooses the value; an unknown one lists those there are" '
	"$KILN" report -i "$P" --value cpu_ns --json >r.json &&
	[ "$(pyq r.json "j[\"value\"][\"unit\"]")" = nanoseconds ] &&
	check_exit 1 "$KILN" report -i "$P" --value bogus 2>err && one_line_error err &&
	grep -q "samples, cpu_ns" err
'
expect "--comm, --pid and --tid filter; no match says so" '
	"$KILN" report -i "$P" --comm dd --json >d.json &&
	[ "$(pyq d.json "\" \".join(t[\"comm\"] for t in j[\"threads\"])")" = dd ] &&
	pid=$(pyq d.json "j[\"threads\"][0][\"pid\"]") && tid=$(pyq d.json "j[\"threads\"][0][\"tid\"]") &&
	"$KILN" report -i "$P" --pid "$pid" --json >p.json &&
	[ "$(pyq p.json "all(t[\"pid\"] == $pid for t in j[\"threads\"]) and \"dd\" in [t[\"comm\"] for t in j[\"threads\"]]")" = True ] &&
	"$KILN" report -i "$P" --tid "$tid" --folded >t.txt && ! grep -q "^shares" t.txt && grep -q "^dd" t.txt &&
	"$KILN" report -i "$P" --comm nosuch >n.txt 2>err && grep -q "no samples" n.txt && grep -q "match" err
'
expect "a profile as FILE, from stdin, or folded text" '
	"$KILN" report "$P" --top 1 >a.txt && "$KILN" report -i - --top 1 <"$P" >b.txt &&
	[ "$(sed 1,2d a.txt)" = "$(sed 1,2d b.txt)" ] &&
	printf "prog;main;a 3\nprog;main;b 1\n" >f.txt && "$KILN" report f.txt --percent-limit 0 >r.txt &&
	grep -Eq "^ +75.00% +75.00% +3 +a$" r.txt
'

# ---- damaged and bad input ----
expect "a missing file: exit 1, one line" '
	check_exit 1 "$KILN" report -i nosuch.prof 2>err && one_line_error err && grep -q "nosuch.prof" err
'
expect "the default kiln.prof missing: exit 1" '
	check_exit 1 "$KILN" report 2>err && grep -q "kiln.prof" err
'
expect "a directory: exit 1" '
	mkdir d && check_exit 1 "$KILN" report -i d 2>err && one_line_error err
'
expect "garbage and empty files: exit 1, one line" '
	head -c 3000 /dev/urandom >g && check_exit 1 "$KILN" report -i g 2>err && one_line_error err &&
	: >e && check_exit 1 "$KILN" report -i e 2>err2 && one_line_error err2
'
expect "a truncated profile: what is intact loads, the loss is reported" '
	size=$(stat -c %s "$P") && head -c $((size * 2 / 3)) "$P" >cut.prof &&
	"$KILN" report -i cut.prof >r.txt 2>err && grep -q "warning" err && grep -Eq "cut short|no end marker|damaged" err &&
	grep -q "samples" r.txt
'
expect "a corrupt profile: loads up to the damage and says so" '
	cp "$P" bad.prof && size=$(stat -c %s bad.prof) &&
	printf "\377\377\377\377" | dd of=bad.prof bs=1 seek=$((size - 40)) conv=notrunc 2>/dev/null &&
	"$KILN" report -i bad.prof >r.txt 2>err && grep -q "damaged" err && grep -q "samples" r.txt
'
expect "a profile of a newer format version: a clear message, exit 1" '
	cp "$P" new.prof && printf "\011" | dd of=new.prof bs=1 seek=8 conv=notrunc 2>/dev/null &&
	check_exit 1 "$KILN" report -i new.prof 2>err && one_line_error err && grep -q "newer" err &&
	grep -q "upgrade kiln" err
'
expect "bad options are usage errors (exit 2)" '
	check_exit 2 "$KILN" report -i "$P" --sort nope 2>e1 && grep -q "self or total" e1 &&
	check_exit 2 "$KILN" report -i "$P" --top 0 2>e2 &&
	check_exit 2 "$KILN" report -i "$P" --percent-limit 200 2>e3 &&
	check_exit 2 "$KILN" report -i "$P" --folded --json 2>e4 &&
	check_exit 2 "$KILN" report -i "$P" --pid x 2>e5 &&
	check_exit 2 "$KILN" report "$P" "$P" 2>e6 &&
	check_exit 2 "$KILN" report --bogus 2>e7
'
expect "a write error on stdout is exit 1" '
	[ -w /dev/full ] || exit 0
	check_exit 1 "$KILN" report -i "$P" --percent-limit 0 >/dev/full 2>err && grep -q "cannot write" err
'
finish
