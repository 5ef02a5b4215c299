package e2e

import (
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Layout is where a command's fixed-width columns sit.
type Layout struct {
	pidWidth int  // PID column, with its trailing space
	ip       bool // an IP version column after COMM
}

// The two commands' layouts: bcc's tcpv4connect ("%-6d %-12.12s") and
// tcpconnect ("%-7d %-12.12s %-2d").
var (
	LayoutTCPV4Connect = Layout{pidWidth: 7}
	LayoutTCPConnect   = Layout{pidWidth: 8, ip: true}
)

// Cols says which optional columns a tracer prints.
type Cols struct{ Time, UID, LPort bool }

// Row is one parsed output line.
type Row struct {
	Time         string
	UID, PID     int
	Comm         string
	IP           int // tcpconnect only
	Saddr, Daddr string
	LPort, DPort int
	Extra        []string // the -x / -O columns
}

// ParseRows parses output rows, skipping header lines. COMM is
// fixed-width, so names with spaces parse too.
func ParseRows(t testing.TB, lines []string, lay Layout, c Cols) []Row {
	t.Helper()
	var rows []Row
	for _, l := range lines {
		if strings.HasPrefix(l, "TIME(s)") || strings.HasPrefix(l, "UID") || strings.HasPrefix(l, "PID") {
			continue
		}
		var r Row
		var err error
		if c.Time {
			r.Time, l = strings.TrimSpace(l[:min(9, len(l))]), l[min(9, len(l)):]
		}
		if c.UID {
			if r.UID, err = strconv.Atoi(strings.TrimSpace(l[:min(6, len(l))])); err != nil {
				t.Fatalf("row %q: uid: %v", l, err)
			}
			l = l[6:]
		}
		if len(l) < lay.pidWidth+13+17+17+2 {
			t.Fatalf("short row %q", l)
		}
		if r.PID, err = strconv.Atoi(strings.TrimSpace(l[:lay.pidWidth-1])); err != nil {
			t.Fatalf("row %q: pid: %v", l, err)
		}
		r.Comm = strings.TrimRight(l[lay.pidWidth:lay.pidWidth+12], " ")
		f := strings.Fields(l[lay.pidWidth+13:])
		n := 3
		if lay.ip {
			n++
		}
		if c.LPort {
			n++
		}
		if len(f) < n {
			t.Fatalf("row %q: too few columns", l)
		}
		if lay.ip {
			r.IP, _ = strconv.Atoi(f[0])
			f = f[1:]
		}
		r.Saddr, f = f[0], f[1:]
		if c.LPort {
			r.LPort, _ = strconv.Atoi(f[0])
			f = f[1:]
		}
		r.Daddr = f[0]
		if r.DPort, err = strconv.Atoi(f[1]); err != nil {
			t.Fatalf("row %q: dport: %v", l, err)
		}
		r.Extra = f[2:]
		rows = append(rows, r)
	}
	return rows
}

// RowsOf returns the rows of one process.
func RowsOf(rows []Row, pid int) []Row {
	var out []Row
	for _, r := range rows {
		if r.PID == pid {
			out = append(out, r)
		}
	}
	return out
}

// ExitCode is a finished command's exit code: 0 for a nil error, -1 when
// it did not exit normally.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// reportLine is one counter of an exit report: "<name>: <n> <what> (<why>)".
var reportLine = regexp.MustCompile(`(?m)^([a-z0-9]+): (\d+) ([a-z][a-zA-Z0-9_ -]*) \(`)

// Unseen sums the exit report's counters of connects not shown (every
// line of name's report but its malformed events, which are samples, not
// connects), and returns the lines it summed.
func Unseen(stderr, name string) (n int, lines []string) {
	for _, m := range reportLine.FindAllStringSubmatch(stderr, -1) {
		if m[1] != name || strings.HasPrefix(m[3], "malformed") {
			continue
		}
		c, _ := strconv.Atoi(m[2])
		n += c
		lines = append(lines, m[0])
	}
	return n, lines
}
