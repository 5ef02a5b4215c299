package main

// Connects that the kernel side cannot report at once (a full map, a
// handshake still pending at exit) are counted at exit: shown + counted ==
// made, exactly, for each map that can fill.

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// pendingConnects is how many connects a helper leaves in SYN_SENT: 19,000
// on the host (a socket each: the host's open-file limit is 20,000), fewer
// where TCPV4CONNECT_TEST_PENDING says so (the emulated guests, where each
// connect costs a hundred times more). The sum is exact at any size.
func pendingConnects() int {
	if n, err := strconv.Atoi(os.Getenv("TCPV4CONNECT_TEST_PENDING")); err == nil && n > 0 {
		return n
	}
	return 19000
}

// exitCount reads a number from the exit report: the line of re, 0 when
// the report has no such line (it prints only non-zero counts).
func exitCount(t *testing.T, stderr string, re *regexp.Regexp) int {
	t.Helper()
	m := re.FindStringSubmatch(stderr)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatalf("exit report %q: %v", m[0], err)
	}
	return n
}

var (
	pendingRe     = regexp.MustCompile(`tcpconnect: (\d+) connects still in SYN_SENT at exit \(`)
	outcomeFullRe = regexp.MustCompile(`tcpconnect: (\d+) connects not reported \(the handshake tracker's map was full\)`)
	countFullRe   = regexp.MustCompile(`tcpconnect: (\d+) connects not counted \(the count table was full\)`)
)

// rowsOfPID counts the output rows of one process.
func rowsOfPID(lines []string, pid int) int {
	n := 0
	prefix := strconv.Itoa(pid) + " "
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// TestPendingAtExit: connects still in SYN_SENT when tracing stops are
// counted in the exit report, with -O (every mode) and -L (which waits for
// the handshake in tracepoint mode); with the handshake tracker shrunk,
// what it could not hold is counted too.
func TestPendingAtExit(t *testing.T) {
	e2e.RequireKernel(t)
	for _, tc := range []struct {
		name    string
		args    []string
		entries string // TCPV4CONNECT_TEST_MAP_ENTRIES
	}{
		{"outcome", []string{"-O"}, ""},
		{"lport", []string{"-L"}, ""},
		{"outcome-map-full", []string{"-O"}, "syn_sent=1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := e2e.StartPending(t, pendingConnects(), "e2e-pending")
			args := append([]string{"--attach", e2e.Attach(), "-4", "-p", strconv.Itoa(h.PID)}, tc.args...)
			tr := e2e.StartTracerEnv(t, []string{"TCPV4CONNECT_TEST_MAP_ENTRIES=" + tc.entries}, e2e.TCPConnectBin(), args...)
			h.Go(t)
			// The first connect completes: its row proves the handshake
			// tracker works; the rest are pending.
			tr.WaitFor(30*time.Second, "the established connect's row", func(l []string) bool { return rowsOfPID(l, h.PID) >= 1 })
			time.Sleep(time.Second)
			if code := tr.Stop(syscall.SIGINT); code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, tr.Stderr())
			}
			stderr := tr.Stderr()
			shown := rowsOfPID(tr.Lines(), h.PID)
			pending := exitCount(t, stderr, pendingRe)
			full := exitCount(t, stderr, outcomeFullRe)
			t.Logf("%s mode: made %d, shown %d, pending at exit %d, tracker full %d", e2e.Attach(), h.Made, shown, pending, full)
			if shown+pending+full != h.Made {
				t.Errorf("shown %d + pending %d + tracker full %d = %d, want the %d connects made; stderr:\n%s",
					shown, pending, full, shown+pending+full, h.Made, stderr)
			}
			if tc.entries != "" && full == 0 {
				t.Errorf("%d pending connects and a tracker of 1000: want a non-zero full count; stderr:\n%s", h.Made, stderr)
			}
		})
	}
}

// TestCountDistinct: count mode with 5,000 distinct destinations: the
// table holds them all (bcc's 10,240 keys); with the table shrunk, what it
// could not hold is counted, so table + not counted == made.
func TestCountDistinct(t *testing.T) {
	e2e.RequireKernel(t)
	const n = 5000
	for _, tc := range []struct {
		name, entries string
	}{
		{"default", ""},
		{"table-full", "counts=1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := e2e.ClosedPort(t)
			h := e2e.StartSpread(t, n, port, "e2e-spread")
			tr := e2e.StartTracerEnv(t, []string{"TCPV4CONNECT_TEST_MAP_ENTRIES=" + tc.entries}, e2e.TCPConnectBin(),
				"--attach", e2e.Attach(), "-c", "-p", strconv.Itoa(h.PID))
			h.Go(t)
			time.Sleep(500 * time.Millisecond)
			if code := tr.Stop(syscall.SIGINT); code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, tr.Stderr())
			}
			counted, keys := spreadCounts(t, tr.Lines())
			full := exitCount(t, tr.Stderr(), countFullRe)
			t.Logf("%s mode: made %d, table %d connects in %d rows, not counted %d", e2e.Attach(), h.Made, counted, keys, full)
			if counted+full != h.Made {
				t.Errorf("table %d + not counted %d = %d, want the %d connects made; stderr:\n%s", counted, full, counted+full, h.Made, tr.Stderr())
			}
			if tc.entries == "" && full != 0 {
				t.Errorf("%d destinations overflowed the default table", n)
			}
			if tc.entries != "" && (full == 0 || keys > 1000) {
				t.Errorf("table of 1000: %d rows, %d not counted; want at most 1000 rows and a non-zero count", keys, full)
			}
		})
	}
}

// spreadCounts sums the count table's rows for the spread helper's
// destinations (127.1.x.y): the connects they hold, and how many rows.
func spreadCounts(t *testing.T, lines []string) (connects, rows int) {
	t.Helper()
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 4 || !strings.HasPrefix(f[1], "127.1.") {
			continue
		}
		c, err := strconv.Atoi(f[3])
		if err != nil {
			t.Fatalf("count row %q: %v", l, err)
		}
		connects += c
		rows++
	}
	return connects, rows
}

// TestCountBlocked: a count table larger than the pipe its reader stopped
// reading: the run still ends at once, and the rows the pipe did not take
// are counted, so rows printed + not printed == made.
func TestCountBlocked(t *testing.T) {
	e2e.RequireKernel(t)
	const n = 5000 // about 400 kB of table: several pipes full
	port := e2e.ClosedPort(t)
	h := e2e.StartSpread(t, n, port, "e2e-spread")
	b := e2e.StartBlocked(t, e2e.TCPConnectBin(), "--attach", e2e.Attach(), "-c", "-p", strconv.Itoa(h.PID))
	h.Go(t)
	code, took, ok := b.Signal(syscall.SIGINT, 10*time.Second)
	if !ok {
		t.Fatalf("still running %v after SIGINT with stdout blocked (killed)", took)
	}
	if code != 0 {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, b.Stderr())
	}
	printed, _ := spreadCounts(t, strings.Split(b.Rest(), "\n"))
	unseen, lines := e2e.Unseen(b.Stderr(), "tcpconnect")
	t.Logf("made %d, printed %d, counted %d %q, exit after %v", h.Made, printed, unseen, lines, took.Round(time.Millisecond))
	if printed == h.Made {
		t.Fatalf("the whole table fitted in the pipe: the test needs more rows")
	}
	if printed+unseen != h.Made {
		t.Errorf("printed %d + counted %d = %d, want the %d connects made; stderr:\n%s", printed, unseen, printed+unseen, h.Made, b.Stderr())
	}
}
