# tcpv4connect build. `make` builds ./tcpv4connect and ./tcpconnect, two
# static binaries. `make ARCH=arm64` cross-builds them for arm64 into
# build/arm64/ (scripts/setup.sh --arm64 installs the cross toolchain).
SHELL      := /bin/bash

# Target architecture, named as the kernel (and __TARGET_ARCH_*) names it:
# x86 or arm64; the host's by default.
norm_arch   = $(patsubst x86_64,x86,$(patsubst amd64,x86,$(patsubst aarch64,arm64,$(1))))
HOST_ARCH  := $(call norm_arch,$(shell uname -m))
ARCH       ?= $(HOST_ARCH)
override ARCH := $(call norm_arch,$(ARCH))
ifeq ($(filter x86 arm64,$(ARCH)),)
$(error ARCH=$(ARCH): use x86 or arm64)
endif
GOARCH_x86   := amd64
GOARCH_arm64 := arm64
TRIPLET_x86  := x86_64-linux-gnu
TRIPLET_arm64 := aarch64-linux-gnu
TRIPLET    := $(TRIPLET_$(ARCH))
# Host builds stay at ./tcpv4connect, ./tcpconnect and build/e2e*.test; a
# cross build goes to build/<arch>/ so that it never replaces them.
ifeq ($(ARCH),$(HOST_ARCH))
OUT        := .
E2E_OUT    := build
SETUP_ARGS :=
VMTEST_OUT := build/vmtest
else
OUT        := build/$(ARCH)
E2E_OUT    := build/$(ARCH)
SETUP_ARGS := --$(ARCH)
VMTEST_OUT := build/vmtest-$(ARCH)
endif
# Go from the PATH, else where scripts/setup.sh puts it (evaluated lazily,
# after the setup prerequisite has run).
GO         ?= $(firstword $(shell command -v go) $(wildcard /usr/local/go/bin/go /usr/lib/go-1.23/bin/go))
CLANG      ?= clang
LLVM_STRIP ?= llvm-strip
# Other distributions: scripts/setup.sh writes where it put libbpf 1.4.
-include build/setup.mk
LIBBPF_A   ?= /usr/lib/$(TRIPLET)/libbpf.a
LIBBPF_INCLUDE ?= /usr/include
LIBBPF_LDLIBS  ?= -lelf -lz
# The package version (scripts/version.sh): in --version, the .deb and the
# tarballs alike.
VERSION    ?= $(shell scripts/version.sh)
# The commit's time: the man pages' date and every file's mtime in the .deb
# and the tarballs, so that the same commit builds the same bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH

BPF_SRC    := c/tcpconnect.bpf.c
BPF_HDRS   := c/tcpconnect.h c/$(ARCH)/vmlinux.h
# One object per architecture (its own vmlinux.h and pt_regs layout); the one
# of this ARCH is copied to where pkg/bpfobj embeds it before every go build.
BPF_ARCH_OBJ := build/$(ARCH)/tcpconnect.bpf.o
BPF_OBJ    := pkg/bpfobj/tcpconnect.bpf.o

# Static link against libbpf 1.4 (bookworm-backports) plus libelf and zlib.
export CGO_ENABLED := 1
export GOARCH      := $(GOARCH_$(ARCH))
export CGO_LDFLAGS := $(LIBBPF_A) $(LIBBPF_LDLIBS)
ifeq ($(ARCH),$(HOST_ARCH))
export CC          := $(CLANG)
export CGO_CFLAGS  := -I$(LIBBPF_INCLUDE)
else
# Debian's cross gcc finds the multiarch :$(ARCH) libraries by itself. The
# libbpf headers come after its own sysroot: -I/usr/include would put the
# host's libc headers first.
CROSS_CC   ?= $(TRIPLET)-gcc
export CC          := $(CROSS_CC)
export CGO_CFLAGS  := -idirafter $(LIBBPF_INCLUDE)
endif
# -trimpath and an empty build id: no build directory or per-build id in
# the binaries (reproducible builds, make dist).
GOFLAGS_STATIC := -trimpath -tags netgo,osusergo -ldflags '-s -w -buildid= -X main.version=$(VERSION) -extldflags "-static"'
GOTEST_STATIC  := -tags netgo,osusergo -ldflags '-extldflags "-static"'

STATICCHECK ?= v0.8.2

.PHONY: install uninstall install-files deb dist pkg-check setup-pkg setup-prometheus
.PHONY: FORCE all setup setup-vm setup-bench bpf build build-arm64 run test test-unit test-isolated fresh-debian-check lint vmtest vmtest-arm64 kernels e2e-bin fuzz check bench bench-smoke bench-soak bench-arm64 vagrant-validate unit-check clean
all: build

setup:
	@scripts/setup.sh $(SETUP_ARGS)

setup-vm:
	@scripts/setup.sh --vm $(SETUP_ARGS)

setup-bench:
	@scripts/setup.sh --bench

setup-pkg:
	@scripts/setup.sh --pkg

# Debian's prometheus server, which the metrics e2e test starts on its own
# (its daemon is not started).
setup-prometheus:
	@scripts/setup.sh --prometheus

bpf: $(BPF_OBJ)
$(BPF_ARCH_OBJ): $(BPF_SRC) $(BPF_HDRS) | setup
	@mkdir -p $(@D)
	@# The prefix map keeps the build directory out of the BTF line info
	@# (reproducible builds).
	$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -fdebug-prefix-map=$(CURDIR)=. -Ic/$(ARCH) -Ic -c $(BPF_SRC) -o $@.tmp
	@# DWARF is dead weight in the binary and at load; BTF (kept) is what libbpf needs.
	$(LLVM_STRIP) -g $@.tmp -o $@ && rm -f $@.tmp
# Always checked, since the previous make may have been for another ARCH;
# copied only when it differs, so that go's build cache still holds.
$(BPF_OBJ): $(BPF_ARCH_OBJ) FORCE
	@cmp -s $< $@ || cp $< $@
FORCE:

build: setup $(BPF_OBJ)
	@mkdir -p $(OUT)
	$(GO) build $(GOFLAGS_STATIC) -o $(OUT)/tcpv4connect ./cmd/tcpv4connect
	$(GO) build $(GOFLAGS_STATIC) -o $(OUT)/tcpconnect ./cmd/tcpconnect

run: build
	./tcpv4connect $(ARGS)

# The end-to-end driver, static so that it also runs inside the VMs.
e2e-bin: setup $(BPF_OBJ)
	@mkdir -p $(E2E_OUT)
	$(GO) test -c $(GOTEST_STATIC) -o $(E2E_OUT)/e2e.test ./cmd/tcpv4connect
	$(GO) test -c $(GOTEST_STATIC) -o $(E2E_OUT)/e2e-tcpconnect.test ./cmd/tcpconnect

lint: $(BPF_OBJ)
	@test -z "$$(gofmt -l cmd pkg internal bench)" || { gofmt -l cmd pkg internal bench; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK) ./...

# Unit tests, then the end-to-end tests against the built binary on the
# host kernel (as root; they fail rather than skip when CI=true), one of
# them with a real Prometheus server (setup-prometheus).
# TESTFLAGS narrows a run, e.g. make test TESTFLAGS='-run TestPrivileges'.
TESTFLAGS ?=
test: build setup-prometheus
	TCPV4CONNECT_BIN=$(CURDIR)/tcpv4connect TCPCONNECT_BIN=$(CURDIR)/tcpconnect $(GO) test $(GOTEST_STATIC) -count=1 $(TESTFLAGS) ./...

# Unit tests only: no tracer binary is given, so the end-to-end tests skip
# (CI is unset here: under CI=true they would fail instead).
test-unit: setup $(BPF_OBJ)
	env -u CI -u TCPV4CONNECT_BIN -u TCPCONNECT_BIN $(GO) test $(GOTEST_STATIC) -count=1 $(TESTFLAGS) ./...

# make test on a copy of the sources (git ls-files, no .git) in a fresh
# directory under a mode-0700 temporary directory with nothing beside it:
# catches tests that read outside the repository or need a world-readable
# checkout. See scripts/test-isolated.sh.
test-isolated:
	scripts/test-isolated.sh TESTFLAGS="$(TESTFLAGS)"

# scripts/setup.sh alone on a fresh minimal Debian 12 (a debootstrap
# chroot): setup, build and unit tests. See scripts/fresh-debian-check.sh.
# setup-bench brings debootstrap.
fresh-debian-check: setup-bench
	scripts/fresh-debian-check.sh

# The kernel matrix: every attach mode of both commands on Debian's 5.10,
# 6.1 and 6.12 kernels in qemu, plus the host; see scripts/vmtest.sh.
# ARCH=arm64: Debian's arm64 kernels (scripts/kernels-arm64.txt) under
# qemu-system-aarch64, results in build/vmtest-arm64*/.
# Every cell runs the tests that touch the kernel; the tests of user space
# alone (signals, output and usage handling, man pages, privileges, two
# instances, the metrics server), which no attach mode changes, run in one
# cell per kernel, auto's: emulation is too slow on CI's two cores to repeat
# them in every cell for both architectures. VMTEST_ALL=1 runs every test in
# every cell.
VM_USERSPACE_TESTS := ^(TestHostileComm|TestTimestamps|TestClosedStdout|TestSimultaneousPairs|TestTwoInstances|TestManPage|TestPrivileges|TestExitReportQuiet|TestBlockedStdout|TestSecondSignal|TestSIGHUP|TestUsage|TestCountAndDuration|TestCountBlocked|TestLPortAndTimestamps|TestSystemdUnit|TestMetricsTakenPort|TestMetricsShutdown|TestMetricsSeriesCap|TestMetricsStorm)
ifeq ($(VMTEST_ALL),1)
VM_TRIM :=
else
VM_TRIM := TCPV4CONNECT_VM_SKIP='$(VM_USERSPACE_TESTS)' TCPV4CONNECT_VM_FULL_MODE=auto
endif
vmtest: build e2e-bin setup-vm
	$(VM_TRIM) TCPV4CONNECT_ARCH=$(ARCH) TCPV4CONNECT_VMTEST_OUT=$(VMTEST_OUT) \
		scripts/vmtest.sh $(OUT)/tcpv4connect $(E2E_OUT)/e2e.test
	$(VM_TRIM) TCPV4CONNECT_ARCH=$(ARCH) TCPV4CONNECT_HOST=0 TCPV4CONNECT_VM_MODES="fentry kprobe tracepoint auto" \
		TCPV4CONNECT_VMTEST_OUT=$(VMTEST_OUT)-tcpconnect \
		scripts/vmtest.sh $(OUT)/tcpconnect $(E2E_OUT)/e2e-tcpconnect.test

# The arm64 matrix from any host.
vmtest-arm64:
	$(MAKE) vmtest ARCH=arm64

# The arm64 cross build alone (both static binaries and the e2e drivers),
# which make check does run.
build-arm64:
	$(MAKE) build e2e-bin ARCH=arm64

kernels: setup-vm
	TCPV4CONNECT_ARCH=$(ARCH) scripts/fetch-kernels.sh

# Each fuzz target for a short, bounded time (the corpora also run in test).
fuzz: $(BPF_OBJ)
	scripts/fuzz.sh 10

# Benchmarks against libbpf-tools, bcc and bpftrace: bench/RESULTS.md.
bench: build setup-bench
	bench/run.sh
bench-smoke: build setup-bench
	bench/run.sh --smoke
bench-soak: build setup-bench
	bench/run.sh --soak
bench-arm64: build-arm64 setup-bench
	bench/run.sh --arm64

# No box can be downloaded here: CI checks the Vagrantfile offline, and
# without --ignore-provider vagrant fails when no provider is installed.
vagrant-validate:
	@scripts/setup.sh --vagrant
	vagrant validate --ignore-provider

# The .deb's tcpconnect-metrics.service under systemd in the bookworm box (qemu TCG); see scripts/unit-check.sh.
unit-check:
	scripts/unit-check.sh

# `vagrant up` for real under libvirt (TCG here): the Debian boxes, built
# locally and cached (scripts/build-box.sh), then a pass/fail table; see
# scripts/vagrant-test.sh. VAGRANT_MACHINES picks machines of the Vagrantfile.
.PHONY: setup-vagrant vagrant-boxes vagrant-test
VAGRANT_MACHINES ?= debian11 debian12 debian13
setup-vagrant:
	@scripts/setup.sh --vagrant-libvirt
vagrant-boxes: setup-vagrant
	for s in bullseye bookworm trixie; do scripts/build-box.sh $$s || exit 1; done
vagrant-test: build e2e-bin setup-vagrant
	scripts/vagrant-test.sh $(VAGRANT_MACHINES)

# Installing, as a real tool: `make && sudo make install`. PREFIX and
# DESTDIR as usual; the other directories may be set one by one.
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/tcpv4connect
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
# contrib/tcpconnect-metrics.service (not enabled by installing it); systemd
# reads /usr/local/lib/systemd/system too.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
UNIT         := tcpconnect-metrics.service
# Where the unit runs tcpconnect from: SBINDIR, unless the files are staged
# for another place (the tarball, extracted into /usr/local).
UNIT_SBINDIR ?= $(SBINDIR)
# The name tcpconnect is installed under: the .deb sets tcpconnect-libbpfgo,
# as libbpf-tools owns /usr/sbin/tcpconnect (README, Install).
TCPCONNECT_NAME ?= tcpconnect
# ARCH and where that architecture's binaries are, for make deb and make
# dist: a cross build (make ARCH=arm64) passes its own. The man pages and
# completions are the same for every architecture: the host's binaries
# (make build) generate them.
DEB_ARCH_x86   := amd64
DEB_ARCH_arm64 := arm64
DEB_ARCH    := $(DEB_ARCH_$(ARCH))
BIN_DIR     ?= $(OUT)
INSTALLED    = tcpv4connect $(TCPCONNECT_NAME)

install: build install-files

# install without building: what make deb and make dist stage with.
install-files:
	install -d -m 755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	@# The unit runs tcpconnect under the name and path installed here.
	sed -e 's|^ExecStart=/usr/sbin/tcpconnect |ExecStart=$(UNIT_SBINDIR)/$(TCPCONNECT_NAME) |' \
		-e 's|^Documentation=man:tcpconnect(8)$$|Documentation=man:$(TCPCONNECT_NAME)(8)|' \
		contrib/$(UNIT) >$(DESTDIR)$(SYSTEMDUNITDIR)/$(UNIT)
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$(UNIT)
	install -m 755 $(BIN_DIR)/tcpv4connect $(DESTDIR)$(SBINDIR)/tcpv4connect
	install -m 755 $(BIN_DIR)/tcpconnect $(DESTDIR)$(SBINDIR)/$(TCPCONNECT_NAME)
	install -m 644 README.md docs/tcpconnect.md docs/guarantees.md $(DESTDIR)$(DOCDIR)/
	set -e; for p in tcpv4connect:tcpv4connect:$(TCPCONNECT_NAME) tcpconnect:$(TCPCONNECT_NAME):tcpv4connect; do \
		gen=./$${p%%:*} rest=$${p#*:}; name=$${rest%%:*} other=$${rest#*:}; \
		$$gen --generate=man --generate-name=$$name --generate-see-also=$$other >$(DESTDIR)$(MANDIR)/man8/$$name.8; \
		$$gen --generate=bash --generate-name=$$name >$(DESTDIR)$(BASHCOMPDIR)/$$name; \
		$$gen --generate=zsh --generate-name=$$name >$(DESTDIR)$(ZSHCOMPDIR)/_$$name; \
		$$gen --generate=fish --generate-name=$$name >$(DESTDIR)$(FISHCOMPDIR)/$$name.fish; \
		chmod 644 $(DESTDIR)$(MANDIR)/man8/$$name.8 $(DESTDIR)$(BASHCOMPDIR)/$$name \
			$(DESTDIR)$(ZSHCOMPDIR)/_$$name $(DESTDIR)$(FISHCOMPDIR)/$$name.fish; \
	done

uninstall:
	set -e; for name in $(INSTALLED); do \
		rm -f $(DESTDIR)$(SBINDIR)/$$name $(DESTDIR)$(MANDIR)/man8/$$name.8 \
			$(DESTDIR)$(BASHCOMPDIR)/$$name $(DESTDIR)$(ZSHCOMPDIR)/_$$name $(DESTDIR)$(FISHCOMPDIR)/$$name.fish; \
	done
	rm -f $(DESTDIR)$(DOCDIR)/README.md $(DESTDIR)$(DOCDIR)/tcpconnect.md $(DESTDIR)$(DOCDIR)/guarantees.md
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/$(UNIT)
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

# dist/tcpv4connect_$(VERSION)_$(DEB_ARCH).deb, with dpkg-deb: see scripts/deb.sh.
deb: build
	VERSION=$(VERSION) ARCH=$(DEB_ARCH) BIN_DIR=$(BIN_DIR) scripts/deb.sh

# dist/tcpv4connect-$(VERSION)-linux-$(DEB_ARCH).tar.gz and dist/SHA256SUMS,
# reproducible: see scripts/dist.sh.
dist: build
	VERSION=$(VERSION) ARCH=$(DEB_ARCH) BIN_DIR=$(BIN_DIR) scripts/dist.sh

# The packaging checks: lintian, the same commit built twice gives the same
# bytes, the .deb in a clean Debian chroot beside bpfcc-tools and
# libbpf-tools, and the arm64 .deb against it (scripts/deb-cross-check.sh).
# See scripts/pkg-check.sh.
pkg-check: setup-pkg deb
	$(MAKE) deb ARCH=arm64
	scripts/pkg-check.sh dist/tcpv4connect_$(VERSION)_$(DEB_ARCH).deb dist/tcpv4connect_$(VERSION)_arm64.deb

# Everything CI runs (.ci/run): the README's test command.
# fresh-debian-check is not in it: CI's own machine is a fresh Debian, on
# which setup.sh runs first, and pkg-check builds a clean chroot too.
check: setup-bench setup-pkg lint test test-isolated fuzz vmtest build-arm64 vmtest-arm64 bench-smoke vagrant-validate pkg-check

clean:
	rm -rf build dist tcpv4connect tcpconnect $(BPF_OBJ)
