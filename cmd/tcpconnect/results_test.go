package main

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
	"github.com/tcpv4connect/tcpv4connect/pkg/tracer"
)

// TestOutcome: -O reports each handshake's result and latency:
// ESTABLISHED, ECONNREFUSED, and ETIMEDOUT for a SYN dropped inside the
// helper's own network namespace (see e2e's "blackhole" connects).
func TestOutcome(t *testing.T) {
	open := e2e.Listen(t, "127.0.0.1")
	open6 := e2e.Listen(t, "::1")
	closed := e2e.ClosedPort(t)
	cases := []struct {
		c       e2e.Connect
		outcome string
		minMs   float64
	}{
		{e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: open, Comm: "e2e-est"}, "ESTABLISHED", 0},
		{e2e.Connect{Kind: "v6", Addr: "::1", Port: open6, Comm: "e2e-est6"}, "ESTABLISHED", 0},
		{e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: closed, Comm: "e2e-refused"}, "ECONNREFUSED", 0},
		{e2e.Connect{Kind: "blackhole", Addr: "127.0.0.1", Port: 9, Comm: "e2e-timeout"}, "ETIMEDOUT", 900},
	}
	ports := []string{strconv.Itoa(open), strconv.Itoa(open6), strconv.Itoa(closed), "9"}
	tr := start(t, "-O", "-P", strings.Join(ports, ","))
	pids := make([]int, len(cases))
	for i, c := range cases {
		pids[i] = e2e.Connects(t, c.c)
	}
	waitRows(t, tr, cols{}, pids[len(pids)-1], 1, 20*time.Second)
	tr.Stop(syscall.SIGINT)
	lines := tr.Lines()
	if h := wantHeader + " OUTCOME      LAT(ms)"; lines[0] != h {
		t.Errorf("header %q, want %q", lines[0], h)
	}
	rows := parseRows(t, lines, cols{})
	for i, c := range cases {
		t.Run(c.outcome+"/"+c.c.Kind, func(t *testing.T) {
			got := e2e.RowsOf(rows, pids[i])
			want := 1
			if c.c.Kind == "blackhole" {
				want = 2 // first the connect that fills the accept queue
			}
			if len(got) != want || len(got[want-1].Extra) != 2 {
				t.Fatalf("pid %d: want %d rows with OUTCOME and LAT(ms), got %+v\nall:\n%s", pids[i], want, got, strings.Join(lines, "\n"))
			}
			r := got[want-1]
			lat, err := strconv.ParseFloat(r.Extra[1], 64)
			if r.Extra[0] != c.outcome || err != nil || lat < c.minMs || r.DPort != c.c.Port {
				t.Errorf("row %+v: want %s to port %d, LAT(ms) >= %v", r, c.outcome, c.c.Port, c.minMs)
			}
		})
	}
}

// TestFailed: -x reports a connect that tcp_v4_connect rejected at once
// (EADDRNOTAVAIL: the 4-tuple is in use) with its errno name.
func TestFailed(t *testing.T) {
	e2e.RequireKernel(t)
	if !knowsReturn(t) {
		t.Skip("-x needs the return value of tcp_v4_connect, which attach mode tracepoint cannot see (the flag is refused there: TestUsage, TestFailedRefused)")
	}
	port := e2e.Listen(t, "127.0.0.1")
	h := e2e.StartHelper(t, e2e.Connect{Kind: "addrinuse", Addr: "127.0.0.1", Port: port, Comm: "e2e-inuse"})
	tr := start(t, "-x", "-p", strconv.Itoa(h.PID))
	h.Run(t)
	waitRows(t, tr, cols{}, h.PID, 2, 10*time.Second)
	tr.Stop(syscall.SIGINT)
	lines := tr.Lines()
	if h := wantHeader + " ERR"; lines[0] != h {
		t.Errorf("header %q, want %q", lines[0], h)
	}
	rows := parseRows(t, lines, cols{})
	if len(rows) != 2 || len(rows[0].Extra) != 1 || rows[0].Extra[0] != "-" || len(rows[1].Extra) != 1 || rows[1].Extra[0] != "EADDRNOTAVAIL" {
		t.Errorf("rows %+v: want a good connect (ERR -) then EADDRNOTAVAIL\n%s", rows, strings.Join(lines, "\n"))
	}
}

// knowsReturn reports whether the mode under test sees tcp_v4_connect's
// return value; for auto, whether fentry or kprobe works here.
func knowsReturn(t *testing.T) bool {
	t.Helper()
	switch e2e.Attach() {
	case "fentry", "kprobe":
		return true
	case "tracepoint":
		return false
	}
	out, _ := exec.Command(e2e.TCPConnectBin(), "--check").Output()
	return strings.Contains(string(out), "fentry: ok") || strings.Contains(string(out), "kprobe: ok")
}

// TestFailedRefused: where auto can only pick tracepoint, -x fails at
// once with exit 1 and says why (--attach tracepoint -x is a usage error).
func TestFailedRefused(t *testing.T) {
	e2e.RequireKernel(t)
	if e2e.Attach() != "auto" {
		t.Skip("only for --attach auto (an explicit tracepoint is a usage error: TestUsage)")
	}
	if knowsReturn(t) {
		t.Skip("fentry or kprobe works here: -x is tested by TestFailed")
	}
	out, err := exec.Command(e2e.TCPConnectBin(), "-x").CombinedOutput()
	if code := e2e.ExitCode(err); code != 1 || !strings.Contains(string(out), "-x/--failed: "+tracer.ErrFailedNeedsReturn.Error()+", and neither works on this kernel") {
		t.Errorf("-x with only tracepoint available: exit %d, output %q; want exit 1 and why", code, out)
	}
}

// TestWithoutFailedFlag: a rejected connect is not reported without -x
// (bcc prints only connects that returned 0), in every mode.
func TestWithoutFailedFlag(t *testing.T) {
	port := e2e.Listen(t, "127.0.0.1")
	h := e2e.StartHelper(t, e2e.Connect{Kind: "addrinuse", Addr: "127.0.0.1", Port: port, Comm: "e2e-inuse"})
	tr := start(t, "-v", "-p", strconv.Itoa(h.PID))
	h.Run(t)
	waitRows(t, tr, cols{}, h.PID, 1, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	tr.Stop(syscall.SIGINT)
	rows := parseRows(t, tr.Lines(), cols{})
	// The tracepoint fires at SYN_SENT, before the 4-tuple check, so it
	// reports the rejected attempt too: it cannot know the result.
	want := 1
	if usedMode(tr) == "tracepoint" {
		want = 2
	}
	if len(rows) != want {
		t.Errorf("rows %+v: want %d", rows, want)
	}
}
