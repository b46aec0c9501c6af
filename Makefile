# tapgate — one Makefile: make, make check, make install (DESTDIR, PREFIX).

VERSION      = 0.1
PREFIX      ?= /usr/local
SYSCONFDIR  ?= /etc
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
LIBEXECDIR  ?= $(PREFIX)/libexec
MANDIR      ?= $(PREFIX)/share/man
# Fixed in the binaries at build time: nothing at run time can move them.
POLICY_FILE ?= $(SYSCONFDIR)/tapgate/policy.conf
STATE_DIR   ?= /run/tapgate
LOG_SOCKET  ?= /dev/log
HELPER_PATH  = $(LIBEXECDIR)/tapgate/tapgate-helper

BUILD ?= build
# SAN=1 builds everything with AddressSanitizer and UBSan (unit tests use it).
SAN ?=

CC      ?= cc
NL_CFLAGS := $(shell pkg-config --cflags libnl-3.0 2>/dev/null)
# libnl-3 core only: libnl-route-3 would add a constructor that reads
# $$NLSYSCONFDIR/classid (the helper wipes the environment first anyway).
NL_LIBS   := $(shell pkg-config --libs libnl-3.0 2>/dev/null)

WARN     = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
           -Wvla -Wno-unused-parameter
HARDEN   = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE -fno-strict-aliasing
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(CFLAGS) -I$(BUILD) $(NL_CFLAGS)
LDHARDEN = -pie -Wl,-z,relro,-z,now,-z,noexecstack
ifneq ($(SAN),)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDHARDEN   += -fsanitize=address,undefined
endif

COMMON_SRC = common/addr.c common/lease.c common/escape.c common/names.c
POLICY_SRC = policy/policy.c
HELPER_SRC = helper/main.c helper/early.c helper/privdrop.c helper/confine.c helper/request.c \
             helper/tundev.c helper/netconf.c helper/leasedb.c helper/audit.c helper/reply.c \
             helper/privfiles.c helper/provision.c helper/umlnet.c helper/qemu.c
LIB_SRC    = client/libtapgate.c client/sandbox.c
CLIENT_SRC = client/tapgate.c client/check.c client/list.c client/leasefile.c client/journald.c
UNIT_TESTS = test_addr test_policy test_lease test_escape

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

HELPER  = $(BUILD)/tapgate-helper
CLIENT  = $(BUILD)/tapgate
LIBSO   = $(BUILD)/libtapgate.so.1
LIBA    = $(BUILD)/libtapgate.a
PCFILE  = $(BUILD)/tapgate.pc
UNITS   = $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))
TESTBIN = $(BUILD)/tests/probe $(BUILD)/tests/logsink $(BUILD)/tests/test_netconf \
          $(BUILD)/tests/filter_tool $(BUILD)/tests/sandbox_probe $(BUILD)/tests/leasefill

FUZZ_SECONDS ?= 60

.PHONY: bench all check check-unit check-static check-fuzz check-system demo install deps clean format selinux fuzz
all: $(HELPER) $(CLIENT) $(LIBSO) $(LIBA) $(PCFILE)

# The configuration header is rewritten only when a value changes, so that
# changing PREFIX or STATE_DIR rebuilds what depends on it and nothing else.
$(BUILD)/tg_config.h: FORCE
	@mkdir -p $(BUILD)
	@printf '%s\n' '#define TG_POLICY_FILE "$(POLICY_FILE)"' '#define TG_STATE_DIR "$(STATE_DIR)"' \
	  '#define TG_LOG_SOCKET "$(LOG_SOCKET)"' '#define TG_HELPER_PATH "$(HELPER_PATH)"' \
	  '#define TG_VERSION "$(VERSION)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:

$(BUILD)/obj/%.o: %.c $(BUILD)/tg_config.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/client/libtapgate.o $(BUILD)/obj/client/sandbox.o: ALL_CFLAGS += -fPIC

$(HELPER): $(call obj,$(HELPER_SRC) $(POLICY_SRC) $(COMMON_SRC))
	$(CC) $(LDHARDEN) -o $@ $^ $(NL_LIBS)

$(LIBSO): $(call obj,$(LIB_SRC))
	$(CC) -shared -Wl,-soname,libtapgate.so.1 -Wl,-z,relro,-z,now $(filter-out -pie,$(LDHARDEN)) -o $@ $^ -lseccomp

$(LIBA): $(call obj,$(LIB_SRC))
	$(AR) rcs $@ $^

$(CLIENT): $(call obj,$(CLIENT_SRC) $(LIB_SRC) $(POLICY_SRC) $(COMMON_SRC))
	$(CC) $(LDHARDEN) -o $@ $^ -lseccomp

$(PCFILE): client/tapgate.pc.in $(BUILD)/tg_config.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	  -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/tests/test_addr: $(call obj,tests/unit/test_addr.c $(COMMON_SRC))
$(BUILD)/tests/test_policy: $(call obj,tests/unit/test_policy.c $(POLICY_SRC) $(COMMON_SRC))
$(BUILD)/tests/test_lease: $(call obj,tests/unit/test_lease.c $(COMMON_SRC))
$(BUILD)/tests/test_escape: $(call obj,tests/unit/test_escape.c $(COMMON_SRC))
$(BUILD)/tests/test_netconf: $(call obj,tests/unit/test_netconf.c helper/netconf.c helper/tundev.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^ $(NL_LIBS)
$(BUILD)/tests/filter_tool: $(call obj,tests/unit/filter_tool.c helper/confine.c helper/early.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^ -lseccomp
$(BUILD)/tests/sandbox_probe: $(call obj,tests/sandbox_probe.c client/sandbox.c client/libtapgate.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^ -lseccomp
$(BUILD)/tests/leasefill: $(call obj,tests/leasefill.c common/lease.c common/addr.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^
$(BUILD)/tests/probe: $(call obj,tests/probe.c)
$(BUILD)/tests/logsink: $(call obj,tests/logsink.c)
$(UNITS) $(BUILD)/tests/probe $(BUILD)/tests/logsink:
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^

# Unit tests run twice: as built, and under ASan+UBSan. The system tests need
# root: they make their own namespaces, user and installation, and remove them.
check: check-unit check-static check-fuzz selinux check-system

check-unit: $(UNITS) $(BUILD)/tests/filter_tool $(BUILD)/tests/sandbox_probe
	@$(MAKE) --no-print-directory BUILD=build/san SAN=1 $(addprefix build/san/tests/,$(UNIT_TESTS))
	@sh tests/run-units.sh $(BUILD)/tests build/san/tests $(UNIT_TESTS)
	@sh tests/check-filter.sh $(BUILD)/tests/filter_tool helper/confine.list
	@$(BUILD)/tests/sandbox_probe --export-filter | diff -u client/sandbox.pfc - && \
	  echo "ok   client sandbox filter equals client/sandbox.pfc"

# Static analysis of the code that runs privileged (and what it links).
check-static: $(BUILD)/tg_config.h
	@cppcheck -q --enable=warning,portability,performance --std=c11 --error-exitcode=1 \
	  --inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE -D__x86_64__ -I$(BUILD) $(NL_CFLAGS) \
	  helper common policy && echo "cppcheck: helper, common, policy clean"

# The fuzz targets' seed corpora, replayed (make fuzz runs them for real).
check-fuzz:
	@sh tests/fuzz/run.sh replay $(BUILD)

fuzz:
	sh tests/fuzz/run.sh fuzz $(BUILD) $(FUZZ_SECONDS)

# The SELinux module, compiled with selinux-policy-dev (SELinux need not be
# enabled to build it).
selinux:
	@sh selinux/build.sh $(BUILD)/selinux

check-system: all $(TESTBIN)
	@$(BUILD)/tests/test_netconf
	@sh tests/system/run.sh

# The main job shown end to end (root: it makes and removes a namespace,
# a user and a temporary installation).
demo:
	@bash tests/demo.sh

# Benchmarks against uml_net and qemu-bridge-helper (root; throwaway
# namespaces, users and /etc/qemu/bridge.conf, all removed). Results in
# bench/results/, summarised in BENCHMARKS.md.
bench:
	@bash bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(LIBEXECDIR)/tapgate/uml $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 4755 -o root -g root $(HELPER) $(DESTDIR)$(HELPER_PATH)
	ln -sf ../tapgate-helper $(DESTDIR)$(LIBEXECDIR)/tapgate/uml/uml_net
	install -m 0755 $(CLIENT) $(DESTDIR)$(BINDIR)/tapgate
	install -m 0644 $(LIBSO) $(DESTDIR)$(LIBDIR)/libtapgate.so.1
	ln -sf libtapgate.so.1 $(DESTDIR)$(LIBDIR)/libtapgate.so
	install -m 0644 $(LIBA) $(DESTDIR)$(LIBDIR)/libtapgate.a
	install -m 0644 client/tapgate.h $(DESTDIR)$(INCLUDEDIR)/tapgate.h
	install -m 0644 $(PCFILE) $(DESTDIR)$(LIBDIR)/pkgconfig/tapgate.pc
	install -m 0644 doc/tapgate.1 $(DESTDIR)$(MANDIR)/man1/tapgate.1
	install -m 0644 doc/tapgate.conf.5 $(DESTDIR)$(MANDIR)/man5/tapgate.conf.5

deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  build-essential pkg-config libnl-3-dev libnl-route-3-dev libseccomp-dev \
	  iproute2 iputils-ping util-linux passwd procps strace clang-format cppcheck \
	  clang libclang-rt-dev llvm selinux-policy-dev checkpolicy semodule-utils \
	  user-mode-linux qemu-system-x86 busybox-static cpio >/dev/null

format:
	clang-format -i $(wildcard */*.c */*.h tests/*.c tests/unit/*.c)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
