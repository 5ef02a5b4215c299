package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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

// TestTwoInstances: two tracers at once both see every connect, and
// stopping one does not disturb the other.
func TestTwoInstances(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.ClosedPort(t)
	// One helper in two phases (2 connects, then one per CPU), so that
	// both tracers can filter on its pid: other traffic on the host must
	// not crowd their buffers.
	h := e2e.StartStorm(t, e2e.StormSpec{Port: port, Threads: 1, Max: 2, Duration: time.Minute, Comm: "e2e-two"})
	a := e2e.StartTracer(t, e2e.Bin(), "--attach", e2e.Attach(), "-p", strconv.Itoa(h.PID))
	b := e2e.StartTracer(t, e2e.Bin(), "--attach", e2e.Attach(), "-p", strconv.Itoa(h.PID))
	count := func(l []string) int { return len(e2e.RowsOf(parseRows(t, l, false), h.PID)) }

	if r := h.Run(t); r.Made != 2 {
		t.Fatalf("helper made %d connects, want 2 (%s)", r.Made, r.Err)
	}
	for _, tr := range []*e2e.Tracer{a, b} {
		tr.WaitFor(10*time.Second, "both connects", func(l []string) bool { return count(l) == 2 })
	}
	if code := a.Stop(syscall.SIGINT); code != 0 {
		t.Errorf("first tracer: exit %d", code)
	}
	more := h.Sentinels(t)
	b.WaitFor(10*time.Second, "the connects after the first tracer stopped",
		func(l []string) bool { return count(l) == 2+more })
	time.Sleep(300 * time.Millisecond)
	if code := b.Stop(syscall.SIGINT); code != 0 {
		t.Errorf("second tracer: exit %d", code)
	}
	if n := count(b.Lines()); n != 2+more {
		t.Errorf("second tracer: %d rows, want %d", n, 2+more)
	}
	if n := count(a.Lines()); n != 2 {
		t.Errorf("first tracer: %d rows, want 2", n)
	}
	for _, tr := range []*e2e.Tracer{a, b} {
		if strings.Contains(strings.ToLower(tr.Stderr()), "lost") {
			t.Errorf("loss reported: %s", tr.Stderr())
		}
	}
}
