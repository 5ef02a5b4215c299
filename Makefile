# tcpv4connect build. `make` builds ./tcpv4connect and ./tcpconnect, two
# static binaries.
SHELL      := /bin/bash
# Go from the PATH, else where scripts/setup.sh puts it (evaluated lazily,
# after the setup prerequisite has run).
GO         ?= $(firstword $(shell command -v go) $(wildcard /usr/local/go/bin/go /usr/lib/go-1.23/bin/go))
CLANG      ?= clang
LLVM_STRIP ?= llvm-strip
# Other distributions: scripts/setup.sh writes where it put libbpf 1.4.
-include build/setup.mk
LIBBPF_A   ?= /usr/lib/x86_64-linux-gnu/libbpf.a
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
BPF_HDRS   := c/tcpconnect.h c/vmlinux.h
BPF_OBJ    := pkg/bpfobj/tcpconnect.bpf.o

# Static link against libbpf 1.4 (bookworm-backports) plus libelf and zlib.
export CC          := $(CLANG)
export CGO_ENABLED := 1
export CGO_CFLAGS  := -I$(LIBBPF_INCLUDE)
export CGO_LDFLAGS := $(LIBBPF_A) $(LIBBPF_LDLIBS)
# -trimpath and an empty build id: no build directory or per-build id in
# the binaries (reproducible builds, make dist).
GOFLAGS_STATIC := -trimpath -tags netgo,osusergo -ldflags '-s -w -buildid= -X main.version=$(VERSION) -extldflags "-static"'
GOTEST_STATIC  := -tags netgo,osusergo -ldflags '-extldflags "-static"'

STATICCHECK ?= v0.8.2

.PHONY: install uninstall install-files deb dist pkg-check setup-pkg
.PHONY: all setup setup-vm setup-bench bpf build run test test-unit test-isolated fresh-debian-check lint vmtest kernels e2e-bin fuzz check bench bench-smoke bench-soak vagrant-validate clean
all: build

setup:
	@scripts/setup.sh

setup-vm:
	@scripts/setup.sh --vm

setup-bench:
	@scripts/setup.sh --bench

setup-pkg:
	@scripts/setup.sh --pkg

bpf: $(BPF_OBJ)
$(BPF_OBJ): $(BPF_SRC) $(BPF_HDRS) | setup
	@# The prefix map keeps the build directory out of the BTF line info
	@# (reproducible builds).
	$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -fdebug-prefix-map=$(CURDIR)=. -Ic -c $(BPF_SRC) -o $@.tmp
	@# DWARF is dead weight in the binary and at load; BTF (kept) is what libbpf needs.
	$(LLVM_STRIP) -g $@.tmp -o $@ && rm -f $@.tmp

build: setup $(BPF_OBJ)
	$(GO) build $(GOFLAGS_STATIC) -o tcpv4connect ./cmd/tcpv4connect
	$(GO) build $(GOFLAGS_STATIC) -o tcpconnect ./cmd/tcpconnect

run: build
	./tcpv4connect $(ARGS)

# The end-to-end driver, static so that it also runs inside the VMs.
e2e-bin: setup $(BPF_OBJ)
	@mkdir -p build
	$(GO) test -c $(GOTEST_STATIC) -o build/e2e.test ./cmd/tcpv4connect
	$(GO) test -c $(GOTEST_STATIC) -o build/e2e-tcpconnect.test ./cmd/tcpconnect

lint: $(BPF_OBJ)
	@test -z "$$(gofmt -l cmd pkg internal bench)" || { gofmt -l cmd pkg internal bench; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK) ./...

# Unit tests, then the end-to-end tests against the built binary on the
# host kernel (as root; they fail rather than skip when CI=true).
# TESTFLAGS narrows a run, e.g. make test TESTFLAGS='-run TestPrivileges'.
TESTFLAGS ?=
test: build
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
vmtest: build e2e-bin setup-vm
	scripts/vmtest.sh ./tcpv4connect build/e2e.test
	TCPV4CONNECT_HOST=0 TCPV4CONNECT_VM_MODES="fentry kprobe tracepoint auto" \
		TCPV4CONNECT_VMTEST_OUT=build/vmtest-tcpconnect \
		scripts/vmtest.sh ./tcpconnect build/e2e-tcpconnect.test

kernels: setup-vm
	scripts/fetch-kernels.sh

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

# No box can be downloaded here: CI checks the Vagrantfile offline, and
# without --ignore-provider vagrant fails when no provider is installed.
vagrant-validate:
	@scripts/setup.sh --vagrant
	vagrant validate --ignore-provider

# Installing, as a real tool: `make && sudo make install`. PREFIX and
# DESTDIR as usual; the other directories may be set one by one.
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/tcpv4connect
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
# The name tcpconnect is installed under: the .deb sets tcpconnect-libbpfgo,
# as libbpf-tools owns /usr/sbin/tcpconnect (README, Install).
TCPCONNECT_NAME ?= tcpconnect
# ARCH and where that architecture's binaries are, for make deb and make
# dist: a cross build (make ARCH=arm64) passes its own. The man pages and
# completions are the same for every architecture: the host's binaries
# (make build) generate them.
ARCH        ?= amd64
BIN_DIR     ?= .
INSTALLED    = tcpv4connect $(TCPCONNECT_NAME)

install: build install-files

# install without building: what make deb and make dist stage with.
install-files:
	install -d -m 755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 $(BIN_DIR)/tcpv4connect $(DESTDIR)$(SBINDIR)/tcpv4connect
	install -m 755 $(BIN_DIR)/tcpconnect $(DESTDIR)$(SBINDIR)/$(TCPCONNECT_NAME)
	install -m 644 README.md docs/tcpconnect.md docs/guarantees.md $(DESTDIR)$(DOCDIR)/
	set -e; for p in tcpv4connect:tcpv4connect tcpconnect:$(TCPCONNECT_NAME); do \
		gen=./$${p%%:*} name=$${p#*:}; \
		$$gen --generate=man --generate-name=$$name >$(DESTDIR)$(MANDIR)/man8/$$name.8; \
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
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

# dist/tcpv4connect_$(VERSION)_$(ARCH).deb, with dpkg-deb: see scripts/deb.sh.
deb: build
	VERSION=$(VERSION) ARCH=$(ARCH) BIN_DIR=$(BIN_DIR) scripts/deb.sh

# dist/tcpv4connect-$(VERSION)-linux-$(ARCH).tar.gz and dist/SHA256SUMS,
# reproducible: see scripts/dist.sh.
dist: build
	VERSION=$(VERSION) ARCH=$(ARCH) BIN_DIR=$(BIN_DIR) scripts/dist.sh

# The packaging checks: lintian, the same commit built twice gives the same
# bytes, and the .deb in a clean Debian chroot beside bpfcc-tools and
# libbpf-tools. See scripts/pkg-check.sh.
pkg-check: setup-pkg deb
	scripts/pkg-check.sh dist/tcpv4connect_$(VERSION)_$(ARCH).deb

# Everything CI runs (.ci/run): the README's test command.
check: setup-bench setup-pkg lint test test-isolated fuzz vmtest bench-smoke vagrant-validate fresh-debian-check pkg-check

clean:
	rm -rf build dist tcpv4connect tcpconnect $(BPF_OBJ)
