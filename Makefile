# kiln: plain GNU make. `make`, `make test`, `make demo`, `make install PREFIX=...`,
# `make SAN=1 test` (AddressSanitizer + UBSan build in build-san/).
#
# Sources are found by wildcard: a new file under src/lib, src/cmd, src/preload,
# tests/unit (test_*.c) or tests/workloads needs no Makefile change.

PREFIX  ?= /usr/local
CC      ?= gcc
SAN     ?=
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(SAN),1)
BUILD   ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     ?= -O1
else
BUILD   ?= build
SANFLAGS =
OPT     ?= -O2
endif

PKGS := libdw libelf libzstd zlib jansson libbpf libprotobuf-c sqlite3
# Headers only: src/lib/util/netlibs.c loads these with dlopen when first used, so that
# their dependencies (TLS, Kerberos, LDAP...) do not slow down every command's start.
DL_PKGS := libcurl        # the clickhouse:// and pyroscope:// stores
DL_PKGS += libmicrohttpd  # kiln serve
# Deferred (=): pkg-config runs when a recipe needs it, after scripts/deps.sh installed it.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(DL_PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -liberty
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wvla -Wpointer-arith -Wno-unused-parameter \
        -Wundef -Wcast-align -Wwrite-strings
BASE_CFLAGS = -std=gnu11 $(OPT) -g $(WARN) -D_GNU_SOURCE -DKILN_VERSION='"$(VERSION)"' \
        -Isrc -Isrc/lib -I$(BUILD)/gen -include src/banned.h -fno-strict-aliasing $(SANFLAGS)
ALL_CFLAGS = $(BASE_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

LIB_SRC     := $(sort $(filter-out %.bpf.c,$(shell find src/lib -name '*.c')))
# BPF programs (src/lib/*/NAME.bpf.c): compiled for the kernel with clang, embedded in
# kiln through the skeleton header bpftool generates ($(BUILD)/gen/NAME.skel.h)
BPF_SRC     := $(sort $(shell find src/lib -name '*.bpf.c'))
BPF_SKEL    := $(foreach f,$(BPF_SRC),$(BUILD)/gen/$(notdir $(f:.bpf.c=.skel.h)))
CMD_SRC     := src/main.c $(sort $(wildcard src/cmd/*.c))
PRELOAD_SRC := $(sort $(wildcard src/preload/*.c))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
WORKLOAD_SRC := $(sort $(wildcard tests/workloads/*.c))
TOOL_SRC    := $(sort $(wildcard tests/tools/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
# C generated from .proto files by protobuf-c-compiler (src/lib/formats/profile.proto)
PROTO_SRC := $(sort $(shell find src/lib -name '*.proto'))
PROTO_GEN := $(PROTO_SRC:src/lib/%.proto=$(BUILD)/gen/%.pb-c.c)
PROTO_OBJ := $(PROTO_GEN:.c=.o)
LIB_OBJ  += $(PROTO_OBJ)
# Rules that compile the library sources directly (make fuzz) need the generated C too.
LIB_SRC  += $(PROTO_GEN)
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
WORKLOADS := $(WORKLOAD_SRC:tests/workloads/%.c=$(BUILD)/workloads/%)
TOOLS    := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)
LIBKILN  := $(BUILD)/libkiln.a
KILN     := $(BUILD)/kiln
PRELOAD  := $(if $(PRELOAD_SRC),$(BUILD)/libkiln-heap.so)
DEPS_OK  := $(BUILD)/.deps-ok

.PHONY: all deps test unit e2e demo install uninstall man deb clean bench san-test tools
all: $(KILN) $(PRELOAD) $(WORKLOADS) $(TOOLS)

$(DEPS_OK): scripts/deps.sh
	@mkdir -p $(@D)
	@[ -n "$(NO_DEPS)" ] || scripts/deps.sh --test
	@touch $@
deps: $(DEPS_OK)

$(BUILD)/%.o: %.c | $(DEPS_OK) $(BPF_SKEL)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/%.skel.h: $(BUILD)/gen/%.bpf.o
	bpftool gen skeleton $< name $* > $@.tmp && mv $@.tmp $@
# kept: the objects' dependency files name the skeletons
.SECONDARY: $(BPF_SKEL) $(BPF_SKEL:.skel.h=.bpf.o)
vpath %.bpf.c $(sort $(dir $(BPF_SRC)))
$(BUILD)/gen/%.bpf.o: %.bpf.c | $(DEPS_OK)
	@mkdir -p $(@D)
	clang -target bpf -O2 -g -D__TARGET_ARCH_x86 -Isrc/lib -I/usr/include/x86_64-linux-gnu -Wall -Werror -c -o $@ $<
# Python frames (kiln record): the program shares its record layout with pyframes.c
$(BUILD)/gen/kiln_py.bpf.o: src/lib/python/py_bpf_abi.h
# kiln lock -p: the program shares its map layouts with lock_attach.c
$(BUILD)/gen/lock_bpf.bpf.o: src/lib/lock/lock_bpf_abi.h
$(BUILD)/src/lib/collect/pyframes.o: ALL_CFLAGS += -Wno-cast-align
# protobuf-c-compiler output: generated at build time, compiled without our warning set
# (it is not our code); every library object waits for the headers.
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: src/lib/%.proto | $(DEPS_OK)
	@mkdir -p $(@D)
	protoc-c --proto_path=$(<D) --c_out=$(@D) $<
$(PROTO_OBJ): %.o: %.c
	$(CC) -std=gnu11 $(OPT) -g -Wall -Werror $(SANFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<
$(filter-out $(PROTO_OBJ),$(LIB_OBJ)) $(CMD_OBJ): | $(PROTO_GEN)

$(LIBKILN): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(KILN): $(CMD_OBJ) $(LIBKILN)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(LIBKILN) $(PKG_LIBS) -lm -lpthread

# The LD_PRELOAD heap library: never sanitized (it runs inside other programs),
# exports only the interposed symbols (see src/preload/exports.map).
PRELOAD_CFLAGS = -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -Isrc -include src/banned.h \
        -fPIC -fvisibility=hidden -ftls-model=initial-exec -fno-omit-frame-pointer
$(BUILD)/libkiln-heap.so: $(PRELOAD_SRC) $(wildcard src/preload/*.h src/preload/exports.map) src/lib/heap/heap_proto.h src/lib/python/py_decode.h | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(PRELOAD_CFLAGS) -shared -o $@ $(PRELOAD_SRC) \
	  $(if $(wildcard src/preload/exports.map),-Wl$(comma)--version-script=src/preload/exports.map) -ldl -lpthread
comma := ,

# Workloads: small programs with a known profile. The first line of each may say
#   /* build: FLAGS */
# to choose its compiler flags (default: -O1 -g -fno-omit-frame-pointer).
$(BUILD)/workloads/%: tests/workloads/%.c | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $$(sed -n '1s|^/\* build: \(.*\) \*/.*|\1|p' $< | grep . || echo -O1 -g -fno-omit-frame-pointer) \
	  -o $@ $< -lm -lpthread

$(BUILD)/tests/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIBKILN)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIBKILN) $(PKG_LIBS) $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka) $(ALL_LDFLAGS) -lm -lpthread

unit: $(UNIT_BIN)

# Test programs linked to the library (tests/tools/NAME.c): the e2e tests and benches run them.
$(BUILD)/tests/tools/%: tests/tools/%.c $(LIBKILN)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBKILN) $(PKG_LIBS) $(ALL_LDFLAGS) -lm -lpthread
tools: $(TOOLS)
e2e: all

# The README's test command. Unit tests, then end-to-end tests of the real binary;
# prints one closing line "N passed, N failed, N skipped".
test: all $(UNIT_BIN) $(TOOLS)
	@BUILD=$(BUILD) SAN=$(SAN) tests/run.sh

# The same suite under AddressSanitizer and UBSan.
san-test:
	$(MAKE) SAN=1 test

demo: all
	@BUILD=$(BUILD) scripts/demo.sh

bench: all
	@BUILD=$(BUILD) bench/run.sh

# Manual pages from docs/ (pandoc): kiln.1 from docs/kiln.md, kiln-CMD.1 from docs/kiln-CMD.md,
# the file formats in section 5.
MAN1_SRC := $(sort $(wildcard docs/kiln-*.md))
MAN1 := $(BUILD)/man/kiln.1 $(MAN1_SRC:docs/%.md=$(BUILD)/man/%.1)
MAN5 := $(patsubst docs/%.md,$(BUILD)/man/kiln-%.5,$(wildcard docs/profile-format.md docs/formats.md))
MANS := $(MAN1) $(MAN5)
# (the page's first heading becomes pandoc's title; .TH gets the page name instead)
# (definition_lists: the docs' "`-o FILE`" then ":   text" option lists become tagged paragraphs)
PANDOC_MAN = pandoc -s -f gfm+definition_lists -t man --shift-heading-level-by=-1 -M section=$(2) \
	-M header="kiln manual" -M footer="kiln $(VERSION)" -M date= $(3) | \
	sed 's/^\.TH "[^"]*"/.TH "$(shell echo $(1) | tr a-z A-Z)"/'
# whatis wants the page's own name in NAME: "kiln record - ..." becomes "kiln-record - ..."; and
# plain text there (mandb and lexgrog keep font changes such as \f[V] as "f[V]")
$(BUILD)/man/kiln-%.1: docs/kiln-%.md Makefile
	@mkdir -p $(@D)
	$(call PANDOC_MAN,kiln-$*,1,$<) | sed '/^\.SH NAME/,/^\.SH /{s/^kiln $* \\\?-/kiln-$* \\-/;s/\\f\[[A-Z]*\]//g}' >$@.tmp && mv $@.tmp $@
$(BUILD)/man/kiln.1: docs/kiln.md Makefile
	@mkdir -p $(@D)
	$(call PANDOC_MAN,kiln,1,$<) >$@.tmp && mv $@.tmp $@
# the format pages have no NAME section of their own: it is added after .TH
WHATIS_profile-format = the kiln profile file (kiln.prof)
WHATIS_formats = the profile formats of other tools that kiln reads and writes
$(BUILD)/man/kiln-%.5: docs/%.md Makefile
	@mkdir -p $(@D)
	$(call PANDOC_MAN,kiln-$*,5,$<) | sed '/^\.TH /a .SH NAME\nkiln\\-$* \\- $(WHATIS_$*)' >$@.tmp && mv $@.tmp $@
man: $(MANS)

# make install [PREFIX=/usr/local] [DESTDIR=]; make uninstall removes what install put there.
BINDIR  = $(DESTDIR)$(PREFIX)/bin
KLIBDIR = $(DESTDIR)$(PREFIX)/lib/kiln
DOCDIR  = $(DESTDIR)$(PREFIX)/share/doc/kiln
MANDIR  = $(DESTDIR)$(PREFIX)/share/man
COMPDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
install: $(KILN) $(PRELOAD) $(MANS)
	install -d $(BINDIR) $(KLIBDIR) $(DOCDIR)/docs $(MANDIR)/man1 $(MANDIR)/man5 $(COMPDIR)
	install -m 755 $(KILN) $(BINDIR)/kiln
	$(if $(PRELOAD),install -m 644 $(PRELOAD) $(KLIBDIR)/)
	install -m 644 README.md $(DOCDIR)/
	install -m 644 docs/*.md $(DOCDIR)/docs/
	install -m 644 $(MAN1) $(MANDIR)/man1/
	$(if $(MAN5),install -m 644 $(MAN5) $(MANDIR)/man5/)
	install -m 644 completion/kiln.bash $(COMPDIR)/kiln

uninstall:
	rm -f $(BINDIR)/kiln $(COMPDIR)/kiln
	rm -f $(if $(PRELOAD),$(KLIBDIR)/$(notdir $(PRELOAD)))
	rm -f $(addprefix $(MANDIR)/man1/,$(notdir $(MAN1))) $(addprefix $(MANDIR)/man5/,$(notdir $(MAN5)))
	rm -f $(DOCDIR)/README.md $(addprefix $(DOCDIR)/docs/,$(notdir $(wildcard docs/*.md)))
	-rmdir $(KLIBDIR) $(DOCDIR)/docs $(DOCDIR) 2>/dev/null

# A Debian package (debian/): built from a copy of the sources in $(BUILD)/deb, lintian run.
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
deb:
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/kiln-$(VERSION)
	git ls-files -z | grep -zv '^tests/' | xargs -0 cp --parents -t $(BUILD)/deb/kiln-$(VERSION)
	cd $(BUILD)/deb/kiln-$(VERSION) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES dpkg-buildpackage -us -uc -b
	@ls $(BUILD)/deb/*.deb
	-lintian --no-tag-display-limit $(BUILD)/deb/kiln_$(DEB_VERSION)_*.deb

# Fuzzing (docs/internals-fuzzing.md): each tests/fuzz/fuzz_NAME.c is a libFuzzer harness
# with a seed corpus tests/fuzz/corpus/NAME/. `make fuzz` builds them with clang, ASan and
# UBSan, against the library compiled the same way in build-fuzz/; `make fuzz-run` runs
# each for FUZZ_SECONDS on its corpus and fails on any crash, leak or undefined behaviour.
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 10
FUZZ_SEED    ?=
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=gnu11 -O1 -g $(WARN) -Wno-cast-align -D_GNU_SOURCE -DKILN_VERSION='"$(VERSION)"' -Isrc -Isrc/lib -I$(BUILD)/gen \
        -include src/banned.h -fno-strict-aliasing $(FUZZ_SAN) $(PKG_CFLAGS)
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB     := $(FUZZ_BUILD)/libkiln.a
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)

$(FUZZ_BUILD)/src/%.o: src/%.c | $(DEPS_OK) $(BPF_SKEL) $(PROTO_GEN)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
# generated C (protobuf-c): not our code, so not our warning set
$(FUZZ_BUILD)/$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(PKG_LIBS) -lm -lpthread

.PHONY: fuzz fuzz-run check-recursion
fuzz: $(FUZZ_BIN)

fuzz-run: fuzz
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SEED=$(FUZZ_SEED) tests/fuzz/run.sh $(FUZZ_SECONDS)

# No function may call itself, directly or through others (scripts/check-recursion.py):
# gcc writes each file's call graph (-fcallgraph-info) into build/callgraph/.
CG_SRC := $(LIB_SRC) $(CMD_SRC) $(PRELOAD_SRC)
check-recursion: | $(DEPS_OK)
	@rm -rf $(BUILD)/callgraph && mkdir -p $(BUILD)/callgraph
	@for f in $(CG_SRC); do \
	  o=$(BUILD)/callgraph/$$(echo $$f | tr / _); \
	  $(CC) $(BASE_CFLAGS) $(PKG_CFLAGS) -O0 -fcallgraph-info -c -o $$o.o -dumpbase $$o $$f || exit 1; \
	done
	@scripts/check-recursion.py $(BUILD)/callgraph


clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(FUZZ_LIB_OBJ:.o=.d)
