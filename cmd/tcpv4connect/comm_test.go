package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
	"github.com/tcpv4connect/tcpv4connect/pkg/format"
)

// TestHostileComm: a process whose name holds escape sequences, control
// bytes and invalid UTF-8 connects; its row is there, with '?' for each
// such byte, and the output holds only printable characters.
func TestHostileComm(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.Listen(t, "127.0.0.1")
	// ESC [31m, BEL, BS, 0xff, a broken 2-byte sequence, U+202E (RLO).
	comm := "\x1b[31m\x07\x08\xff\xc3(\u202eok"
	if len(comm) != 15 {
		t.Fatalf("comm is %d bytes, want 15 (TASK_COMM_LEN-1)", len(comm))
	}
	h := e2e.StartHelper(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: comm})
	tr := e2e.StartTracer(t, e2e.Bin(), "--attach", e2e.Attach(), "-p", strconv.Itoa(h.PID))
	h.Run(t)
	pid := h.PID
	tr.WaitFor(10*time.Second, "the hostile connect", hasPID(pid))
	tr.Stop(syscall.SIGINT)
	for _, l := range tr.Lines() {
		if !utf8.ValidString(l) {
			t.Errorf("invalid UTF-8 in output: %q", l)
		}
		for _, r := range l {
			if !unicode.IsPrint(r) {
				t.Errorf("unprintable %U in output row %q", r, l)
			}
		}
	}
	got := e2e.RowsOf(parseRows(t, tr.Lines(), false), pid)
	want := "?[31m????(??" // 12 columns of "?[31m????(???ok"
	if len(got) != 1 || got[0].Comm != want || got[0].DPort != port {
		t.Errorf("rows of pid %d: %+v, want one with COMM %q", pid, got, want)
	}
	if s := format.Sanitize([]byte(comm)); s != "?[31m????(???ok" {
		t.Errorf("Sanitize = %q", s)
	}

	t.Run("json", func(t *testing.T) {
		h := e2e.StartHelper(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: comm})
		tr := e2e.StartTracer(t, e2e.Bin(), "--attach", e2e.Attach(), "--json", "-p", strconv.Itoa(h.PID))
		h.Run(t)
		pid := h.PID
		match := func(l string) bool { return strings.Contains(l, fmt.Sprintf(`"pid":%d,`, pid)) }
		tr.WaitFor(10*time.Second, "the hostile connect", func(ls []string) bool { return slices.ContainsFunc(ls, match) })
		tr.Stop(syscall.SIGINT)
		for _, l := range append([]string{tr.Header}, tr.Lines()...) {
			for _, r := range l {
				if !unicode.IsPrint(r) {
					t.Errorf("unprintable %U in JSON line %s", r, l)
				}
			}
			if !match(l) {
				continue
			}
			var rec struct {
				Comm    string `json:"comm"`
				CommB64 string `json:"comm_b64"`
			}
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			raw, err := base64.StdEncoding.DecodeString(rec.CommB64)
			if err != nil || string(raw) != comm {
				t.Errorf("comm_b64 %q decodes to %q, want the raw bytes %q", rec.CommB64, raw, comm)
			}
			if want := strings.ToValidUTF8(comm[:7], "\ufffd"); !strings.HasPrefix(rec.Comm, want) {
				t.Errorf("comm %q, want it to start with %q", rec.Comm, want)
			}
		}
	})
}
