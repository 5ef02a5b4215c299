package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestBlockedStdout: tcpconnect, in text, JSON and -O modes, with stdout a
// full pipe and the tracer stuck writing to it: SIGTERM (or SIGHUP) ends
// it within the limit (the tool promises a second), exit 0, with the exit
// report on stderr.
func TestBlockedStdout(t *testing.T) {
	e2e.RequireKernel(t)
	for _, tc := range []struct {
		sig  syscall.Signal
		args []string
	}{
		{syscall.SIGTERM, nil},
		{syscall.SIGTERM, []string{"-j"}},
		{syscall.SIGHUP, []string{"-O"}},
	} {
		t.Run(tc.sig.String()+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			port := e2e.ClosedPort(t)
			storm := e2e.StartStorm(t, e2e.StormSpec{Port: port, Threads: 2, Max: 8000, Duration: 20 * time.Second, Comm: "e2e-blocked"})
			args := append([]string{"--attach", e2e.Attach(), "-4", "-v", "-p", strconv.Itoa(storm.PID)}, tc.args...)
			b := e2e.StartBlocked(t, e2e.TCPConnectBin(), args...)
			storm.Run(t)
			b.WaitBlocked(15 * time.Second)
			code, took, ok := b.Signal(tc.sig, 3*time.Second)
			if !ok {
				t.Fatalf("still running %v after %v with stdout blocked (killed)", took, tc.sig)
			}
			t.Logf("exit %d, %v after %v", code, took.Round(time.Millisecond), tc.sig)
			if code != 0 {
				t.Errorf("exit %d, want 0; stderr:\n%s", code, lastLines(b.Stderr(), 5))
			}
			if !strings.Contains(b.Stderr(), "tcpconnect: 0 malformed events (") {
				t.Errorf("no exit report (-v); stderr:\n%s", lastLines(b.Stderr(), 5))
			}
		})
	}
}
