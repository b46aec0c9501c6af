# tapgate — one Makefile: make, make check, make install (DESTDIR, PREFIX).

VERSION      = 0.1
BUILD ?= build

# The build settings. The first make in a build directory records them in
# $(BUILD)/config.mk; every later make there (make install as root among
# them) uses the recorded ones, and stops if it is given a different value,
# so that what is installed is always what was built and nothing is rebuilt
# silently with other paths. make clean (or another BUILD=DIR) starts anew.
# DESTDIR is not a setting: it only stages the installation.
CONFIG_VARS = PREFIX SYSCONFDIR BINDIR LIBDIR INCLUDEDIR LIBEXECDIR MANDIR POLICY_FILE \
              STATE_DIR LOG_SOCKET HELPER_GROUP
CONFIG_MK   = $(BUILD)/config.mk
# clean, deps and format need no settings.
ifneq ($(filter-out clean deps format,$(or $(MAKECMDGOALS),all)),)
-include $(CONFIG_MK)
endif
ifdef saved.CONFIG
define tg_use_saved
ifneq ($$(filter command line environment,$$(origin $(1))),)
ifneq ($$($(1)),$$(saved.$(1)))
$$(error $(1)='$$($(1))' differs from $(1)='$$(saved.$(1))', with which $(BUILD)/ was \
  built ($(CONFIG_MK)); to change the settings run make clean first, or use another \
  BUILD=DIR)
endif
endif
override $(1) := $$(saved.$(1))
endef
$(foreach v,$(CONFIG_VARS),$(eval $(call tg_use_saved,$(v))))
endif

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
# Empty: the helper is installed root:root 4755, for everyone. A group:
# root:GROUP 4754, so that only members of GROUP can run it.
HELPER_GROUP ?=

# SAN=1 builds everything with AddressSanitizer and UBSan (unit tests use it).
SAN ?=

CC      ?= cc
NL_CFLAGS := $(shell pkg-config --cflags libnl-3.0 2>/dev/null)
# libnl-3 core only: libnl-route-3 would add a constructor that reads
# $$NLSYSCONFDIR/classid (the helper wipes the environment first anyway).
NL_LIBS   := $(shell pkg-config --libs libnl-3.0 2>/dev/null)
# The helper's Linux audit records (helper/audit.c).
AUDIT_LIBS := $(shell pkg-config --libs audit 2>/dev/null)

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

COMMON_SRC = common/addr.c common/lease.c common/escape.c common/names.c common/err.c
POLICY_SRC = policy/policy.c
HELPER_SRC = helper/main.c helper/early.c helper/privdrop.c helper/confine.c helper/request.c \
             helper/tundev.c helper/netconf.c helper/leasedb.c helper/audit.c helper/reply.c \
             helper/privfiles.c helper/provision.c helper/umlnet.c helper/qemu.c \
             helper/conf6.c helper/bridgeport.c helper/frontend.c helper/reclaim.c
# tapgate's nftables table (source lock, rate), raw nf_tables messages through libnl
HELPER_SRC += helper/nftables.c
# common/err.c: the library's errors are tg_err inside (its symbols hidden,
# common/err.h); the public calls convert (client/libtapgate.c).
LIB_SRC    = client/libtapgate.c client/sandbox.c common/err.c
CLIENT_SRC = client/tapgate.c client/help.c client/check.c client/list.c client/leasefile.c \
             client/journald.c
UNIT_TESTS = test_addr test_policy test_lease test_escape

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

HELPER  = $(BUILD)/tapgate-helper
CLIENT  = $(BUILD)/tapgate
LIBSO   = $(BUILD)/libtapgate.so.1
LIBA    = $(BUILD)/libtapgate.a
PCFILE  = $(BUILD)/tapgate.pc
UNITS   = $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))
# What the system tests run besides the installation (run.sh builds them).
TESTBIN = $(addprefix $(BUILD)/tests/,probe logsink sandbox_probe leasefill tgattack nlenv_control \
          uml-xstate.so evil_so.so auditwatch)

FUZZ_SECONDS ?= 60

# Manual pages, with this build's paths written in (see the man rule).
MAN_PAGES = tapgate.1 libtapgate.3 tapgate.conf.5 tapgate-helper.8
MAN_LINKS = tapgate_open.3 tapgate_open_queues.3 tapgate_open_ipv6.3 tapgate_sandbox.3 tapgate_sandbox_fds.3 tapgate_helper_path.3
MANS      = $(addprefix $(BUILD)/man/,$(MAN_PAGES))
EXAMPLE_POLICY = doc/policy.conf.example

.PHONY: bench all check check-fast check-unit check-static check-fuzz check-netconf check-system \
        check-system-fast demo install uninstall deb deps clean format selinux fuzz fuzz-programs \
        test-programs bench-programs
all: $(HELPER) $(CLIENT) $(LIBSO) $(LIBA) $(PCFILE) $(MANS)

# The configuration header is rewritten only when a value changes (VERSION;
# the settings cannot change once recorded), so that only what depends on
# it is rebuilt. The first build in $(BUILD) records the settings here.
$(BUILD)/tg_config.h: FORCE
	@mkdir -p $(BUILD)
	@if [ ! -f $(CONFIG_MK) ]; then \
	  { echo '# The settings of the build in this directory (see the Makefile).'; \
	    echo 'saved.CONFIG := 1'; \
	    $(foreach v,$(CONFIG_VARS),printf '%s\n' 'saved.$(v) := $($(v))';) \
	  } > $(CONFIG_MK).tmp && mv $(CONFIG_MK).tmp $(CONFIG_MK) && \
	  echo "build settings recorded in $(CONFIG_MK); make clean to change them"; \
	fi
	@printf '%s\n' '#define TG_POLICY_FILE "$(POLICY_FILE)"' '#define TG_STATE_DIR "$(STATE_DIR)"' \
	  '#define TG_LOG_SOCKET "$(LOG_SOCKET)"' '#define TG_HELPER_PATH "$(HELPER_PATH)"' \
	  '#define TG_VERSION "$(VERSION)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:

$(BUILD)/obj/%.o: %.c $(BUILD)/tg_config.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(call obj,$(LIB_SRC)): ALL_CFLAGS += -fPIC

# The helper is a static PIE: no dynamic loader and no LD_* variable ever
# acts with its privilege, and no library is loaded at each run.
# HELPER_LIBS is every library it links, one word each. The linker warns
# that getpwuid_r and getgrnam_r (and getaddrinfo, getprotoby* in libnl
# objects the helper never calls) need glibc's shared NSS modules at run
# time: the helper restricts NSS to glibc's built-in "files" service, which
# needs none (tg_names_from_files, common/names.h; SECURITY.md), so the
# warnings are expected and left visible. ASan cannot link statically.
HELPER_LIBS   = -lnl-3 -lcap -laudit -lcap-ng
HELPER_STATIC = $(if $(SAN),,-static-pie)
$(HELPER): $(call obj,$(HELPER_SRC) $(POLICY_SRC) $(COMMON_SRC))
	$(CC) $(LDHARDEN) $(HELPER_STATIC) -o $@ $^ $(HELPER_LIBS)

# The helper's seccomp filter, compiled from helper/confine_gen.c's list
# by libseccomp at build time and embedded (helper/confine.c).
$(BUILD)/confine_gen: $(call obj,helper/confine_gen.c)
	$(CC) $(LDHARDEN) -o $@ $^ -lseccomp
$(BUILD)/confine_bpf.h: $(BUILD)/confine_gen
	$< >$@.tmp && mv $@.tmp $@
$(BUILD)/obj/helper/confine.o: $(BUILD)/confine_bpf.h

$(LIBSO): $(call obj,$(LIB_SRC))
	$(CC) -shared -Wl,-soname,libtapgate.so.1 -Wl,-z,relro,-z,now $(filter-out -pie,$(LDHARDEN)) -o $@ $^ -lseccomp

$(LIBA): $(call obj,$(LIB_SRC))
	$(AR) rcs $@ $^

$(CLIENT): $(call obj,$(CLIENT_SRC) $(LIB_SRC) $(POLICY_SRC) $(COMMON_SRC))
	$(CC) $(LDHARDEN) -o $@ $^ -lseccomp

$(PCFILE): client/tapgate.pc.in $(BUILD)/tg_config.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	  -e 's|@VERSION@|$(VERSION)|' $< > $@

# The pages name the default paths; an installation's own go in instead.
$(BUILD)/man/%: doc/% $(BUILD)/tg_config.h
	@mkdir -p $(dir $@)
	sed -e 's|/usr/local/libexec/tapgate|$(LIBEXECDIR)/tapgate|g' \
	  -e 's|/usr/local/include|$(INCLUDEDIR)|g' -e 's|/usr/local/lib/pkgconfig|$(LIBDIR)/pkgconfig|g' \
	  -e 's|/etc/tapgate/policy\.conf|$(POLICY_FILE)|g' -e 's|/run/tapgate|$(STATE_DIR)|g' \
	  -e 's|/dev/log|$(LOG_SOCKET)|g' -e 's|"tapgate [0-9.]*"|"tapgate $(VERSION)"|' $< > $@

$(BUILD)/tests/test_addr: $(call obj,tests/unit/test_addr.c $(COMMON_SRC))
$(BUILD)/tests/test_policy: $(call obj,tests/unit/test_policy.c $(POLICY_SRC) $(COMMON_SRC))
$(BUILD)/tests/test_lease: $(call obj,tests/unit/test_lease.c $(COMMON_SRC))
$(BUILD)/tests/test_escape: $(call obj,tests/unit/test_escape.c $(COMMON_SRC))
$(BUILD)/tests/test_netconf: $(call obj,tests/unit/test_netconf.c helper/netconf.c helper/tundev.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^ $(NL_LIBS)
$(BUILD)/tests/filter_tool: $(call obj,tests/unit/filter_tool.c helper/confine.c common/err.c \
                              helper/conf6.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^ -lseccomp
$(BUILD)/tests/sandbox_probe: $(call obj,tests/sandbox_probe.c $(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^ -lseccomp
$(BUILD)/tests/leasefill: $(call obj,tests/leasefill.c common/lease.c common/addr.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^
$(BUILD)/tests/tgattack: $(call obj,tests/attack/tgattack.c common/lease.c common/addr.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^
# A plain libnl-route program: the positive control for t_core's hostile
# environment cases.
$(BUILD)/tests/nlenv_control: tests/nlenv_control.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -o $@ $< $(shell pkg-config --cflags --libs libnl-route-3.0)
# Preloaded into Debian 12's UML by the guest boot script (see the source).
$(BUILD)/tests/uml-xstate.so: tests/guests/uml-xstate.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -shared -fPIC -o $@ $< -ldl
# The hostile library of the environment tests (see the source).
$(BUILD)/tests/evil_so.so: tests/evil_so.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -shared -fPIC -o $@ $<
$(BUILD)/tests/auditwatch: $(call obj,tests/auditwatch.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^ $(AUDIT_LIBS)
$(BUILD)/tests/probe: $(call obj,tests/probe.c)
$(BUILD)/tests/logsink: $(call obj,tests/logsink.c)
$(UNITS) $(BUILD)/tests/probe $(BUILD)/tests/logsink:
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^

# What `make bench` runs besides the installation (bench/run.sh): the
# client-side driver, the data-path tool, the helper's phases in-process,
# and the exec floors, a setuid no-op linked as the helper is (static) and
# one linked dynamically with the helper's libraries (what the helper paid
# before it was static).
BENCHBIN = $(addprefix $(BUILD)/bench/,drv dp phases noop noop-dynamic) $(BUILD)/tests/leasefill
$(BUILD)/bench/drv: $(call obj,bench/drv.c helper/netconf.c helper/tundev.c) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^ $(NL_LIBS) -lseccomp
$(BUILD)/bench/dp: $(call obj,bench/dp.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^
$(BUILD)/bench/phases: $(call obj,bench/phases.c helper/confine.c helper/netconf.c $(POLICY_SRC) \
                         $(COMMON_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^ $(NL_LIBS)
$(BUILD)/bench/noop: $(call obj,bench/noop.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) $(HELPER_STATIC) -o $@ $^
$(BUILD)/bench/noop-dynamic: $(call obj,bench/noop.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) -o $@ $^ -Wl,--no-as-needed $(NL_LIBS) -lcap

# The helper's own objects with confine() wrapped (bench/confine_cg.c):
# what callgrind can run, for the instruction counts of bench/run.sh (its
# cg part builds it in the installation's build directory, with the
# installation's paths). Never installed.
$(BUILD)/bench/helper-cg: $(call obj,$(HELPER_SRC) $(POLICY_SRC) $(COMMON_SRC) bench/confine_cg.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) $(HELPER_STATIC) -Wl,--wrap=confine -o $@ $^ $(HELPER_LIBS)

bench-programs: $(BENCHBIN)

# Unit tests run twice: as built, and under ASan+UBSan. The system tests need
# root: they make their own namespaces, users and installation, run side by
# side (TG_JOBS slots), and remove all of it; see DEVELOPING.md.
# tests/check.sh runs the stages in turn and ends with one table.
check:
	@bash tests/check.sh check-unit check-static check-fuzz selinux check-netconf check-system

# The edit loop (under 3 minutes): unit tests, the fuzz corpora and the core
# system tests.
FAST_SYSTEM = t_core t_privs t_leases t_harness
check-fast:
	@bash tests/check.sh check-unit check-fuzz check-netconf check-system-fast

check-system-fast:
	@bash tests/system/run.sh $(FAST_SYSTEM)

test-programs: $(TESTBIN)

check-unit: $(UNITS) $(BUILD)/tests/filter_tool $(BUILD)/tests/sandbox_probe $(LIBSO)
	@$(MAKE) --no-print-directory BUILD=build/san SAN=1 $(addprefix build/san/tests/,$(UNIT_TESTS))
	@sh tests/run-units.sh $(BUILD)/tests build/san/tests $(UNIT_TESTS)
	@sh tests/check-filter.sh $(BUILD)/tests/filter_tool helper/confine.list
	@$(BUILD)/tests/sandbox_probe --export-filter | diff -u client/sandbox.pfc - && \
	  echo "ok   client sandbox filter equals client/sandbox.pfc"
	@# The ABI is tapgate.h: what the library links in (common/err.c among
	@# it) stays hidden.
	@nm -D --defined-only $(LIBSO) | awk '$$3 !~ /^tapgate_/ { print "exported:", $$3; bad = 1 } \
	  END { exit bad }' && echo "ok   $(LIBSO) exports tapgate_* only"

# Static analysis of the code that runs privileged (and what it links).
check-static: $(BUILD)/tg_config.h
	@cppcheck -q --enable=warning,portability,performance --std=c11 --error-exitcode=1 \
	  --inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE -D__x86_64__ -I$(BUILD) $(NL_CFLAGS) \
	  helper common policy && echo "cppcheck: helper, common, policy clean"

# The libFuzzer targets (tests/fuzz/), built with clang: each links its
# harness and the project's files it fuzzes, the latter instrumented for
# coverage (their warnings are the normal build's to fail on, not these).
FUZZ_CC      ?= clang
FUZZ_TARGETS ?= fuzz_policy fuzz_request fuzz_escape fuzz_lease
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE -I$(BUILD) -g -O1 $(FUZZ_SAN)
fuzz_policy.src  = policy/policy.c common/addr.c common/lease.c common/err.c
fuzz_request.src = helper/frontend.c helper/request.c helper/umlnet.c helper/qemu.c helper/reply.c \
                   common/err.c common/addr.c common/lease.c
fuzz_escape.src  = common/escape.c
fuzz_lease.src   = common/lease.c common/addr.c
FUZZ_BINS = $(addprefix $(BUILD)/fuzz/bin/,$(FUZZ_TARGETS))

$(BUILD)/fuzz/obj/%.o: %.c $(BUILD)/tg_config.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -w -MMD -MP -c $< -o $@
$(BUILD)/fuzz/bin/%: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(WARN) -MMD -MP -MF $@.d -o $@ $< \
	  $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$($*.src))
$(foreach t,$(FUZZ_TARGETS),$(eval $(BUILD)/fuzz/bin/$(t): \
  $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$($(t).src))))

fuzz-programs: $(FUZZ_BINS)

# The fuzz targets' seed corpora, replayed (make fuzz runs them for real).
check-fuzz: fuzz-programs
	@sh tests/fuzz/run.sh replay $(BUILD)

fuzz: fuzz-programs
	sh tests/fuzz/run.sh fuzz $(BUILD) $(FUZZ_SECONDS)

# The SELinux module, compiled with selinux-policy-dev (SELinux need not be
# enabled to build it).
selinux:
	@sh selinux/build.sh $(BUILD)/selinux

# Netlink configuration against a real kernel, in a namespace of its own.
check-netconf: $(BUILD)/tests/test_netconf
	@$(BUILD)/tests/test_netconf

check-system:
	@bash tests/system/run.sh

# The main job shown end to end (root: it makes and removes a namespace,
# a user and a temporary installation).
demo:
	@bash tests/demo.sh

# Benchmarks against uml_net and qemu-bridge-helper (root; throwaway
# namespaces, users and /etc/qemu/bridge.conf, all removed). Results in
# bench/results/, summarised in BENCHMARKS.md.
bench: bench-programs
	@bash bench/run.sh

# Installs what `make` built, with its recorded settings (see the top).
# The helper is setuid root: mode 4755 for everyone, or with HELPER_GROUP
# root:GROUP 4754 for the members of GROUP. An existing policy is kept; a
# new one is the example, which allows nothing.
HELPER_MODE  = $(if $(HELPER_GROUP),4754,4755)
POLICY_DIR   = $(patsubst %/,%,$(dir $(POLICY_FILE)))
INSTALL_DIRS = $(BINDIR) $(LIBDIR)/pkgconfig $(INCLUDEDIR) $(LIBEXECDIR)/tapgate/uml $(POLICY_DIR) \
               $(addprefix $(MANDIR)/man,1 3 5 8)
# The directories install made, one a line, for uninstall.
DIR_RECORD   = $(LIBEXECDIR)/tapgate/installed-dirs

install: all
	@if [ -n "$(HELPER_GROUP)" ] && ! getent group "$(HELPER_GROUP)" >/dev/null; then \
	  echo "make install: there is no group '$(HELPER_GROUP)' (HELPER_GROUP); create it" \
	    "first: groupadd --system $(HELPER_GROUP)" >&2; exit 1; fi
	@# The directories that do not exist yet are recorded, so that uninstall
	@# removes those and only those (added to an earlier install's record).
	@new=; for d in $(INSTALL_DIRS); do \
	  while [ -n "$$d" ] && [ ! -d "$(DESTDIR)$$d" ]; do new="$$new $$d"; d=$${d%/*}; done; \
	done; \
	install -d $(addprefix $(DESTDIR),$(INSTALL_DIRS)) && \
	{ cat $(DESTDIR)$(DIR_RECORD) 2>/dev/null; for d in $$new; do echo "$$d"; done; } | \
	  sort -u > $(DESTDIR)$(DIR_RECORD).tmp && mv $(DESTDIR)$(DIR_RECORD).tmp $(DESTDIR)$(DIR_RECORD)
	install -m $(HELPER_MODE) -o root -g $(or $(HELPER_GROUP),root) $(HELPER) \
	  $(DESTDIR)$(HELPER_PATH)
	ln -sf ../tapgate-helper $(DESTDIR)$(LIBEXECDIR)/tapgate/uml/uml_net
	install -m 0755 $(CLIENT) $(DESTDIR)$(BINDIR)/tapgate
	install -m 0644 $(LIBSO) $(DESTDIR)$(LIBDIR)/libtapgate.so.1
	ln -sf libtapgate.so.1 $(DESTDIR)$(LIBDIR)/libtapgate.so
	install -m 0644 $(LIBA) $(DESTDIR)$(LIBDIR)/libtapgate.a
	install -m 0644 client/tapgate.h $(DESTDIR)$(INCLUDEDIR)/tapgate.h
	install -m 0644 $(PCFILE) $(DESTDIR)$(LIBDIR)/pkgconfig/tapgate.pc
	$(foreach m,$(MAN_PAGES),install -m 0644 $(BUILD)/man/$(m) \
	  $(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(m);)
	$(foreach m,$(MAN_LINKS),printf '.so man3/libtapgate.3\n' >$(DESTDIR)$(MANDIR)/man3/$(m) && \
	  chmod 0644 $(DESTDIR)$(MANDIR)/man3/$(m);)
	@if [ -e $(DESTDIR)$(POLICY_FILE) ]; then \
	  echo "keeping the existing $(DESTDIR)$(POLICY_FILE)"; \
	else \
	  echo "install -m 0644 -o root -g root $(EXAMPLE_POLICY) $(DESTDIR)$(POLICY_FILE)"; \
	  install -m 0644 -o root -g root $(EXAMPLE_POLICY) $(DESTDIR)$(POLICY_FILE); \
	fi

# Removes what install put, with the same settings. The policy goes only
# if it is still the example (an edited one stays, and so do the
# directories that hold it); the directories install made go once empty.
uninstall:
	rm -f $(DESTDIR)$(HELPER_PATH) $(DESTDIR)$(LIBEXECDIR)/tapgate/uml/uml_net \
	  $(DESTDIR)$(BINDIR)/tapgate $(DESTDIR)$(INCLUDEDIR)/tapgate.h \
	  $(addprefix $(DESTDIR)$(LIBDIR)/,libtapgate.so.1 libtapgate.so libtapgate.a \
	    pkgconfig/tapgate.pc) \
	  $(foreach m,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(m)) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(MAN_LINKS))
	@if cmp -s $(EXAMPLE_POLICY) $(DESTDIR)$(POLICY_FILE); then \
	  echo "rm -f $(DESTDIR)$(POLICY_FILE)"; rm -f $(DESTDIR)$(POLICY_FILE); \
	elif [ -e $(DESTDIR)$(POLICY_FILE) ]; then \
	  echo "keeping $(DESTDIR)$(POLICY_FILE): it is not the example make install put there"; \
	fi
	@# Deepest first; a directory that is not empty stays. Without a record
	@# (an install before there was one), tapgate's own directories only.
	@dirs=$$(cat $(DESTDIR)$(DIR_RECORD) 2>/dev/null || \
	  echo $(LIBEXECDIR)/tapgate/uml $(LIBEXECDIR)/tapgate $(filter %/tapgate,$(POLICY_DIR))); \
	rm -f $(DESTDIR)$(DIR_RECORD); \
	for d in $$(printf '%s\n' $$dirs | sort -r); do \
	  rmdir "$(DESTDIR)$$d" 2>/dev/null && echo "rmdir $(DESTDIR)$$d"; done; true

# The Debian packages (debian/), built from a copy of the tracked files so
# that nothing is written outside $(BUILD): tapgate, libtapgate1 and
# libtapgate-dev, in $(BUILD)/, then checked with lintian.
DEB_ARCH = $(shell dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null)
DEB_SRC  = $(BUILD)/debsrc/tapgate-$(VERSION)

deb:
	rm -rf $(BUILD)/debsrc && mkdir -p $(DEB_SRC)
	git ls-files -z | tar --null -T - -cf - | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc -jauto
	cp $(BUILD)/debsrc/*_$(VERSION)_$(DEB_ARCH).deb $(BUILD)/
	lintian --fail-on error $(BUILD)/debsrc/tapgate_$(VERSION)_$(DEB_ARCH).changes
	@echo "built $(BUILD)/tapgate_$(VERSION)_$(DEB_ARCH).deb"

deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  build-essential pkg-config libnl-3-dev libnl-route-3-dev libseccomp-dev libcap-dev \
	  iproute2 iputils-ping util-linux passwd procps strace clang-format cppcheck \
	  clang libclang-rt-dev llvm selinux-policy-dev checkpolicy semodule-utils \
	  user-mode-linux qemu-system-x86 busybox-static cpio man-db groff-base \
	  dpkg-dev debhelper fakeroot lintian libaudit-dev nftables python3 valgrind >/dev/null

format:
	clang-format -i $(wildcard */*.c */*.h tests/*.c tests/unit/*.c)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(BUILD)/fuzz -name '*.d' 2>/dev/null)
