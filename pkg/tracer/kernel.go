package tracer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	bpf "github.com/aquasecurity/libbpfgo"
	"golang.org/x/sys/unix"
)

// What the tracer needs to know about the running kernel, in one place.

// KernelBTF is where the running kernel exposes its BTF.
const KernelBTF = "/sys/kernel/btf/vmlinux"

// tracefsDirs are where libbpf looks up tracepoint ids (and legacy
// kprobes), newest first.
var tracefsDirs = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// KernelAtLeast compares the running kernel's release with major.minor.
func KernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	var ma, mi int
	if _, err := fmt.Sscanf(rel, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// effectiveCaps reads CapEff from /proc/self/status: bit n is capability
// n (unix.CAP_*).
func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff in /proc/self/status")
}

// LibbpfVersion is the version of the libbpf linked in, e.g. "v1.4".
func LibbpfVersion() string { return bpf.LibbpfVersionString() }
