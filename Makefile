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

PKGS := libdw libelf libzstd zlib jansson
# Deferred (=): pkg-config runs when a recipe needs it, after scripts/deps.sh installed it.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -liberty
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wvla -Wpointer-arith -Wno-unused-parameter \
        -Wundef -Wcast-align -Wwrite-strings
BASE_CFLAGS = -std=gnu11 $(OPT) -g $(WARN) -D_GNU_SOURCE -DKILN_VERSION='"$(VERSION)"' \
        -Isrc -Isrc/lib -include src/banned.h -fno-strict-aliasing $(SANFLAGS)
ALL_CFLAGS = $(BASE_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

LIB_SRC     := $(sort $(shell find src/lib -name '*.c'))
CMD_SRC     := src/main.c $(sort $(wildcard src/cmd/*.c))
PRELOAD_SRC := $(sort $(wildcard src/preload/*.c))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
WORKLOAD_SRC := $(sort $(wildcard tests/workloads/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
WORKLOADS := $(WORKLOAD_SRC:tests/workloads/%.c=$(BUILD)/workloads/%)
LIBKILN  := $(BUILD)/libkiln.a
KILN     := $(BUILD)/kiln
PRELOAD  := $(if $(PRELOAD_SRC),$(BUILD)/libkiln-heap.so)
DEPS_OK  := $(BUILD)/.deps-ok

.PHONY: all deps test unit e2e demo install clean bench san-test
all: $(KILN) $(PRELOAD) $(WORKLOADS)

$(DEPS_OK): scripts/deps.sh
	@mkdir -p $(@D)
	@scripts/deps.sh --test
	@touch $@
deps: $(DEPS_OK)

$(BUILD)/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBKILN): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(KILN): $(CMD_OBJ) $(LIBKILN)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(LIBKILN) $(PKG_LIBS) -lm -lpthread

# The LD_PRELOAD heap library: never sanitized (it runs inside other programs),
# exports only the interposed symbols (see src/preload/exports.map).
PRELOAD_CFLAGS = -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -Isrc -include src/banned.h \
        -fPIC -fvisibility=hidden -ftls-model=initial-exec -fno-omit-frame-pointer
$(BUILD)/libkiln-heap.so: $(PRELOAD_SRC) $(wildcard src/preload/*.h src/preload/exports.map) | $(DEPS_OK)
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
e2e: all

# The README's test command. Unit tests, then end-to-end tests of the real binary;
# prints one closing line "N passed, N failed, N skipped".
test: all $(UNIT_BIN)
	@BUILD=$(BUILD) SAN=$(SAN) tests/run.sh

# The same suite under AddressSanitizer and UBSan.
san-test:
	$(MAKE) SAN=1 test

demo: all
	@BUILD=$(BUILD) scripts/demo.sh

bench: all
	@BUILD=$(BUILD) bench/run.sh

# Fuzzing (docs/internals-fuzzing.md): each tests/fuzz/fuzz_NAME.c is a libFuzzer harness
# with a seed corpus tests/fuzz/corpus/NAME/. `make fuzz` builds them with clang, ASan and
# UBSan, against the library compiled the same way in build-fuzz/; `make fuzz-run` runs
# each for FUZZ_SECONDS on its corpus and fails on any crash, leak or undefined behaviour.
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 10
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=gnu11 -O1 -g $(WARN) -Wno-cast-align -D_GNU_SOURCE -DKILN_VERSION='"$(VERSION)"' -Isrc -Isrc/lib \
        -include src/banned.h -fno-strict-aliasing $(FUZZ_SAN) $(PKG_CFLAGS)
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB     := $(FUZZ_BUILD)/libkiln.a
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)

$(FUZZ_BUILD)/src/%.o: src/%.c | $(DEPS_OK)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(PKG_LIBS) -lm -lpthread

.PHONY: fuzz fuzz-run check-recursion
fuzz: $(FUZZ_BIN)

fuzz-run: fuzz
	@FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run.sh $(FUZZ_SECONDS)

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

install: $(KILN) $(PRELOAD)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/kiln $(DESTDIR)$(PREFIX)/share/doc/kiln
	install -m 755 $(KILN) $(DESTDIR)$(PREFIX)/bin/kiln
	$(if $(PRELOAD),install -m 644 $(PRELOAD) $(DESTDIR)$(PREFIX)/lib/kiln/)
	install -m 644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/kiln/

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(FUZZ_LIB_OBJ:.o=.d)
