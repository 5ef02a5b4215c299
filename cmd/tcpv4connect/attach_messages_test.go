package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
	"github.com/tcpv4connect/tcpv4connect/pkg/tracer"
)

// TestAttachErrorNamesProbe: an attach failure names the probe as a user
// would ("kprobe on tcp_v4_connect"), in one line, not as a Go value.
func TestAttachErrorNamesProbe(t *testing.T) {
	e2e.RequireKernel(t)
	for mode, want := range map[string]string{
		"kprobe": "attach mode kprobe failed: kprobe on no_such_function_e2e: ",
		"fentry": "attach mode fentry failed: ",
	} {
		cmd := exec.Command(e2e.Bin(), "--attach", mode, "--duration", "1ms")
		cmd.Env = append(os.Environ(), "TCPV4CONNECT_TEST_V4FUNC=no_such_function_e2e")
		out, err := cmd.CombinedOutput()
		msg := strings.TrimSpace(string(out))
		if e2e.ExitCode(err) != 1 {
			t.Errorf("%s on a missing function: exit %d, want 1; output:\n%s", mode, e2e.ExitCode(err), msg)
		}
		if strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, "tcpv4connect: "+want) || strings.ContainsAny(msg, "{}") {
			t.Errorf("%s: message %q, want one line starting %q with no Go value in it", mode, msg, "tcpv4connect: "+want)
		}
	}
}

// TestVerboseLPortKeepsAttempts: -v says why each earlier mode failed, also
// with -L, which in tracepoint mode waits for the handshake.
func TestVerboseLPortKeepsAttempts(t *testing.T) {
	e2e.RequireKernel(t)
	if e2e.Attach() != "auto" {
		t.Skipf("auto mode only (mode under test: %s)", e2e.Attach())
	}
	out, err := exec.Command(e2e.Bin(), "-v", "-L", "--duration", "1ms").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var used string
	for _, l := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(l, "tcpv4connect: using attach mode "); ok {
			used = s
		}
	}
	for _, m := range tracer.Modes {
		if string(m) == used {
			break
		}
		if !strings.Contains(string(out), "tcpv4connect: attach mode "+string(m)+" failed: ") {
			t.Errorf("-v -L chose %s but does not say why %s failed; output:\n%s", used, m, out)
		}
	}
	if used == "" {
		t.Errorf("-v -L does not say which mode it uses; output:\n%s", out)
	}
}
