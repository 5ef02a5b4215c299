package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestSharedFlags: the flags tcpv4connect shares with tcpconnect: -P
// filters destination ports, -U and -L add the UID and LPORT columns, -O
// adds the handshake's outcome, in every attach mode.
func TestSharedFlags(t *testing.T) {
	e2e.RequireKernel(t)
	a, b := e2e.Listen(t, "127.0.0.1"), e2e.Listen(t, "127.0.0.1")
	closed := e2e.ClosedPort(t)
	h := e2e.StartHelper(t,
		e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: b, Comm: "e2e-other"},
		e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: closed, Comm: "e2e-refused"},
		e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: a, Comm: "e2e-port"},
	)
	tr := e2e.StartTracer(t, e2e.Bin(), "--attach", e2e.Attach(), "-U", "-L", "-O",
		"-P", strconv.Itoa(a)+","+strconv.Itoa(closed), "-p", strconv.Itoa(h.PID))
	if want := "UID   PID    COMM         SADDR            LPORT  DADDR            DPORT OUTCOME      LAT(ms)"; tr.Header != want {
		t.Errorf("header %q, want %q", tr.Header, want)
	}
	h.Run(t)
	tr.WaitFor(10*time.Second, "2 rows", func(l []string) bool { return len(l) >= 2 })
	time.Sleep(300 * time.Millisecond)
	tr.Stop(syscall.SIGINT)
	lines := tr.Lines()
	if len(lines) != 2 {
		t.Fatalf("want 2 rows (ports %d and %d), got:\n%s", closed, a, strings.Join(lines, "\n"))
	}
	// Outcomes are reported when each handshake ends, in softirq on any
	// CPU: rows are matched by name, not by position.
	for _, want := range []struct {
		comm    string
		port    int
		outcome string
	}{{"e2e-refused", closed, "ECONNREFUSED"}, {"e2e-port", a, "ESTABLISHED"}} {
		n := 0
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) < 3 || f[2] != want.comm {
				continue
			}
			n++
			if len(f) != 9 || f[0] != "0" && f[0] != strconv.Itoa(syscall.Getuid()) || f[1] != strconv.Itoa(h.PID) ||
				f[4] == "0" || f[6] != strconv.Itoa(want.port) || f[7] != want.outcome {
				t.Errorf("row %q: want UID PID %s 127.0.0.1 LPORT 127.0.0.1 %d %s LAT", l, want.comm, want.port, want.outcome)
			}
		}
		if n != 1 {
			t.Errorf("%d rows of %s, want 1:\n%s", n, want.comm, strings.Join(lines, "\n"))
		}
	}
}

// TestCount: -c prints the table of in-kernel counts when --duration ends.
func TestCount(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.Listen(t, "127.0.0.1")
	c := e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-count"}
	// Long enough for a helper to start and connect on a loaded or
	// emulated machine: the probes stop when the duration ends.
	tr := e2e.StartTracer(t, e2e.Bin(), "--attach", e2e.Attach(), "-c", "--duration", "6s")
	e2e.Connects(t, c, c)
	tr.WaitFor(30*time.Second, "the table", func(l []string) bool {
		for _, x := range l {
			if strings.HasPrefix(x, "127.0.0.1") && strings.Fields(x)[2] == strconv.Itoa(port) {
				return true
			}
		}
		return false
	})
	for _, l := range tr.Lines() {
		if f := strings.Fields(l); len(f) == 4 && f[2] == strconv.Itoa(port) && f[3] != "2" {
			t.Errorf("row %q: want 2 connects", l)
		}
	}
}
