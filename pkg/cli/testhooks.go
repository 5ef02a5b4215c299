package cli

import (
	"os"
	"strconv"
)

// Hooks for the tests, read from the environment. Users have no reason to
// set them; both commands honour them.
const (
	// EnvTestPerfPages sets the perf buffer size (pages per CPU, a power
	// of two): a small buffer makes a connect storm overflow it at once,
	// to prove that every lost event is counted.
	EnvTestPerfPages = "TCPV4CONNECT_TEST_PERF_PAGES"
	// EnvTestV4Func and EnvTestV6Func replace the probed kernel functions
	// (e.g. with one that does not exist, to test a failed start).
	EnvTestV4Func = "TCPV4CONNECT_TEST_V4FUNC"
	EnvTestV6Func = "TCPV4CONNECT_TEST_V6FUNC"
)

// testPerfPages returns the perf buffer size the tests asked for, or 0 for
// the default.
func testPerfPages() int {
	n, err := strconv.Atoi(os.Getenv(EnvTestPerfPages))
	if err != nil || n <= 0 || n&(n-1) != 0 {
		return 0
	}
	return n
}
