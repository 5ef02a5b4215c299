package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestCountAndDuration: -c counts in the kernel and prints bcc's table
// when --duration ends the run, with no signal.
func TestCountAndDuration(t *testing.T) {
	port := e2e.Listen(t, "127.0.0.1")
	port6 := e2e.Listen(t, "::1")
	c4 := e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-count"}
	c6 := e2e.Connect{Kind: "v6", Addr: "::1", Port: port6, Comm: "e2e-count6"}
	began := time.Now()
	// Long enough for the helpers to start and connect on a loaded or
	// emulated machine: the probes stop when the duration ends.
	tr := start(t, "-c", "--duration", "6s")
	e2e.Connects(t, c4, c4, c4, c6)
	tr.WaitFor(30*time.Second, "the table", func(l []string) bool {
		for _, x := range l {
			if strings.HasPrefix(x, "LADDR") {
				return true
			}
		}
		return false
	})
	code, ok := tr.Wait(10 * time.Second)
	if !ok {
		t.Fatal("tracer still running after --duration")
	}
	if d := time.Since(began); d < 6*time.Second {
		t.Errorf("exited after %v, before --duration 6s", d)
	}
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	lines := tr.Lines()
	if len(lines) < 2 || lines[0] != "" {
		t.Fatalf("want a blank line before the table: %q", lines)
	}
	if h := "LADDR                     RADDR                     RPORT                CONNECTS  "; lines[1] != h {
		t.Errorf("table header %q, want %q", lines[1], h)
	}
	want := map[string]bool{
		"127.0.0.1 127.0.0.1 " + strconv.Itoa(port) + " 3": true,
		"::1 ::1 " + strconv.Itoa(port6) + " 1":            true,
	}
	for _, l := range lines[2:] {
		delete(want, strings.Join(strings.Fields(l), " "))
	}
	if len(want) != 0 {
		t.Errorf("table lacks %v:\n%s", want, strings.Join(lines, "\n"))
	}
}

// record is the JSON schema (docs/tcpconnect.md), as a consumer reads it.
type record struct {
	SchemaVersion *int    `json:"schema_version"`
	Type          string  `json:"type"`
	Time          string  `json:"time"`
	KtimeNs       *uint64 `json:"ktime_ns"`
	PID           int     `json:"pid"`
	TID           int     `json:"tid"`
	UID           *int    `json:"uid"`
	Comm          *string `json:"comm"`
	CommB64       string  `json:"comm_b64"`
	PPID          int     `json:"ppid"`
	PComm         *string `json:"pcomm"`
	Family        string  `json:"family"`
	Saddr         string  `json:"saddr"`
	Sport         *int    `json:"sport"`
	Daddr         string  `json:"daddr"`
	Dport         int     `json:"dport"`
	Attach        string  `json:"attach"`
	Netns         uint64  `json:"netns"`
	CgroupID      uint64  `json:"cgroup_id"`
	Ret           *int    `json:"ret"`
	Error         string  `json:"error"`
	Outcome       string  `json:"outcome"`
	LatencyNs     *uint64 `json:"latency_ns"`
	Count         *uint64 `json:"count"`
}
