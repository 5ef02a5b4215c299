package main

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestPorts: -P reports only connects to the listed destination ports.
func TestPorts(t *testing.T) {
	a, b, c := e2e.Listen(t, "127.0.0.1"), e2e.Listen(t, "::1"), e2e.Listen(t, "127.0.0.1")
	h := e2e.StartHelper(t,
		e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: a, Comm: "e2e-pa"},
		e2e.Connect{Kind: "v6", Addr: "::1", Port: b, Comm: "e2e-pb"},
		e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: c, Comm: "e2e-pc"},
	)
	tr := start(t, "-P", strconv.Itoa(a)+","+strconv.Itoa(b), "-p", strconv.Itoa(h.PID))
	h.Run(t)
	waitRows(t, tr, cols{}, h.PID, 2, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	tr.Stop(syscall.SIGINT)
	rows := parseRows(t, tr.Lines(), cols{})
	// Per-CPU rings: rows of different CPUs need not keep connect order.
	if len(rows) != 2 || !(rows[0].DPort == a && rows[1].DPort == b || rows[0].DPort == b && rows[1].DPort == a) {
		t.Errorf("rows %+v: want ports %d and %d only", rows, a, b)
	}
}

// TestUID: -U prints the UID column, -u filters on it.
func TestUID(t *testing.T) {
	port := e2e.Listen(t, "127.0.0.1")
	c := e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-uid"}
	me := os.Getuid()
	h := e2e.StartHelper(t, c)
	tr := start(t, "-U", "-u", strconv.Itoa(me), "-p", strconv.Itoa(h.PID))
	other := e2e.StartHelper(t, c)
	trOther := start(t, "-u", strconv.Itoa(me+4242), "-p", strconv.Itoa(other.PID))
	h.Run(t)
	other.Run(t)
	waitRows(t, tr, cols{UID: true}, h.PID, 1, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	tr.Stop(syscall.SIGINT)
	trOther.Stop(syscall.SIGINT)
	if want := "UID   " + wantHeader; tr.Lines()[0] != want {
		t.Errorf("header %q, want %q", tr.Lines()[0], want)
	}
	rows := parseRows(t, tr.Lines(), cols{UID: true})
	if len(rows) != 1 || rows[0].UID != me {
		t.Errorf("rows %+v: want one with UID %d", rows, me)
	}
	if rows := parseRows(t, trOther.Lines(), cols{}); len(rows) != 0 {
		t.Errorf("-u %d reported a connect of uid %d: %+v", me+4242, me, rows)
	}
}

// TestCgroup: --cgroup reports only processes in that cgroup (v2).
func TestCgroup(t *testing.T) {
	e2e.RequireKernel(t)
	dir := e2e.NewCgroup(t)
	port := e2e.Listen(t, "127.0.0.1")
	inside := e2e.StartHelper(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-cg-in"})
	e2e.MoveToCgroup(t, dir, inside.PID)
	outside := e2e.StartHelper(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-cg-out"})
	tr := start(t, "--cgroup", dir, "-P", strconv.Itoa(port))
	outside.Run(t)
	inside.Run(t)
	waitRows(t, tr, cols{}, inside.PID, 1, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	tr.Stop(syscall.SIGINT)
	for _, r := range parseRows(t, tr.Lines(), cols{}) {
		if r.PID != inside.PID {
			t.Errorf("row of pid %d (outside the cgroup): %+v", r.PID, r)
		}
	}
}
