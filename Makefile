# memguard: PAM module, allocation shim and admin CLI.
VERSION    := 0.1.0

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DOCDIR     ?= $(PREFIX)/share/doc/memguard
SYSCONFDIR ?= /etc
# memguardctl top draws with ncurses.
CURSES_LIBS ?= $(shell pkg-config --libs ncurses 2>/dev/null || echo -lncurses)
PAMDIR     ?= $(shell pkg-config --variable=libdir pam 2>/dev/null || echo /lib)/security
# The PAM stacks that may load the module: uninstall looks there first.
PAMCONFDIR ?= $(DESTDIR)$(SYSCONFDIR)/pam.d

CC         ?= cc
CFLAGS     ?= -O2 -g
BUILD      := build

# CI gets -Werror; a user's newer compiler does not break their build.
ifneq ($(CI),)
WERROR     ?= 1
endif

MG_CFLAGS  := -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -fvisibility=hidden -fPIC \
              -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DMG_SYSCONFDIR='"$(SYSCONFDIR)"' \
              -DMG_VERSION='"$(VERSION)"' -DMG_PRELOAD_PATH='"$(LIBDIR)/libmemguard-preload.so"' -Ilib
ifeq ($(WERROR),1)
MG_CFLAGS  += -Werror
endif
# The allocation shim gets UBSan only: ASan brings a malloc of its own.
PRELOAD_CFLAGS := $(filter-out -fvisibility=hidden,$(MG_CFLAGS)) -fvisibility=hidden -ftls-model=initial-exec
ifeq ($(SANITIZE),1)
BUILD      := build/san
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
UBSAN_FLAGS := -fsanitize=undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
PRELOAD_CFLAGS += $(UBSAN_FLAGS)
MG_CFLAGS  += $(SAN_FLAGS)
LDFLAGS    += $(SAN_FLAGS)
endif

LIB_SRC    := $(wildcard lib/*.c)
# memguardctl trace checks its options with the shim's own parser.
CLI_SRC    := $(wildcard cli/*.c) preload/settings.c
PRELOAD_SRC := $(wildcard preload/*.c) lib/size.c
PAM_SRC    := $(wildcard pam/*.c)
PAM_OBJ    := $(PAM_SRC:%.c=$(BUILD)/obj/%.o)
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Programs the integration tests run: tests/tools/NAME.c -> $(BUILD)/tests/tools/NAME
TOOL_SRC   := $(wildcard tests/tools/*.c tests/pam/*.c)
TOOL_BIN   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TOOL_SRC))

.PHONY: all deps demo check fuzz bench install uninstall deb clean
.DEFAULT_GOAL := all

PRELOAD_SO := $(if $(wildcard preload/*.c),$(BUILD)/libmemguard-preload.so)

all: $(BUILD)/memguardctl $(BUILD)/pam_memguard.so $(PRELOAD_SO)

$(BUILD)/obj/%.o: %.c $(wildcard lib/*.h cli/*.h pam/*.h preload/settings.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(MG_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libmemguard.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# Only memguardctl links libdw (lib/symbolizer.c): the module and the shim
# are loaded into other programs and stay small.
$(BUILD)/memguardctl: $(CLI_OBJ) $(BUILD)/libmemguard.a
	$(CC) $(MG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ -ldw -ldl -lcap-ng -pthread $(CURSES_LIBS) $(LDLIBS)

# Only pam_sm_* leave the module: the version script and -fvisibility=hidden.
# Neither it nor memguardctl links libsystemd: lib/sdbus.c loads it when a
# systemd backend runs, so logins on the cgroupfs backend do not map it.
$(BUILD)/pam_memguard.so: $(PAM_OBJ) $(BUILD)/libmemguard.a pam/pam_memguard.map
	$(CC) $(MG_CFLAGS) $(CFLAGS) $(LDFLAGS) -shared -Wl,--version-script=pam/pam_memguard.map \
		-Wl,-z,defs -o $@ $(PAM_OBJ) $(BUILD)/libmemguard.a -lpam -lcap-ng -ldl $(LDLIBS)

$(BUILD)/preload-obj/%.o: %.c $(wildcard preload/*.h lib/size.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PRELOAD_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libmemguard-preload.so: $(PRELOAD_SRC:%.c=$(BUILD)/preload-obj/%.o) preload/preload.map
	$(CC) $(PRELOAD_CFLAGS) $(CFLAGS) $(filter-out $(SAN_FLAGS),$(LDFLAGS)) $(if $(SANITIZE),$(UBSAN_FLAGS)) \
		-shared -Wl,--version-script=preload/preload.map -o $@ \
		$(PRELOAD_SRC:%.c=$(BUILD)/preload-obj/%.o) -ldl $(LDLIBS)

# Programs run under the allocation shim: no ASan, whose malloc would win
# over the shim's (UBSan only, as for the shim itself). Some compile shim
# sources in: they depend on them.
$(BUILD)/tests/tools/preload_%: tests/tools/preload_%.c $(wildcard preload/*.c preload/*.h)
	@mkdir -p $(@D)
	$(CC) $(PRELOAD_CFLAGS) $(CFLAGS) $(filter-out $(SAN_FLAGS),$(LDFLAGS)) $(if $(SANITIZE),$(UBSAN_FLAGS)) \
		-o $@ $< -lpthread $(LDLIBS)

# A fixture of the kernel's process exit, not code under test: never a
# sanitizer build (LeakSanitizer's check at exit starts a process of its own).
$(BUILD)/tests/tools/lingering: tests/tools/lingering.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< -lpthread

$(BUILD)/tests/tools/% $(BUILD)/tests/pam/%: tests/*/%.c
	@mkdir -p $(@D)
	$(CC) $(MG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -lpam $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmemguard.a
	@mkdir -p $(@D)
	$(CC) $(MG_CFLAGS) -Wno-missing-field-initializers $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

deps:
	@sh build-aux/deps.sh

demo: deps all $(TOOL_BIN)
	@sh build-aux/demo.sh $(BUILD)

# Every stage prints one line per test; tests/run-all adds them up and
# ends with the one summary line.
check: deps all $(PRELOAD_SO) $(UNIT_BIN) $(TOOL_BIN)
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) sh tests/run-all

# One stage alone: make check-unit, check-cli, check-pam, check-preload,
# check-clients, check-fuzz, check-guest.
check-%: all $(PRELOAD_SO) $(UNIT_BIN) $(TOOL_BIN)
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) STAGES=$* sh tests/run-all

FUZZ_SECONDS ?= 60
fuzz:
	@BUILD=$(BUILD) sh fuzz/run.sh $(FUZZ_SECONDS)

bench: deps all
	@sh bench/policy-bench.sh $(BUILD)
	@echo
	@sh bench/pam-bench.sh $(BUILD)
	@echo
	@sh bench/preload-bench.sh $(BUILD)
	@echo
	@sh bench/trace-bench.sh $(BUILD)
	@echo
	@sh bench/systemd-bench.sh $(BUILD)
	@echo
	@sh bench/oom-report-bench.sh $(BUILD)
	@echo
	@sh bench/live-bench.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSCONFDIR)/security/memguard.d
	install -d $(DESTDIR)$(PAMDIR)
	install -m 0755 $(BUILD)/memguardctl $(DESTDIR)$(SBINDIR)/memguardctl
	install -m 0644 $(BUILD)/pam_memguard.so $(DESTDIR)$(PAMDIR)/pam_memguard.so
	install -d $(DESTDIR)$(LIBDIR)
	install -m 0755 $(BUILD)/libmemguard-preload.so $(DESTDIR)$(LIBDIR)/libmemguard-preload.so
	install -m 0644 man/pam_memguard.8 $(DESTDIR)$(MANDIR)/man8/pam_memguard.8
	install -m 0644 man/memguard.conf.5 $(DESTDIR)$(MANDIR)/man5/memguard.conf.5
	install -m 0644 man/memguardctl.8 $(DESTDIR)$(MANDIR)/man8/memguardctl.8
	install -m 0644 man/libmemguard-preload.8 $(DESTDIR)$(MANDIR)/man8/libmemguard-preload.8
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 etc/bash-completion/memguardctl $(DESTDIR)$(BASHCOMPDIR)/memguardctl
	install -m 0644 etc/examples/*.conf $(DESTDIR)$(DOCDIR)/examples/
	@# Never overwrite an admin's policy.
	test -e $(DESTDIR)$(SYSCONFDIR)/security/memguard.conf || \
		install -m 0644 etc/memguard.conf $(DESTDIR)$(SYSCONFDIR)/security/memguard.conf

# Removing a module that a PAM stack still loads breaks every login
# through that stack ("Module is unknown"): name those files and stop,
# unless FORCE=1.
uninstall:
	@loaders=$$(grep -lE '^[^#]*pam_memguard' $(PAMCONFDIR)/* 2>/dev/null); \
	if [ -n "$$loaders" ] && [ "$(FORCE)" != 1 ]; then \
		echo "uninstall: refusing to remove pam_memguard.so: these PAM files still load it:" >&2; \
		for f in $$loaders; do echo "  $$f" >&2; done; \
		echo "uninstall: remove those lines first, or run 'make uninstall FORCE=1'" >&2; \
		exit 1; \
	fi
	rm -f $(DESTDIR)$(SBINDIR)/memguardctl $(DESTDIR)$(MANDIR)/man5/memguard.conf.5 \
		$(DESTDIR)$(MANDIR)/man8/memguardctl.8 $(DESTDIR)$(MANDIR)/man8/pam_memguard.8 \
		$(DESTDIR)$(MANDIR)/man8/libmemguard-preload.8 \
		$(DESTDIR)$(PAMDIR)/pam_memguard.so $(DESTDIR)$(LIBDIR)/libmemguard-preload.so \
		$(DESTDIR)$(BASHCOMPDIR)/memguardctl
	rm -rf $(DESTDIR)$(DOCDIR)/examples
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/security/memguard.conf and memguard.d/: they are the admin's"

# Debian packages into build/deb/, built from a copy of the sources there so
# that the checkout stays clean (dpkg-buildpackage writes to the parent).
deb:
	rm -rf build/deb
	mkdir -p build/deb/memguard-$(VERSION)
	tar -cf - --exclude=./build --exclude=./.git . | tar -xf - -C build/deb/memguard-$(VERSION)
	cd build/deb/memguard-$(VERSION) && env -u SANITIZE -u BUILD -u MAKEFLAGS -u MFLAGS dpkg-buildpackage -us -uc -b
	@ls build/deb/*.deb

clean:
	rm -rf build
