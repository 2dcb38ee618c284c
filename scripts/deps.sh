#!/usr/bin/env bash
# deps.sh: install the Debian packages kiln needs to build and test, when missing.
# Quiet and quick when everything is present; called by the Makefile.
set -eu
need_pkgs=()
# pkg-config name -> Debian package
check_pc() { pkg-config --exists "$1" 2>/dev/null || need_pkgs+=("$2"); }
check_bin() { command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2"); }
check_file() { [ -e "$1" ] || need_pkgs+=("$2"); }

check_bin pkg-config pkg-config
check_bin gcc gcc
check_bin make make
check_pc libdw libdw-dev
check_pc libelf libelf-dev
check_pc libzstd libzstd-dev
check_pc zlib zlib1g-dev
check_pc jansson libjansson-dev
check_pc cmocka libcmocka-dev
check_file /usr/include/libiberty/demangle.h libiberty-dev
check_pc libbpf libbpf-dev          # BPF: record's Python frames, latency's in-kernel aggregation
check_bin clang clang               # compiles src/lib/*/*.bpf.c
check_bin bpftool bpftool
check_pc libprotobuf-c libprotobuf-c-dev   # pprof (kiln export -f pprof, reading pprof)
check_bin protoc-c protobuf-c-compiler
check_pc sqlite3 libsqlite3-dev             # the local store (kiln agent --store, kiln query)
# libcurl and libmicrohttpd: their headers; the libraries (libcurl4, libmicrohttpd12, which
# the -dev packages bring) are loaded with dlopen when first used (src/lib/util/netlibs.c)
check_pc libcurl libcurl4-openssl-dev      # the clickhouse:// and pyroscope:// sinks (HTTP)
check_bin pandoc pandoc                      # manual pages (make man, make install)
check_pc libmicrohttpd libmicrohttpd-dev     # kiln serve
if [ "${1:-}" = "--test" ]; then
  # tools the tests and benchmarks compare against or use
  check_bin xmllint libxml2-utils
  check_bin perf linux-perf
  check_bin hyperfine hyperfine
  check_bin heaptrack heaptrack
  check_bin gzip gzip
  check_bin zstd zstd
  check_bin python3 python3
  check_bin sqlite3 sqlite3
  check_bin g++ g++          # kiln heap: C++ operator new/delete test
  check_bin perl perl
  check_bin node nodejs
  check_file /usr/share/nodejs/jsdom/package.json node-jsdom
  # the symbols tests: debug files, MiniDebugInfo, libc's symbols for unwinding tests
  check_bin objcopy binutils
  check_bin xz xz-utils
  check_file /usr/share/doc/libc6-dbg libc6-dbg
  # t1101 real programs under kiln record and kiln heap; t1103 checks with strace
  check_bin rg ripgrep
  check_bin git git
  check_bin go golang-go
  check_bin strace strace
  # bench/latency.sh: bcc's funclatency, and kernel headers for it to compile with
  check_bin funclatency-bpfcc bpfcc-tools
  check_file /usr/share/doc/linux-headers-amd64 linux-headers-amd64
  check_bin setpriv util-linux  # t1802: kiln latency run as another user
  # formats: go tool pprof and Go programs, npm checkers (tests/npm), the Debian package
  check_bin npm npm
  check_bin dpkg-buildpackage dpkg-dev
  check_bin dh debhelper
  check_bin lintian lintian
  check_bin man man-db
  check_file /usr/share/bash-completion/bash_completion bash-completion
  check_bin chromium chromium  # kiln serve's page in a headless browser (t2302, puppeteer-core)
  check_bin curl curl          # kiln serve's endpoints (t23xx)
  # t22xx, bench/fleet.sh: a real ClickHouse server (each test starts its own; the package's
  # service is not started: see policy-rc.d below)
  check_bin clickhouse-server clickhouse-server
  check_bin clickhouse-client clickhouse-client
  # make fuzz: clang and its libFuzzer runtime
  check_file /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a libclang-rt-14-dev
fi
[ ${#need_pkgs[@]} -eq 0 ] && exit 0
echo "deps: installing ${need_pkgs[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Packages with a service (clickhouse-server) must not start it, nor hang waiting for
# systemd on a machine without it: invoke-rc.d asks policy-rc.d, and 101 means "don't".
# The file is ours only when we made it, and removed after.
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=""
if [ ! -e "$POLICY" ] && [ "$(id -u)" -eq 0 ]; then
  printf '#!/bin/sh\nexit 101\n' >"$POLICY" && chmod 755 "$POLICY" && OWN_POLICY=1
  trap '[ -n "$OWN_POLICY" ] && rm -f "$POLICY"' EXIT
fi
$SUDO apt-get update -qq >&2 || true
$SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2 || {
  echo "deps: could not install ${need_pkgs[*]}; install them with apt-get and retry" >&2
  exit 1
}
