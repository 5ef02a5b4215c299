package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// mounts returns the mount table's tracefs and debugfs lines.
func mounts(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 2 && (f[2] == "tracefs" || f[2] == "debugfs") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestSimultaneousPairs starts pairs of tracers at the same moment, 100
// pairs in turn (TCPV4CONNECT_TEST_PAIRS: fewer under emulation). Every
// instance must attach, print its header and exit 0, and the mount table
// must be as it was: the tracer never mounts tracefs on the host, so two
// instances cannot race over it.
func TestSimultaneousPairs(t *testing.T) {
	e2e.RequireKernel(t)
	pairs := 100
	if n, err := strconv.Atoi(os.Getenv("TCPV4CONNECT_TEST_PAIRS")); err == nil && n > 0 {
		pairs = n
	}
	before := mounts(t)
	failed := 0
	for i := 0; i < pairs && failed < 5; i++ {
		var wg sync.WaitGroup
		out := make([]string, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		for j := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(e2e.Bin(), "--attach", e2e.Attach(), "--duration", "1ms")
				<-start
				b, err := cmd.CombinedOutput()
				out[j], errs[j] = string(b), err
			}()
		}
		close(start)
		wg.Wait()
		for j := range 2 {
			if errs[j] != nil || !strings.HasPrefix(out[j], wantHeader) {
				failed++
				t.Errorf("pair %d, instance %d: %v\n%s", i+1, j+1, errs[j], out[j])
			}
		}
	}
	if after := mounts(t); after != before {
		t.Errorf("mount table changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
