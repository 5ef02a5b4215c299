package main

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/tcpv4connect/tcpv4connect/pkg/tracer"
)

// envTestPerfPages sets the perf buffer size (pages per CPU, a power of
// two). Only tests set it: a small buffer makes a connect storm overflow it
// at once, to prove that every lost event is counted.
const envTestPerfPages = "TCPV4CONNECT_TEST_PERF_PAGES"

// testPerfPages returns the perf buffer size the tests asked for, or 0 for
// the default.
func testPerfPages() int {
	n, err := strconv.Atoi(os.Getenv(envTestPerfPages))
	if err != nil || n <= 0 || n&(n-1) != 0 {
		return 0
	}
	return n
}

// reportMisses writes the kprobe mode's miss count at exit: connects that
// the kernel did not report because a kretprobe had no free instance.
func reportMisses(stderr io.Writer, t *tracer.Tracer) {
	if t.Mode() != tracer.ModeKprobe {
		return
	}
	fmt.Fprintf(stderr, "tcpv4connect: %v\n", t.KprobeMisses())
}
