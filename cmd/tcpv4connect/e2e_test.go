package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

func TestMain(m *testing.M) { e2e.Main(m) }

const wantHeader = "PID    COMM         SADDR            DADDR            DPORT"

type row = e2e.Row

// parseRows parses tcpv4connect's rows, with TIME(s) first if timestamps.
func parseRows(t *testing.T, lines []string, timestamps bool) []row {
	t.Helper()
	return e2e.ParseRows(t, lines, e2e.LayoutTCPV4Connect, e2e.Cols{Time: timestamps})
}

func hasPID(pid int) func([]string) bool {
	re := regexp.MustCompile(`^` + strconv.Itoa(pid) + ` `)
	return func(lines []string) bool {
		for _, l := range lines {
			if re.MatchString(l) {
				return true
			}
		}
		return false
	}
}

// TestConnectScenarios makes real connects of every kind and checks that
// each appears exactly once, with the right PID, COMM, addresses and port.
func TestConnectScenarios(t *testing.T) {
	e2e.RequireKernel(t)
	open := e2e.Listen(t, "127.0.0.1")
	open6 := e2e.Listen(t, "::1")
	closed := e2e.ClosedPort(t)

	cases := []struct {
		name string
		c    e2e.Connect
		want bool
	}{
		{"listening port", e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: open, Comm: "e2e-listen"}, true},
		{"closed port", e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: closed, Comm: "e2e-closed"}, true},
		{"non-blocking", e2e.Connect{Kind: "nonblock", Addr: "127.0.0.1", Port: open, Comm: "e2e-nonblock"}, true},
		{"from a thread", e2e.Connect{Kind: "thread", Addr: "127.0.0.1", Port: open, Comm: "e2e-thread"}, true},
		{"v4-mapped on AF_INET6", e2e.Connect{Kind: "mapped", Addr: "::ffff:127.0.0.1", Port: open, Comm: "e2e-mapped"}, true},
		{"pure IPv6 ::1", e2e.Connect{Kind: "v6", Addr: "::1", Port: open6, Comm: "e2e-v6"}, false},
	}

	tr := e2e.StartTracer(t, e2e.Bin(), "--attach", e2e.Attach())
	if tr.Header != wantHeader {
		t.Fatalf("header %q, want %q", tr.Header, wantHeader)
	}
	pids := make([]int, len(cases))
	for i, c := range cases {
		pids[i] = e2e.Connects(t, c.c)
	}
	// The last v4 connect has shown up: everything before it was read.
	tr.WaitFor(10*time.Second, "the v4-mapped connect", hasPID(pids[4]))
	time.Sleep(300 * time.Millisecond) // room for a wrong extra row to arrive
	if code := tr.Stop(syscall.SIGINT); code != 0 {
		t.Errorf("exit code after SIGINT: %d, want 0; stderr:\n%s", code, tr.Stderr())
	}
	rows := parseRows(t, tr.Lines(), false)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := e2e.RowsOf(rows, pids[i])
			if !c.want {
				if len(got) != 0 {
					t.Fatalf("pid %d: want no row, got %+v", pids[i], got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("pid %d: want exactly 1 row, got %d: %+v\nall rows:\n%s", pids[i], len(got), got, strings.Join(tr.Lines(), "\n"))
			}
			r := got[0]
			if r.Comm != c.c.Comm || r.Saddr != "127.0.0.1" || r.Daddr != "127.0.0.1" || r.DPort != c.c.Port {
				t.Errorf("row %+v, want comm %s 127.0.0.1 -> 127.0.0.1:%d", r, c.c.Comm, c.c.Port)
			}
		})
	}
}

// TestPIDFilter: with -p only the chosen process is reported, although
// another one connects too.
func TestPIDFilter(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.Listen(t, "127.0.0.1")
	c := e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port}
	c.Comm = "e2e-chosen"
	chosen := e2e.StartHelper(t, c, c)
	c.Comm = "e2e-other"
	other := e2e.StartHelper(t, c, c)

	tr := e2e.StartTracer(t, e2e.Bin(), "--attach", e2e.Attach(), "-p", strconv.Itoa(chosen.PID))
	other.Run(t)
	chosen.Run(t)
	tr.WaitFor(10*time.Second, "two rows of the chosen pid", func(l []string) bool {
		return len(e2e.RowsOf(parseRows(t, l, false), chosen.PID)) == 2
	})
	time.Sleep(300 * time.Millisecond)
	tr.Stop(syscall.SIGINT)
	for _, r := range parseRows(t, tr.Lines(), false) {
		if r.PID != chosen.PID {
			t.Errorf("row of pid %d with -p %d: %+v", r.PID, chosen.PID, r)
		}
	}
}

// TestTimestamps: -t adds TIME(s), the seconds since tracing began (as in
// bcc's example, whose first row reads 31.871): the first row is at least
// the pause the test made before connecting, no row is later than the
// run's length, and the times never decrease.
func TestTimestamps(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.Listen(t, "127.0.0.1")
	c := e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-ts"}
	h := e2e.StartHelper(t, c, c, c, c, c)
	launched := time.Now()
	tr := e2e.StartTracer(t, e2e.Bin(), "--attach", e2e.Attach(), "-t", "-p", strconv.Itoa(h.PID))
	if want := "TIME(s)  " + wantHeader; tr.Header != want {
		t.Fatalf("header %q, want %q", tr.Header, want)
	}
	const pause = 1500 * time.Millisecond
	time.Sleep(pause) // tracing began before the header: TIME >= pause
	h.Run(t)
	tr.WaitFor(10*time.Second, "5 rows", func(l []string) bool { return len(l) >= 5 })
	upper := time.Since(launched).Seconds()
	if code := tr.Stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit code after SIGTERM: %d, want 0", code)
	}
	rows := parseRows(t, tr.Lines(), true)
	if len(rows) != 5 {
		t.Fatalf("want 5 rows, got %d", len(rows))
	}
	prev := -1.0
	for i, r := range rows {
		v, err := strconv.ParseFloat(r.Time, 64)
		if err != nil || v < prev {
			t.Errorf("TIME(s) %q after %.3f: want a non-decreasing number", r.Time, prev)
		}
		if i == 0 && v < pause.Seconds() {
			t.Errorf("first TIME(s) %s: want the seconds since tracing began, at least the %v pause before the first connect", r.Time, pause)
		}
		if v > upper {
			t.Errorf("TIME(s) %s: later than the %.3f s since the tracer was launched", r.Time, upper)
		}
		prev = v
	}
}

// TestClosedStdout: like `tcpv4connect | head -1`, the tracer exits 0 and
// quietly once its reader is gone.
func TestClosedStdout(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.Listen(t, "127.0.0.1")
	cmd := exec.Command(e2e.Bin(), "--attach", e2e.Attach())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(wantHeader)+1)
	if _, err := out.Read(buf); err != nil {
		t.Fatalf("read header: %v", err)
	}
	out.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(15 * time.Second)
	for {
		e2e.Connects(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-head"})
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("exit: %v, want 0; stderr: %s", err, stderr.String())
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr not quiet: %q", stderr.String())
			}
			return
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatal("tracer still running 15s after its stdout closed")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestAutoMode: auto picks the expected mode (TCPV4CONNECT_EXPECT_AUTO),
// and -v says why the modes before it failed.
func TestAutoMode(t *testing.T) {
	e2e.RequireKernel(t)
	want := os.Getenv("TCPV4CONNECT_EXPECT_AUTO")
	if want == "" {
		t.Skip("TCPV4CONNECT_EXPECT_AUTO not set")
	}
	tr := e2e.StartTracer(t, e2e.Bin(), "--attach", "auto", "-v")
	tr.Stop(syscall.SIGINT)
	if !strings.Contains(tr.Stderr(), "using attach mode "+want+"\n") {
		t.Errorf("auto did not pick %s; stderr:\n%s", want, tr.Stderr())
	}
}

// TestNoBTF: with the kernel's BTF hidden the tool fails clearly, and
// --btf FILE makes it work (the VM matrix hides the BTF and sets the env).
func TestNoBTF(t *testing.T) {
	e2e.RequireKernel(t)
	btf := os.Getenv("TCPV4CONNECT_NOBTF_FILE")
	if btf == "" {
		t.Skip("TCPV4CONNECT_NOBTF_FILE not set: only the VM matrix hides the kernel BTF")
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err == nil {
		t.Fatal("kernel BTF is not hidden")
	}
	out, err := exec.Command(e2e.Bin()).CombinedOutput()
	if code := e2e.ExitCode(err); code != 1 || !strings.Contains(string(out), "no kernel BTF") || strings.Count(string(out), "\n") != 1 {
		t.Fatalf("without BTF: exit %d, output %q; want exit 1 and one line naming the missing BTF", code, out)
	}
	port := e2e.Listen(t, "127.0.0.1")
	tr := e2e.StartTracer(t, e2e.Bin(), "--btf", btf, "-v")
	pid := e2e.Connects(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-btf"})
	tr.WaitFor(10*time.Second, "the connect", hasPID(pid))
	tr.Stop(syscall.SIGINT)
}
