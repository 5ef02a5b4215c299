package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestParentOfExitedProcess: a connect from a process that exits at once,
// whose parent exits too, still names that parent (PID and name) in the
// --parent columns and in JSON's ppid and pcomm: both are recorded in the
// kernel at the connect, not looked up afterwards. The default header
// stays bcc's.
func TestParentOfExitedProcess(t *testing.T) {
	port := e2e.Listen(t, "127.0.0.1")
	ports := []string{"-P", strconv.Itoa(port)}
	text := start(t, append([]string{"--parent"}, ports...)...)
	js := e2e.StartTracer(t, e2e.TCPConnectBin(), append([]string{"--attach", e2e.Attach(), "-j"}, ports...)...)

	const parent = "e2e-parent-sh"
	o := e2e.OrphanConnect(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-orphan"}, parent)

	text.WaitFor(10*time.Second, "the orphan's row", func(l []string) bool { return len(l) >= 2 })
	js.WaitFor(10*time.Second, "the orphan's record", func(l []string) bool { return len(l) >= 1 })
	time.Sleep(300 * time.Millisecond) // room for a wrong extra row
	for _, tr := range []*e2e.Tracer{text, js} {
		if code := tr.Stop(syscall.SIGINT); code != 0 {
			t.Errorf("exit code %d, want 0; stderr:\n%s", code, tr.Stderr())
		}
	}

	lines := text.Lines()
	wantHeader := "PID     COMM         PPID    PCOMM        IP SADDR            DADDR            DPORT "
	if len(lines) != 2 || lines[0] != wantHeader {
		t.Fatalf("want the --parent header %q and one row, got:\n%s", wantHeader, strings.Join(lines, "\n"))
	}
	f := strings.Fields(lines[1])
	want := []string{strconv.Itoa(o.PID), "e2e-orphan", strconv.Itoa(o.PPID), parent[:12], "4", "127.0.0.1", "127.0.0.1", strconv.Itoa(port)}
	if strings.Join(f, " ") != strings.Join(want, " ") {
		t.Errorf("row %q:\n got %q\nwant %q", lines[1], f, want)
	}

	recs := js.Lines()
	if len(recs) != 1 {
		t.Fatalf("want one JSON record, got:\n%s", strings.Join(recs, "\n"))
	}
	var r record
	if err := json.Unmarshal([]byte(recs[0]), &r); err != nil {
		t.Fatalf("record %q: %v", recs[0], err)
	}
	if r.PID != o.PID || r.PPID != o.PPID || r.PComm == nil || *r.PComm != parent {
		t.Errorf("record %q: want pid %d, ppid %d, pcomm %q", recs[0], o.PID, o.PPID, parent)
	}
}
