package main

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
	"github.com/tcpv4connect/tcpv4connect/pkg/tracer"
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

// TestLPortAndTimestamps: -L shows the real source port (the listener sees
// it as the peer's port), -t the TIME(s) column: from the first row, or in
// tracepoint mode (rows printed when the handshake ends) from the start of
// tracing (TestTimestamps checks both meanings).
func TestLPortAndTimestamps(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peers := make(chan int, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			peers <- c.RemoteAddr().(*net.TCPAddr).Port
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	c := e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-lport"}
	h := e2e.StartHelper(t, c, c)
	tr := start(t, "-L", "-t", "-v", "-p", strconv.Itoa(h.PID))
	h.Run(t)
	want := map[int]bool{<-peers: true, <-peers: true}
	cl := cols{Time: true, LPort: true}
	waitRows(t, tr, cl, h.PID, 2, 10*time.Second)
	tr.Stop(syscall.SIGINT)
	lines := tr.Lines()
	if h := "TIME(s)  PID     COMM         IP SADDR            LPORT  DADDR            DPORT "; lines[0] != h {
		t.Errorf("header %q, want %q", lines[0], h)
	}
	rows := parseRows(t, lines, cl)
	for i, r := range rows {
		if !want[r.LPort] {
			t.Errorf("LPORT %d, want one of the ports the listener saw %v", r.LPort, want)
		}
		v, err := strconv.ParseFloat(r.Time, 64)
		switch {
		case err != nil || v < 0:
			t.Errorf("TIME(s) %q: want a number, never negative", r.Time)
		case i == 0 && !strings.Contains(tr.Stderr(), "using attach mode tracepoint\n") && r.Time != "0.000":
			t.Errorf("first TIME(s) %q, want 0.000", r.Time)
		}
	}
}

// TestCountAndDuration: -c counts in the kernel and prints bcc's table
// when --duration ends the run, with no signal.
func TestCountAndDuration(t *testing.T) {
	port := e2e.Listen(t, "127.0.0.1")
	port6 := e2e.Listen(t, "::1")
	c4 := e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-count"}
	c6 := e2e.Connect{Kind: "v6", Addr: "::1", Port: port6, Comm: "e2e-count6"}
	began := time.Now()
	tr := start(t, "-c", "--duration", "3s")
	e2e.Connects(t, c4, c4, c4, c6)
	tr.WaitFor(15*time.Second, "the table", func(l []string) bool {
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
	if d := time.Since(began); d < 3*time.Second {
		t.Errorf("exited after %v, before --duration 3s", d)
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

// TestJSON: -j prints a start record, then one valid record per connect
// with every field of the schema; a comm that is not UTF-8 keeps its bytes.
func TestJSON(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.Listen(t, "127.0.0.1")
	port6 := e2e.Listen(t, "::1")
	badComm := "e2e-\xff\xfej"
	h := e2e.StartHelper(t,
		e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-json"},
		e2e.Connect{Kind: "v6", Addr: "::1", Port: port6, Comm: badComm},
	)
	tr := e2e.StartTracer(t, e2e.TCPConnectBin(), "--attach", e2e.Attach(), "-j", "-p", strconv.Itoa(h.PID))
	var st record
	if err := json.Unmarshal([]byte(tr.Header), &st); err != nil || st.Type != "start" || st.SchemaVersion == nil || *st.SchemaVersion != 1 {
		t.Fatalf("first line %q (%v): want the start record, schema_version 1", tr.Header, err)
	}
	began := time.Now()
	h.Run(t)
	tr.WaitFor(10*time.Second, "2 records", func(l []string) bool { return len(l) >= 2 })
	time.Sleep(300 * time.Millisecond)
	tr.Stop(syscall.SIGINT)
	lines := tr.Lines()
	if len(lines) != 2 {
		t.Fatalf("want 2 records, got:\n%s", strings.Join(lines, "\n"))
	}
	for i, l := range lines {
		var r record
		dec := json.NewDecoder(strings.NewReader(l))
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("record %q: %v", l, err)
		}
		var raw map[string]any
		_ = json.Unmarshal([]byte(l), &raw)
		for _, k := range []string{"schema_version", "type", "time", "ktime_ns", "pid", "tid", "uid", "comm", "family", "saddr", "sport", "daddr", "dport", "attach", "netns", "cgroup_id", "ret"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("record %q lacks %q", l, k)
			}
		}
		ts, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil || ts.Before(began.Add(-2*time.Second)) || ts.After(time.Now().Add(2*time.Second)) {
			t.Errorf("time %q (%v): want RFC 3339 near now", r.Time, err)
		}
		if r.Type != "connect" || r.PID != h.PID || r.TID == 0 || r.UID == nil || *r.UID != os.Getuid() ||
			r.Netns == 0 || r.CgroupID == 0 || r.KtimeNs == nil || *r.KtimeNs == 0 {
			t.Errorf("record %q: wrong type, ids or times", l)
		}
		if mode := e2e.Attach(); mode != "auto" && r.Attach != mode {
			t.Errorf("attach %q, want %q", r.Attach, mode)
		}
		if r.Attach == "tracepoint" {
			if r.Ret != nil || r.Sport != nil {
				t.Errorf("tracepoint record %q: ret and sport must be null (unknown)", l)
			}
		} else if r.Ret == nil || *r.Ret != 0 || r.Sport == nil || *r.Sport == 0 {
			t.Errorf("%s record %q: want ret 0 and a source port", r.Attach, l)
		}
		switch i {
		case 0:
			if *r.Comm != "e2e-json" || r.CommB64 != "" || r.Family != "ipv4" || r.Saddr != "127.0.0.1" || r.Daddr != "127.0.0.1" || r.Dport != port {
				t.Errorf("record %q: want e2e-json ipv4 127.0.0.1 -> 127.0.0.1:%d", l, port)
			}
		case 1:
			b, err := base64.StdEncoding.DecodeString(r.CommB64)
			if err != nil || string(b) != badComm {
				t.Errorf("comm_b64 %q decodes to %q (%v), want %q", r.CommB64, b, err, badComm)
			}
			if r.Family != "ipv6" || r.Saddr != "::1" || r.Daddr != "::1" || r.Dport != port6 {
				t.Errorf("record %q: want ipv6 ::1 -> ::1:%d", l, port6)
			}
		}
	}
}

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
