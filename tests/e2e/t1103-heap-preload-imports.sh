#!/usr/bin/env bash
# t1103-heap-preload-imports: the heap preload library calls nothing that can deadlock
# a program from inside its allocator. Every function libkiln-heap.so imports must be
# in the audited table of docs/internals-heap.md, and none may be on the deny-list
# (pthread_getattr_np hung every Rust program). Then the Rust program that showed it.
. "$(dirname "$0")/lib.sh"
export DOC="$TOP/docs/internals-heap.md" LIB="$BUILD/libkiln-heap.so"

expect "every function libkiln-heap.so imports is in the audit table of docs/internals-heap.md" '
	command -v nm >/dev/null || { echo "nm (binutils) is missing"; exit 1; }
	nm -D --undefined-only "$LIB" | awk "{print \$NF}" | sed "s/@.*//" | sort -u >imports
	[ -s imports ] && grep -qx mmap imports || { echo "no imports read"; cat imports; exit 1; }
	# the first column of the table after the "imports" marker: backquoted names
	awk "/<!-- imports:/ { on = 1; next } on && /^\\|/ { split(\$0, c, \"|\"); print c[2] } on && /^\$/ && seen { exit } on && /^\\|/ { seen = 1 }" "$DOC" |
		grep -o "\`[A-Za-z_][A-Za-z_0-9]*\`" | tr -d "\`" | sort -u >allowed
	[ "$(wc -l <allowed)" -gt 20 ] || { echo "could not read the table"; cat allowed; exit 1; }
	comm -23 imports allowed >extra
	[ ! -s extra ] || { echo "imported but not audited in docs/internals-heap.md:"; cat extra; exit 1; }
'
expect "libkiln-heap.so imports nothing from the deny-list" '
	nm -D --undefined-only "$LIB" | awk "{print \$NF}" | sed "s/@.*//" >imports
	deny="^(pthread_getattr_np|pthread_attr_setstack.*|pthread_mutex_.*|pthread_rwlock_.*|pthread_cond_.*|pthread_self|malloc|calloc|realloc|free|memalign|posix_memalign|aligned_alloc|valloc|pvalloc|reallocarray|fopen|fopen64|fclose|fread|fgets|getline|printf|fprintf|snprintf|vsnprintf|sprintf|dprintf|puts|fputs|fwrite|perror|strdup|strndup|asprintf|dlopen|dladdr|dlinfo|backtrace|backtrace_symbols|getpwnam|getpwuid|getaddrinfo|setenv|putenv|unsetenv|localtime|localtime_r|strftime|mktime|setlocale|qsort|opendir|readdir|closedir|scandir|realpath|atexit|__cxa_atexit|exit)\$"
	if grep -E "$deny" imports; then echo "on the deny-list (see docs/internals-heap.md)"; exit 1; fi
'
expect "kiln heap on a Rust program (rg) returns, with its output and exit code" '
	command -v rg >/dev/null || { echo "rg (ripgrep) is missing: scripts/deps.sh --test installs it"; exit 1; }
	rg --version >want; echo $? >>want
	timeout 60 "$KILN" heap -q -o rg.prof -- rg --version >got; echo $? >>got
	cmp want got || { diff want got; exit 1; }
	mkdir tree && for i in $(seq 40); do printf "alpha %s\nbeta\nkiln %s\n" $i $i >tree/f$i.txt; done
	(cd tree && rg -n --sort path kiln) >want2; echo $? >>want2
	(cd tree && timeout 60 "$KILN" heap -q -o ../rg2.prof -- rg -n --sort path kiln) >got2; echo $? >>got2
	cmp want2 got2 || { diff want2 got2; exit 1; }
	"$KILN" heap report rg2.prof >rep && grep -q "^allocations   [1-9]" rep || { cat rep; exit 1; }
'
expect "threads on a supplied, a sized and a default stack: every stack walked to its root" '
	"$KILN" heap -q -o t.prof -- "$WORKLOADS/heap_thread_stacks" >out && grep -qx "3 threads" out || exit 1
	"$KILN" heap report t.prof --folded --value alloc_count >f || exit 1
	grep -q "start_thread;thread_main;mid;leaf 3\$" f || { cat f; exit 1; }
	# and no frame of the library under the threads
	! grep -q "thread_start\|libkiln-heap" f || { cat f; exit 1; }
'
if command -v strace >/dev/null; then
expect "a new thread does not read /proc/self/maps (only the main thread does, once)" '
	# (LeakSanitizer cannot run under ptrace: off for a sanitized kiln)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e trace=openat -o st.txt "$KILN" heap -q -o t.prof -- "$WORKLOADS/heap_thread_stacks" 20 >out || exit 1
	grep -qx "23 threads" out && n=$(grep -c "/proc/self/maps" st.txt) && [ "$n" = 1 ] || { echo "maps read $n times"; exit 1; }
'
else
	skip "a new thread does not read /proc/self/maps" "strace is not installed (package strace)"
fi
finish
