# pgpsync -- keep OpenPGP keyrings in sync with keyservers and keydumps.
#
#   make                 build bin/pgpsync
#   make demo            a local tour on the Debian keyring (and real SKS)
#   make check           lint, unit tests, end-to-end tests, fuzz seed replay, docs
#   make lint            include layers, headers alone, shellcheck (tests/lint)
#   make check SANITIZE=address,undefined
#   make bench           benchmarks (tests/bench)
#   make fuzz            libFuzzer builds of the fuzz targets (needs clang)
#   make install PREFIX=/usr/local DESTDIR=

VERSION = 0.1.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
DESTDIR ?=
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config
PROVE ?= prove

PKGS = libcurl gpgme libgit2 jansson libcrypto
# Debian package that provides each pkg-config name, for the error message.
DEB_libcurl = libcurl4-openssl-dev
DEB_gpgme = libgpgme-dev
DEB_libgit2 = libgit2-dev
DEB_jansson = libjansson-dev
DEB_libcrypto = libssl-dev

ifeq ($(filter clean,$(MAKECMDGOALS)),)
$(foreach p,$(PKGS),$(if $(shell $(PKG_CONFIG) --exists $(p) && echo y),,\
    $(error pkg-config cannot find '$(p)': install the Debian package $(DEB_$(p)))))
endif

override CPPFLAGS += -Isrc -D_POSIX_C_SOURCE=200809L -DPGPSYNC_VERSION=\"$(VERSION)\" \
    $(shell $(PKG_CONFIG) --cflags $(PKGS))
override CFLAGS += -std=c11 -pthread -Wall -Wextra -Wshadow -Wstrict-prototypes \
    -Wmissing-prototypes -Wformat=2 -Wvla -Wno-format-nonliteral -MMD -MP
override LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS)) -pthread

ifdef DEVELOPER
override CFLAGS += -Werror
endif
ifdef SANITIZE
override CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=$(SANITIZE) -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC := $(sort $(wildcard src/util/*.c src/openpgp/*.c src/recon/*.c \
    src/net/*.c src/keyset/*.c src/cmd/*.c))
LIB_OBJ := $(LIB_SRC:.c=.o)
LIB = src/libpgpsync.a
BIN = bin/pgpsync

UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BIN := $(UNIT_SRC:.c=)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BIN := $(FUZZ_SRC:.c=)
HELPER_SRC := $(sort $(wildcard tests/hkpd/*.c tests/bench/*.c))
HELPER_BIN := $(HELPER_SRC:.c=)
E2E := $(sort $(wildcard tests/e2e/t[0-9]*.sh))

MANPAGES := $(sort $(wildcard man/*.1))

all: $(BIN)

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

$(BIN): src/pgpsync.o $(LIB)
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ src/pgpsync.o $(LIB) $(LDLIBS)

tests/unit/test-%: tests/unit/test-%.c tests/unit/tap.h $(LIB)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Fuzz targets built as plain programs that replay their seed corpus.
tests/fuzz/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/replay.c $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB) $(LDLIBS)

# test-net-client starts the stub server.
tests/unit/test-net-client: tests/hkpd/hkpd

tests/hkpd/%: tests/hkpd/%.c $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

tests/bench/%: tests/bench/%.c $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

test-progs: $(BIN) $(UNIT_BIN) $(FUZZ_BIN) $(HELPER_BIN)

check: test-progs
	$(MAKE) --no-print-directory lint
	$(PROVE) --exec '' $(UNIT_BIN) tests/fuzz/replay.sh $(E2E)
	$(MAKE) --no-print-directory check-docs

check-unit: $(UNIT_BIN) $(HELPER_BIN)
	$(PROVE) --exec '' $(UNIT_BIN)

check-e2e: test-progs
	$(PROVE) --exec '' $(E2E)

check-docs:
	@if command -v mandoc >/dev/null 2>&1; then \
	    mandoc -Tlint -W warning $(MANPAGES) || exit 1; \
	else \
	    for m in $(MANPAGES); do groff -mdoc -ww -z $$m || exit 1; done; \
	fi
	@bash -n completions/pgpsync.bash
	@echo "docs ok"

# The rules that keep the layers apart (tests/lint/layers.sh says which),
# every header compiling alone, and shellcheck on every script.
lint: check-headers
	@sh tests/lint/layers.sh
	@sh tests/lint/shellcheck.sh

check-headers:
	@for h in $$(find src -name '*.h'); do \
	    printf '#include "%s"\n' "$${h#src/}" | \
	    $(CC) $(CPPFLAGS) -std=c11 -fsyntax-only -x c - || exit 1; \
	done; echo "headers ok"

demo: $(BIN)
	sh tests/demo.sh

bench: $(BIN) $(HELPER_BIN)
	@for b in tests/bench/*.sh; do echo "== $$b"; bash $$b || exit 1; done

# The fuzzers link only the pure layers (no GPGME, git or curl code) and
# the pure key set files some targets test; tests/fuzz/stubs.c stands in
# for the key set readers keyset/index.c calls, which no target uses.
# The library is compiled once, then each target linked with it.
FUZZ_CC ?= clang
FUZZ_SRC_LIB := $(sort $(wildcard src/util/*.c src/openpgp/*.c src/recon/*.c)) \
    $(filter-out src/net/client.c,$(wildcard src/net/*.c)) \
    src/keyset/import.c src/keyset/index.c src/keyset/state.c \
    tests/fuzz/stubs.c
FUZZ_FLAGS = $(CPPFLAGS) -std=c11 -g -O1 -pthread \
    -fno-sanitize-recover=undefined
fuzz: $(FUZZ_SRC_LIB) $(FUZZ_SRC)
	@rm -rf tests/fuzz/out/obj && mkdir -p tests/fuzz/out/obj
	@for f in $(FUZZ_SRC_LIB); do \
	    $(FUZZ_CC) $(FUZZ_FLAGS) \
	        -fsanitize=fuzzer-no-link,address,undefined -c $$f \
	        -o tests/fuzz/out/obj/$$(echo $$f | tr / _).o || exit 1; \
	done
	@for f in $(FUZZ_SRC); do \
	    n=$$(basename $$f .c); \
	    $(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined \
	        -o tests/fuzz/out/$$n $$f tests/fuzz/out/obj/*.o $(LDLIBS) || \
	        exit 1; \
	    echo "built tests/fuzz/out/$$n"; \
	done

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/pgpsync
	install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 completions/pgpsync.bash $(DESTDIR)$(BASHCOMPDIR)/pgpsync
	install -m 0644 completions/_pgpsync $(DESTDIR)$(ZSHCOMPDIR)/_pgpsync
	install -m 0644 completions/pgpsync.fish $(DESTDIR)$(FISHCOMPDIR)/pgpsync.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pgpsync $(DESTDIR)$(BASHCOMPDIR)/pgpsync \
	    $(DESTDIR)$(ZSHCOMPDIR)/_pgpsync $(DESTDIR)$(FISHCOMPDIR)/pgpsync.fish
	for m in $(notdir $(MANPAGES)); do rm -f $(DESTDIR)$(MANDIR)/man1/$$m; done

dist:
	git archive --prefix=pgpsync-$(VERSION)/ -o pgpsync-$(VERSION).tar.gz HEAD

clean:
	rm -f $(LIB_OBJ) $(LIB_OBJ:.o=.d) src/pgpsync.o src/pgpsync.d $(LIB) $(BIN) \
	    $(UNIT_BIN) $(FUZZ_BIN) $(HELPER_BIN) tests/*/*.d
	rm -rf tests/fuzz/out tests/trash

.PHONY: all demo check check-unit check-e2e check-docs check-headers lint bench fuzz \
    install uninstall dist clean test-progs

-include $(LIB_OBJ:.o=.d) src/pgpsync.d
# Test programs, fuzz targets and helpers depend on the headers they
# include (their .d files come from -MMD like the library's).
-include $(UNIT_BIN:=.d) $(FUZZ_BIN:=.d) $(HELPER_BIN:=.d)
