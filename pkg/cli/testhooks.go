package cli

import (
	"os"
	"strconv"
	"strings"
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
	// EnvTestMapEntries resizes BPF maps ("syn_sent=1000,counts=100"), so
	// that a test can fill one and check that what it drops is counted.
	EnvTestMapEntries = "TCPV4CONNECT_TEST_MAP_ENTRIES"
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

// testMapEntries returns the map sizes the tests asked for, or nil.
func testMapEntries() map[string]uint32 {
	v := os.Getenv(EnvTestMapEntries)
	if v == "" {
		return nil
	}
	m := map[string]uint32{}
	for _, kv := range strings.Split(v, ",") {
		name, n, _ := strings.Cut(kv, "=")
		if x, err := strconv.ParseUint(n, 10, 32); err == nil && x > 0 {
			m[name] = uint32(x)
		}
	}
	return m
}
