package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

func TestMain(m *testing.M) { e2e.Main(m) }

const (
	wantBanner = "Tracing connect ... Hit Ctrl-C to end"
	wantHeader = "PID     COMM         IP SADDR            DADDR            DPORT "
)

// start runs tcpconnect in the attach mode under test and checks the
// banner; the header is the first of Lines.
func start(t *testing.T, args ...string) *e2e.Tracer {
	t.Helper()
	e2e.RequireKernel(t)
	tr := e2e.StartTracer(t, e2e.TCPConnectBin(), append([]string{"--attach", e2e.Attach()}, args...)...)
	if tr.Header != wantBanner {
		t.Fatalf("first line %q, want the banner %q", tr.Header, wantBanner)
	}
	return tr
}

type (
	row  = e2e.Row
	cols = e2e.Cols
)

// parseRows parses tcpconnect's rows after the banner and header.
func parseRows(t *testing.T, lines []string, c cols) []row {
	t.Helper()
	return e2e.ParseRows(t, lines, e2e.LayoutTCPConnect, c)
}

// waitRows waits until pid has n rows.
func waitRows(t *testing.T, tr *e2e.Tracer, c cols, pid, n int, timeout time.Duration) {
	t.Helper()
	tr.WaitFor(timeout, strconv.Itoa(n)+" rows of pid "+strconv.Itoa(pid), func(l []string) bool {
		return len(e2e.RowsOf(parseRows(t, l, c), pid)) >= n
	})
}

// TestConnectScenarios: every kind of connect, IPv4 and IPv6, appears once
// with the right IP version, addresses and port; the header is bcc's.
func TestConnectScenarios(t *testing.T) {
	open := e2e.Listen(t, "127.0.0.1")
	open6 := e2e.Listen(t, "::1")
	closed := e2e.ClosedPort(t)
	cases := []struct {
		name  string
		c     e2e.Connect
		ip    int
		saddr string
	}{
		{"listening port", e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: open, Comm: "e2e-listen"}, 4, "127.0.0.1"},
		{"closed port", e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: closed, Comm: "e2e-closed"}, 4, "127.0.0.1"},
		{"non-blocking", e2e.Connect{Kind: "nonblock", Addr: "127.0.0.1", Port: open, Comm: "e2e-nonblock"}, 4, "127.0.0.1"},
		{"from a thread", e2e.Connect{Kind: "thread", Addr: "127.0.0.1", Port: open, Comm: "e2e-thread"}, 4, "127.0.0.1"},
		{"v4-mapped on AF_INET6", e2e.Connect{Kind: "mapped", Addr: "::ffff:127.0.0.1", Port: open, Comm: "e2e-mapped"}, 4, "127.0.0.1"},
		{"IPv6 ::1", e2e.Connect{Kind: "v6", Addr: "::1", Port: open6, Comm: "e2e-v6"}, 6, "::1"},
	}
	// -P keeps other programs' connects out (a benchmark may run).
	tr := start(t, "-P", strconv.Itoa(open)+","+strconv.Itoa(open6)+","+strconv.Itoa(closed))
	pids := make([]int, len(cases))
	for i, c := range cases {
		pids[i] = e2e.Connects(t, c.c)
	}
	waitRows(t, tr, cols{}, pids[len(pids)-1], 1, 10*time.Second)
	time.Sleep(300 * time.Millisecond) // room for a wrong extra row
	if code := tr.Stop(syscall.SIGINT); code != 0 {
		t.Errorf("exit code after SIGINT: %d, want 0; stderr:\n%s", code, tr.Stderr())
	}
	lines := tr.Lines()
	if len(lines) == 0 || lines[0] != wantHeader {
		t.Fatalf("header %q, want %q", lines, wantHeader)
	}
	rows := parseRows(t, lines, cols{})
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := e2e.RowsOf(rows, pids[i])
			if len(got) != 1 {
				t.Fatalf("pid %d: want 1 row, got %+v\nall:\n%s", pids[i], got, strings.Join(lines, "\n"))
			}
			r := got[0]
			if r.Comm != c.c.Comm || r.IP != c.ip || r.Saddr != c.saddr || r.Daddr != c.saddr || r.DPort != c.c.Port || len(r.Extra) != 0 {
				t.Errorf("row %+v, want %s IP %d %s -> %s:%d", r, c.c.Comm, c.ip, c.saddr, c.saddr, c.c.Port)
			}
		})
	}
	// bcc's rows end with the empty QUERY column: one trailing space.
	for _, l := range lines[1:] {
		if !strings.HasSuffix(l, " ") {
			t.Errorf("row %q does not end as bcc's (DPORT %%-6d, a space, the empty column)", l)
		}
	}
}

// TestFamilies: -4 traces IPv4 (and v4-mapped) only, -6 IPv6 only.
func TestFamilies(t *testing.T) {
	open := e2e.Listen(t, "127.0.0.1")
	open6 := e2e.Listen(t, "::1")
	v4 := e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: open, Comm: "e2e-fam4"}
	mapped := e2e.Connect{Kind: "mapped", Addr: "::ffff:127.0.0.1", Port: open, Comm: "e2e-famm"}
	v6 := e2e.Connect{Kind: "v6", Addr: "::1", Port: open6, Comm: "e2e-fam6"}
	// want maps each comm to the IP column of its one row, 0 for none. As
	// with bcc: a v4-mapped connect is one IPv4 row, except under -6
	// alone, where it is an IPv6 row with ::ffff: addresses.
	for _, tc := range []struct {
		flag  string
		conns []e2e.Connect // the last one is of the traced family
		want  map[string]int
	}{
		{"-4", []e2e.Connect{v6, mapped, v4}, map[string]int{"e2e-fam4": 4, "e2e-famm": 4, "e2e-fam6": 0}},
		{"-6", []e2e.Connect{v4, mapped, v6}, map[string]int{"e2e-fam4": 0, "e2e-famm": 6, "e2e-fam6": 6}},
		{"", []e2e.Connect{v6, mapped, v4}, map[string]int{"e2e-fam4": 4, "e2e-famm": 4, "e2e-fam6": 6}},
	} {
		name := tc.flag
		if name == "" {
			name = "both"
		}
		t.Run(name, func(t *testing.T) {
			h := e2e.StartHelper(t, tc.conns...)
			args := []string{"-p", strconv.Itoa(h.PID)}
			if tc.flag != "" {
				args = append(args, tc.flag)
			}
			tr := start(t, args...)
			h.Run(t)
			last := tc.conns[len(tc.conns)-1].Comm
			tr.WaitFor(10*time.Second, "the last connect", func(l []string) bool {
				for _, r := range parseRows(t, l, cols{}) {
					if r.Comm == last {
						return true
					}
				}
				return false
			})
			time.Sleep(300 * time.Millisecond)
			tr.Stop(syscall.SIGINT)
			got := map[string][]row{}
			for _, r := range parseRows(t, tr.Lines(), cols{}) {
				got[r.Comm] = append(got[r.Comm], r)
			}
			for comm, ip := range tc.want {
				rows := got[comm]
				switch {
				case ip == 0 && len(rows) != 0, ip != 0 && len(rows) != 1:
					t.Errorf("%s: %s has %d rows, want %d; rows:\n%s", name, comm, len(rows), min(ip, 1), strings.Join(tr.Lines(), "\n"))
				case ip != 0 && rows[0].IP != ip:
					t.Errorf("%s: %s is an IPv%d row, want IPv%d: %+v", name, comm, rows[0].IP, ip, rows[0])
				case comm == "e2e-famm" && ip == 6 && (rows[0].Saddr != "::ffff:127.0.0.1" || rows[0].Daddr != "::ffff:127.0.0.1"):
					t.Errorf("%s: v4-mapped row %+v, want ::ffff:127.0.0.1 both ways", name, rows[0])
				}
			}
		})
	}
}

// TestIPv4OnlyAttachesNoV6: with -4 nothing is attached to tcp_v6_connect:
// the tracer holds fewer programs and links than without it (fentry: one
// fexit less; kprobe: a kprobe and a kretprobe less).
func TestIPv4OnlyAttachesNoV6(t *testing.T) {
	e2e.RequireKernel(t)
	mode := ""
	held := func(args ...string) (progs, links int) {
		tr := start(t, append(args, "-v")...)
		h, err := e2e.HeldBy(tr.Cmd.Process.Pid)
		tr.Stop(syscall.SIGINT)
		if err != nil {
			t.Fatal(err)
		}
		mode = usedMode(tr)
		return len(h.IDs[e2e.KindProg]), len(h.IDs[e2e.KindLink]) + h.PerfEvents
	}
	p4, l4 := held("-4")
	p46, l46 := held()
	t.Logf("mode %s: -4: %d programs, %d links/perf events; both families: %d, %d", mode, p4, l4, p46, l46)
	if p4 > p46 || l4 > l46 {
		t.Errorf("-4 holds more than both families")
	}
	if mode == "tracepoint" {
		return // the same tracepoint serves both families
	}
	if p4 >= p46 || l4 >= l46 {
		t.Errorf("-4 holds as many programs or attachments as both families: tcp_v6_connect is probed")
	}
}

// usedMode returns the attach mode a tracer started with -v chose.
func usedMode(tr *e2e.Tracer) string {
	_, after, ok := strings.Cut(tr.Stderr(), "using attach mode ")
	if !ok {
		return ""
	}
	m, _, _ := strings.Cut(after, "\n")
	return m
}
