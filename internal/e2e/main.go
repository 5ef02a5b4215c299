package e2e

import (
	"os"
	"testing"
)

// Main is the TestMain of every test binary that uses the kit. The kit
// re-executes the test binary as its helper processes (connect helpers,
// storms, pending connects, the restricted wrapper); Main runs the helper
// when this process is one, and the tests otherwise.
func Main(m *testing.M) {
	for _, helper := range []func() (int, bool){runRestrict, stormProcess, pendingProcess, helperProcess} {
		if code, ok := helper(); ok {
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}
