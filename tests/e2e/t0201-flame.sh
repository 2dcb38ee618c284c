#!/usr/bin/env bash
# t0201-flame: kiln flame on real folded stacks and kiln profiles: well-formed,
# self-contained SVG with the frames, counts and viewer; every option.
. "$(dirname "$0")/lib.sh"
# group N: N with thousands separators, as the SVG prints counts
group() { echo "$1" | sed -e :a -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/; ta'; }
export -f group
FOLDED="$DATA/flamegraph-collapse/expected"
export FOLDED

# svg_ok FILE: well-formed XML, an <svg> root, the viewer script, and no reference to
# anything outside the file (the only URLs are namespace names).
svg_ok() {
	xmllint --noout "$1" || return 1
	grep -q '^<svg ' "$1" || { echo "no <svg> root"; return 1; }
	grep -q '<script><!\[CDATA\[' "$1" || { echo "no viewer script"; return 1; }
	grep -q 'function zoom' "$1" && grep -q 'new RegExp' "$1" || { echo "viewer incomplete"; return 1; }
	local urls
	urls=$(grep -o '[a-z]*://[^" )]*' "$1" | sort -u)
	if [ "$urls" != "http://www.w3.org/2000/svg" ]; then
		echo "unexpected URLs: $urls"
		return 1
	fi
	if grep -q 'href\|@import\|src=' "$1" || grep -o 'url([^)]*)' "$1" | grep -vq '^url(#'; then
		echo "external reference"
		return 1
	fi
}
export -f svg_ok

if ! command -v xmllint >/dev/null; then
	skip "kiln flame writes well-formed SVG" "xmllint missing (scripts/deps.sh --test installs libxml2-utils)"
	finish
	exit
fi

expect "a flame graph of real folded stacks: frames, counts, percentages" '
	"$KILN" flame "$FOLDED/perf-vertx-stacks-01-collapsed-all.txt" >out.svg 2>err &&
	svg_ok out.svg && [ ! -s err ] &&
	total=$(awk "{ s += \$NF } END { print s }" "$FOLDED/perf-vertx-stacks-01-collapsed-all.txt") &&
	grep -q "<title>all ($(group "$total") samples, 100.00%)</title>" out.svg &&
	grep -q "<title>java (" out.svg && grep -q "Flame Graph</text>" out.svg
'
expect "every frame of a small input is drawn once with its own count" '
	printf "main;parse;read 30\nmain;parse 10\nmain;eval;add 50\nmain;eval;mul 10\n" >in.folded &&
	"$KILN" flame in.folded >out.svg && svg_ok out.svg &&
	for f in "all (100 samples, 100.00%)" "main (100 samples, 100.00%)" "parse (40 samples, 40.00%)" \
		 "read (30 samples, 30.00%)" "eval (60 samples, 60.00%)" "add (50 samples, 50.00%)" \
		 "mul (10 samples, 10.00%)"; do
		[ "$(grep -c "<title>$f</title>" out.svg)" -eq 1 ] || { echo "missing: $f"; exit 1; }
	done &&
	[ "$(grep -c "<g><title>" out.svg)" -eq 7 ]
'
expect "standard input, '-' and a gzip or zstd file give the same SVG" '
	f="$FOLDED/perf-java-stacks-01-collapsed-all.txt" &&
	"$KILN" flame "$f" >a.svg && "$KILN" flame <"$f" >b.svg && "$KILN" flame - <"$f" >c.svg &&
	gzip -c "$f" >in.gz && "$KILN" flame in.gz >d.svg &&
	{ ! command -v zstd >/dev/null || { zstd -q -c "$f" >in.zst && "$KILN" flame in.zst >e.svg && cmp a.svg e.svg; }; } &&
	cmp a.svg b.svg && cmp a.svg c.svg && cmp a.svg d.svg
'
expect "output is deterministic" '
	f="$FOLDED/perf-vertx-stacks-01-collapsed-all.txt" &&
	"$KILN" flame "$f" >a.svg && "$KILN" flame "$f" >b.svg && cmp a.svg b.svg
'
expect "fractional counts" '
	printf "a;b 0.25\na;c 1.5\na 0.25\n" >in.folded &&
	"$KILN" flame in.folded >out.svg && svg_ok out.svg &&
	grep -q "<title>a (2 samples, 100.00%)</title>" out.svg &&
	grep -q "<title>b (0.25 samples, 12.50%)</title>" out.svg &&
	grep -q "<title>c (1.5 samples, 75.00%)</title>" out.svg
'
expect "every option is accepted and has its effect" '
	f="$FOLDED/perf-java-stacks-01-collapsed-all.txt" &&
	"$KILN" flame --title "My <Title>" --subtitle "sub & title" --width 800 --height 20 \
		--minwidth 0.5 --colors java --hash --countname ms --nametype "Frame:" \
		--fonttype "Courier New" --fontsize 10 --fontwidth 0.6 --notes "some notes" \
		--max-size 1M --factor 2 "$f" -o out.svg && svg_ok out.svg &&
	grep -q "My &lt;Title&gt;</text>" out.svg && grep -q "sub &amp; title</text>" out.svg &&
	grep -q "width=\"800\"" out.svg && grep -q "height=\"19\"" out.svg &&
	grep -q "font-family:Courier New" out.svg && grep -q "font-size:10px" out.svg &&
	grep -q "<desc id=\"notes\">some notes</desc>" out.svg &&
	grep -q "nametype:\"Frame:\"" out.svg && grep -q " ms, 100.00%)</title>" out.svg &&
	total=$(awk "{ s += \$NF } END { print s * 2 }" "$f") &&
	grep -q "<title>all ($(group "$total") ms" out.svg
'
expect "--inverted puts the root at the top, --flamechart and --reverse change the shape" '
	printf "a;b;c 2\nz;c 1\na;b 4\n" >in.folded &&
	"$KILN" flame in.folded >flame.svg && "$KILN" flame --inverted in.folded >icicle.svg &&
	svg_ok icicle.svg && grep -q ">Icicle Graph</text>" icicle.svg &&
	ya=$(grep -o "<title>all ([^<]*</title><rect x=\"[0-9.]*\" y=\"[0-9.]*\"" icicle.svg | sed "s/.*y=\"//; s/\"//") &&
	yb=$(grep -o "<title>a ([^<]*</title><rect x=\"[0-9.]*\" y=\"[0-9.]*\"" icicle.svg | sed "s/.*y=\"//; s/\"//") &&
	[ "${ya%.*}" -lt "${yb%.*}" ] &&
	"$KILN" flame --reverse in.folded >rev.svg && svg_ok rev.svg &&
	grep -q "<title>c (3 samples" rev.svg && ! grep -q "<title>c (2 samples" rev.svg &&
	printf "x 1\na;b 1\nx 1\n" >chart.folded &&
	"$KILN" flame --flamechart chart.folded >chart.svg && svg_ok chart.svg &&
	grep -q ">Flame Chart</text>" chart.svg && [ "$(grep -c "<title>x (1 samples" chart.svg)" -eq 2 ]
'
expect "every palette gives a valid SVG; java colours JIT frames green and kernel orange" '
	f="$FOLDED/perf-java-stacks-01-collapsed-all.txt" &&
	for p in hot mem io wakeup red green blue aqua yellow purple orange java js; do
		"$KILN" flame --colors $p "$f" >$p.svg && xmllint --noout $p.svg || { echo "palette $p"; exit 1; }
	done &&
	k=$(grep -o "_\[k\] ([^<]*</title><rect [^>]*fill=\"#[0-9a-f]*\"" java.svg | head -1 | grep -o "#[0-9a-f]*") &&
	j=$(grep -o "_\[j\] ([^<]*</title><rect [^>]*fill=\"#[0-9a-f]*\"" java.svg | head -1 | grep -o "#[0-9a-f]*") &&
	[ -n "$k" ] && [ -n "$j" ] &&
	[ "${k:5:2}" = "00" ] && [ $((16#${k:1:2})) -ge 190 ] &&
	[ $((16#${j:3:2})) -ge 200 ] && [ $((16#${j:1:2})) -le 110 ]
'
expect "--hash gives one colour per name; the default varies shades" '
	printf "a;f 1\nb;f 1\nc;f 1\nd;f 1\n" >in.folded &&
	"$KILN" flame --hash in.folded >h.svg && "$KILN" flame in.folded >d.svg &&
	[ "$(grep -o "<title>f ([^<]*</title><rect [^>]*fill=\"#[0-9a-f]*\"" h.svg | grep -o "fill=.*" | sort -u | wc -l)" -eq 1 ] &&
	[ "$(grep -o "<title>f ([^<]*</title><rect [^>]*fill=\"#[0-9a-f]*\"" d.svg | grep -o "fill=.*" | sort -u | wc -l)" -gt 1 ]
'
expect "--minwidth in pixels and percent leaves out narrow frames" '
	printf "a;big 990\na;small 10\n" >in.folded &&
	"$KILN" flame --minwidth 5% in.folded >p.svg && ! grep -q "<title>small" p.svg && grep -q "<title>big" p.svg &&
	"$KILN" flame --minwidth 0.5% in.folded >q.svg && grep -q "<title>small" q.svg &&
	"$KILN" flame --minwidth 12 in.folded >r.svg && ! grep -q "<title>small" r.svg &&
	"$KILN" flame --minwidth 11 in.folded >s.svg && grep -q "<title>small" s.svg
'
expect "a kiln profile: process names as roots, kernel frames marked, --value picks the value" '
	printf "myprog;main;compute 60\nmyprog;main;write;sys_write_[k] 40\nhelper;run 25\n" >in.folded &&
	"$BUILD/tests/unit/test_flame" --save-profile in.folded in.prof &&
	"$KILN" flame in.prof >prof.svg && svg_ok prof.svg &&
	grep -q "<title>myprog (100 samples, 80.00%)</title>" prof.svg &&
	grep -q "<title>sys_write_\[k\] (40 samples, 32.00%)</title>" prof.svg &&
	grep -q "<title>helper (25 samples, 20.00%)</title>" prof.svg &&
	"$KILN" flame --value cpu_ns in.prof >ns.svg &&
	grep -q "<title>all (125,000,000 nanoseconds, 100.00%)</title>" ns.svg &&
	check_exit 1 "$KILN" flame --value bogus in.prof >x.svg 2>err && grep -q "has no value .bogus.; it has: samples, cpu_ns" err &&
	"$KILN" flame in.folded >fold.svg &&
	diff <(grep -o "<title>[^<]*</title>" fold.svg | sort) <(grep -o "<title>[^<]*</title>" prof.svg | sort)
'
expect "-o writes the file and nothing to stdout" '
	"$KILN" flame "$FOLDED/perf-dd-stacks-01-collapsed-all.txt" -o out.svg >stdout &&
	[ ! -s stdout ] && svg_ok out.svg && [ -z "$(ls | grep tmp)" ]
'
expect "kiln flame --help and kiln help flame" '
	"$KILN" flame --help >h1 && "$KILN" help flame >h2 && cmp h1 h2 &&
	grep -q "usage: kiln flame" h1 && grep -q "examples:" h1 && grep -q -- "--minwidth" h1
'
expect "usage errors exit 2" '
	check_exit 2 "$KILN" flame --bogus x 2>err && grep -q "unknown option" err &&
	check_exit 2 "$KILN" flame --colors nope x 2>err && grep -q "unknown palette" err &&
	check_exit 2 "$KILN" flame --width abc x 2>err && grep -q -- "--width" err &&
	check_exit 2 "$KILN" flame --minwidth -1 x 2>err &&
	check_exit 2 "$KILN" flame --minwidth 200% x 2>err &&
	check_exit 2 "$KILN" flame --title 2>err && grep -q "needs a value" err &&
	check_exit 2 "$KILN" flame a b 2>err
'
finish
