package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestExitReportQuiet: a run that lost nothing ends with nothing on
// stderr, in every attach mode (kprobe mode used to print "0 kretprobe
// misses" at every exit); with -v the report is there, zeros and all,
// with the kretprobe line in kprobe mode only.
func TestExitReportQuiet(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.Listen(t, "127.0.0.1")
	c := e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-quiet"}
	for _, verbose := range []bool{false, true} {
		t.Run("verbose="+strconv.FormatBool(verbose), func(t *testing.T) {
			h := e2e.StartHelper(t, c)
			args := []string{"--attach", e2e.Attach(), "-p", strconv.Itoa(h.PID)}
			if verbose {
				args = append(args, "-v")
			}
			tr := e2e.StartTracer(t, e2e.Bin(), args...)
			h.Run(t)
			tr.WaitFor(10*time.Second, "the connect", hasPID(h.PID))
			if code := tr.Stop(syscall.SIGINT); code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
			stderr := tr.Stderr()
			if !verbose {
				if stderr != "" {
					t.Errorf("stderr %q, want nothing: nothing was lost", stderr)
				}
				return
			}
			want := []string{"tcpv4connect: 0 events lost in total (", "tcpv4connect: 0 malformed events ("}
			kprobe := strings.Contains(stderr, "using attach mode kprobe\n")
			for _, w := range want {
				if !strings.Contains(stderr, w) {
					t.Errorf("-v: no %q line in the exit report; stderr:\n%s", w, lastLines(stderr, 6))
				}
			}
			if has := strings.Contains(stderr, "kretprobe misses ("); has != kprobe {
				t.Errorf("-v: kretprobe miss line %v, want it in kprobe mode only (kprobe mode: %v); stderr:\n%s", has, kprobe, lastLines(stderr, 6))
			}
		})
	}
}
