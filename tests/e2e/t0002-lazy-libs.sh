#!/usr/bin/env bash
# t0002-lazy-libs: libcurl and libmicrohttpd are loaded when first needed (util/netlibs.c),
# not linked: the binary does not need them (nor gnutls, which comes with them), commands
# that do not use them run where they cannot be loaded, kiln serve loads libmicrohttpd and
# serves, and where a library cannot be loaded (LD_LIBRARY_PATH naming a directory whose
# copy is not a library, or is one without the functions kiln uses) the command that
# needs it says so in one line and exits 1; kiln agent keeps its windows in the spool.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve-lib.sh"

# $SCRATCH/broken-NAME: a file with the library's name that is not a library (the dynamic
# loader stops at the first file of the name on LD_LIBRARY_PATH); $SCRATCH/stub-NAME: a
# real shared object of that name, without any of the library's functions
echo "int kiln_stub;" >"$SCRATCH/stub.c"
for name in curl:libcurl.so.4 mhd:libmicrohttpd.so.12; do
	so=${name#*:} name=${name%%:*}
	mkdir -p "$SCRATCH/broken-$name" "$SCRATCH/stub-$name"
	echo "not a library" >"$SCRATCH/broken-$name/$so"
	${CC:-cc} -shared -fPIC -Wl,-soname,$so -o "$SCRATCH/stub-$name/$so" "$SCRATCH/stub.c" || exit 1
done
printf "main;work;hot 30\nmain;work;cold 10\nmain;idle 5\n" >"$SCRATCH/p.folded"
export S="$SCRATCH" P="$SCRATCH/p.folded"
export BROKEN="$S/broken-curl:$S/broken-mhd" # neither can be loaded

expect "kiln does not need libcurl, libmicrohttpd or gnutls to start" '
	readelf -d "$KILN" >dyn && grep -q "NEEDED.*libc\.so" dyn &&
	! grep -E "NEEDED.*(curl|microhttpd|gnutls)" dyn &&
	ldd "$KILN" >ldd.txt && grep -q "libc\.so" ldd.txt && ! grep -E "curl|microhttpd|gnutls" ldd.txt
'

expect "where neither library can be loaded, commands that do not use them work (a local store too)" '
	LD_LIBRARY_PATH="$BROKEN" "$KILN" --version >v && grep -q "^kiln " v &&
	LD_LIBRARY_PATH="$BROKEN" "$KILN" report --folded "$P" >r && grep -q "main;work;hot 30$" r &&
	LD_LIBRARY_PATH="$BROKEN" "$KILN" query --store st --import "$P" --at 1796083200 2>imp &&
	LD_LIBRARY_PATH="$BROKEN" "$KILN" query --store st --folded >q 2>qe && grep -q "main;work;hot 30$" q &&
	! grep -q "cannot load" imp qe
'

expect "kiln serve loads libmicrohttpd (not libcurl) and serves the page and the endpoints" '
	serve_start "$T" "$P" || exit 1
	U=$(cat url)
	cp /proc/$(cat pid)/maps maps
	s=$(http_status "$U")
	curl -sf "${U}api/top?n=5" >top.json
	serve_stop "$T" || exit 1
	echo "GET / answered $s"
	[ "$s" = 200 ] && grep -q "libmicrohttpd\.so\.12" maps && ! grep -q "libcurl" maps &&
	python3 -c "import json; j = json.load(open(\"top.json\")); assert j[\"total\"] == 45, j; print(\"ok\")"
'

expect "libmicrohttpd that cannot be loaded: kiln serve says which and what to install, in one line, exit 1" '
	LD_LIBRARY_PATH="$S/broken-mhd" check_exit 1 "$KILN" serve --listen 127.0.0.1:0 "$P" >out 2>err || { cat err; exit 1; }
	cat err; [ ! -s out ] && [ "$(wc -l <err)" -eq 1 ] &&
	grep -q "^kiln: error: cannot load libmicrohttpd\.so\.12, which kiln serve needs (.*broken-mhd/libmicrohttpd\.so\.12: .*): install the libmicrohttpd12 package$" err
'

expect "libmicrohttpd without its functions: the same line, naming the missing function" '
	LD_LIBRARY_PATH="$S/stub-mhd" check_exit 1 "$KILN" serve --listen 127.0.0.1:0 "$P" >out 2>err || { cat err; exit 1; }
	cat err; [ ! -s out ] && [ "$(wc -l <err)" -eq 1 ] &&
	grep -q "^kiln: error: cannot load libmicrohttpd\.so\.12, .*undefined symbol: MHD_.*install the libmicrohttpd12 package$" err
'

expect "libcurl that cannot be loaded: clickhouse:// and pyroscope:// URLs say so in one line, exit 1" '
	for lib in "$S/broken-curl" "$S/stub-curl"; do
		LD_LIBRARY_PATH="$lib" check_exit 1 "$KILN" query --source clickhouse://127.0.0.1:9/kiln --folded >out 2>e1 &&
		LD_LIBRARY_PATH="$lib" check_exit 1 "$KILN" query --source pyroscope://127.0.0.1:9 --import "$P" --at 1796083200 2>e2 &&
		LD_LIBRARY_PATH="$lib" check_exit 1 "$KILN" serve --listen 127.0.0.1:0 --source clickhouse://127.0.0.1:9/kiln 2>e3 ||
			{ cat e1 e2 e3; exit 1; }
		cat e1 e2 e3
		for e in e1 e2 e3; do
			[ "$(wc -l <$e)" -eq 1 ] &&
			grep -q "^kiln: error: cannot load libcurl\.so\.4, which clickhouse:// and pyroscope:// URLs need (.*): install the libcurl4 package$" $e ||
				exit 1
		done
		[ ! -s out ] || exit 1
	done
	grep -q "undefined symbol: curl_" e1
'

if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 0 ]; then
	skip "kiln agent without libcurl" "sampling every process needs root or CAP_PERFMON"
else
	expect "kiln agent without libcurl: the sink is said to be unavailable and why; the windows wait in the spool" '
		LD_LIBRARY_PATH="$S/broken-curl" "$KILN" agent --sink clickhouse://127.0.0.1:9/kiln --spool sp --window 1 --duration 3 2>err ||
			{ cat err; exit 1; }
		head -2 err
		n=$(ls sp | grep -c "\.kiln\.prof$")
		echo "$n windows spooled"
		[ "$n" -ge 2 ] && grep -q "not available: cannot load libcurl\.so\.4, .*install the libcurl4 package" err &&
		for f in sp/*.kiln.prof; do "$KILN" report -i "$f" >/dev/null || exit 1; done
	'
fi
finish
