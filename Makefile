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
VERSION    ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

BPF_SRC    := c/tcpconnect.bpf.c
BPF_HDRS   := c/tcpconnect.h c/vmlinux.h
BPF_OBJ    := pkg/bpfobj/tcpconnect.bpf.o

# Static link against libbpf 1.4 (bookworm-backports) plus libelf and zlib.
export CC          := $(CLANG)
export CGO_ENABLED := 1
export CGO_CFLAGS  := -I$(LIBBPF_INCLUDE)
export CGO_LDFLAGS := $(LIBBPF_A) $(LIBBPF_LDLIBS)
GOFLAGS_STATIC := -tags netgo,osusergo -ldflags '-s -w -X main.version=$(VERSION) -extldflags "-static"'
GOTEST_STATIC  := -tags netgo,osusergo -ldflags '-extldflags "-static"'

STATICCHECK ?= v0.8.2

.PHONY: all setup setup-vm setup-bench bpf build run test lint vmtest kernels e2e-bin fuzz check bench bench-smoke bench-soak vagrant-validate clean
all: build

setup:
	@scripts/setup.sh

setup-vm:
	@scripts/setup.sh --vm

setup-bench:
	@scripts/setup.sh --bench

bpf: $(BPF_OBJ)
$(BPF_OBJ): $(BPF_SRC) $(BPF_HDRS) | setup
	$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -Ic -c $(BPF_SRC) -o $@.tmp
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
	@test -z "$$(gofmt -l cmd pkg bench)" || { gofmt -l cmd pkg bench; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK) ./...

# Unit tests, then the end-to-end tests against the built binary on the
# host kernel (as root; they fail rather than skip when CI=true).
test: build
	TCPV4CONNECT_BIN=$(CURDIR)/tcpv4connect TCPCONNECT_BIN=$(CURDIR)/tcpconnect $(GO) test $(GOTEST_STATIC) -count=1 ./...

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

# Everything CI runs (.ci/run): the README's test command.
check: setup-bench lint test fuzz vmtest bench-smoke vagrant-validate vagrant-test

clean:
	rm -rf build tcpv4connect tcpconnect $(BPF_OBJ)
