package main

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

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
		for _, k := range []string{"schema_version", "type", "time", "ktime_ns", "pid", "tid", "uid", "comm", "ppid", "pcomm", "family", "saddr", "sport", "daddr", "dport", "attach", "netns", "cgroup_id", "ret"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("record %q lacks %q", l, k)
			}
		}
		ts, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil || ts.Before(began.Add(-2*time.Second)) || ts.After(time.Now().Add(2*time.Second)) {
			t.Errorf("time %q (%v): want RFC 3339 near now", r.Time, err)
		}
		// The helper is this test process's child.
		if r.PPID != os.Getpid() || r.PComm == nil || *r.PComm == "" {
			t.Errorf("record %q: want ppid %d (this test) and its pcomm", l, os.Getpid())
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
