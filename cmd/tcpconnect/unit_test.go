package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestSystemdUnit: contrib's unit runs tcpconnect with flags this build
// accepts (parsed and validated as a real run would be, then --generate
// instead of tracing), keeps its hardening, and passes systemd-analyze
// verify where systemd is installed.
func TestSystemdUnit(t *testing.T) {
	const unit = "../../contrib/tcpconnect-metrics.service"
	if os.Getenv(e2e.EnvVMGuest) != "" {
		t.Skip("the unit file is in the source tree, which the VM guests do not have: make test runs this")
	}
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var exec0 []string
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, "ExecStart="); ok {
			exec0 = strings.Fields(rest)
		}
	}
	if len(exec0) < 2 || exec0[0] != "/usr/sbin/tcpconnect" {
		t.Fatalf("ExecStart %q: want /usr/sbin/tcpconnect and its flags (make install-files rewrites that path)", exec0)
	}
	if got := strings.Join(exec0[1:], " "); got != "--metrics 127.0.0.1:9464 -q" {
		t.Errorf("ExecStart flags %q, want the documented --metrics 127.0.0.1:9464 -q", got)
	}
	var stderr strings.Builder
	if code := run(append(exec0[1:], "--generate=bash"), io.Discard, &stderr); code != 0 {
		t.Errorf("the unit's flags do not parse: exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"CapabilityBoundingSet=CAP_BPF CAP_PERFMON\n", "NoNewPrivileges=yes\n", "ProtectSystem=strict\n", "IPAddressAllow=localhost\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("the unit lacks %q", strings.TrimSpace(want))
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze here: the unit's syntax is not checked")
	}
	// verify wants the unit under its own name, and ExecStart's binary.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tcpconnect-metrics.service"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", "--man=no", "tcpconnect-metrics.service")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "/usr/sbin/tcpconnect") && strings.Contains(string(out), "No such file") {
			t.Skipf("systemd-analyze verify needs /usr/sbin/tcpconnect installed: %s", out)
		}
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
