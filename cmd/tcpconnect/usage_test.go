package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestDurationNotPositive: --duration 0 (which used to mean "run for ever")
// and negative durations are bad input: exit 2, one line, no tracing.
func TestDurationNotPositive(t *testing.T) {
	if e2e.TCPConnectBin() == "" {
		t.Skip(e2e.EnvTCPConnectBin + " is not set (run `make test`)")
	}
	for _, d := range []string{"0", "0s", "-1s", "-0.5ms"} {
		t.Run(d, func(t *testing.T) {
			out, code := runLimited(t, e2e.TCPConnectBin(), "--attach", "tracepoint", "--duration="+d)
			if code != 2 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "give a positive duration") {
				t.Errorf("--duration=%s: exit %d, output %q; want exit 2 and one line asking for a positive duration", d, code, out)
			}
		})
	}
}

// TestBTFNotBTF: --btf naming a file that exists but holds no BTF is bad
// input, said in one line that names the file (not a BPF object error
// with an unrelated hint), exit 2.
func TestBTFNotBTF(t *testing.T) {
	if e2e.TCPConnectBin() == "" {
		t.Skip(e2e.EnvTCPConnectBin + " is not set (run `make test`)")
	}
	garbage := filepath.Join(t.TempDir(), "garbage.btf")
	if err := os.WriteFile(garbage, []byte("definitely not BTF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--btf", garbage}, {"--btf", garbage, "--check"}, {"--btf", "/bin/sh"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, code := runLimited(t, e2e.TCPConnectBin(), args...)
			want := "tcpconnect: --btf " + args[1] + ": not a BTF file ("
			if code != 2 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, want) {
				t.Errorf("exit %d, output %q; want exit 2 and one line %q...", code, out, want)
			}
		})
	}
}

// runLimited runs bin (which must exit by itself) and returns its output
// and exit code.
func runLimited(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second): // a run without end
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s %q still running after 20s", bin, args)
	}
	return string(out), e2e.ExitCode(err)
}
