package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestTimestamps: what -t's TIME(s) counts from. Plain -t is bcc's
// tcpconnect: the first row is 0.000 and times never decrease. Where rows
// are printed when the handshake ends (-O, and -L in tracepoint mode), a
// row may come after one of a later connect, so TIME(s) counts from the
// start of tracing instead: never negative, at least the pause the test
// made before its first connect, at most the run's length.
func TestTimestamps(t *testing.T) {
	port := e2e.Listen(t, "127.0.0.1")
	c := e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-ts"}
	const pause = 1500 * time.Millisecond
	for _, tc := range []struct {
		name string
		args []string
		cl   cols
	}{
		{"plain", []string{"-t"}, cols{Time: true}},
		{"outcome", []string{"-t", "-O"}, cols{Time: true}},
		{"lport", []string{"-t", "-L"}, cols{Time: true, LPort: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := e2e.StartHelper(t, c, c, c)
			launched := time.Now()
			tr := start(t, append(tc.args, "-v", "-p", strconv.Itoa(h.PID))...)
			time.Sleep(pause) // tracing began before the banner
			h.Run(t)
			waitRows(t, tr, tc.cl, h.PID, 3, 10*time.Second)
			upper := time.Since(launched).Seconds()
			if code := tr.Stop(syscall.SIGINT); code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
			tracepoint := strings.Contains(tr.Stderr(), "using attach mode tracepoint\n")
			sinceStart := tc.name == "outcome" || (tc.name == "lport" && tracepoint)
			rows := parseRows(t, tr.Lines(), tc.cl)
			if len(rows) != 3 {
				t.Fatalf("want 3 rows, got %d", len(rows))
			}
			prev := -1.0
			for i, r := range rows {
				v, err := strconv.ParseFloat(r.Time, 64)
				if err != nil || v < 0 || v > upper {
					t.Errorf("TIME(s) %q: want a number from 0 to the %.3f s the run lasted", r.Time, upper)
				}
				switch {
				case sinceStart && i == 0 && v < pause.Seconds():
					t.Errorf("first TIME(s) %s: want the seconds since tracing began, at least the %v pause before the first connect", r.Time, pause)
				case !sinceStart && i == 0 && r.Time != "0.000":
					t.Errorf("first TIME(s) %q, want 0.000 (bcc: since the first row)", r.Time)
				case !sinceStart && v < prev:
					t.Errorf("TIME(s) %s after %.3f: want non-decreasing", r.Time, prev)
				}
				prev = v
			}
		})
	}
}
