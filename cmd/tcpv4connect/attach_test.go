package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
	"github.com/tcpv4connect/tcpv4connect/pkg/tracer"
)

// TestMissingFunction: when the probed function does not exist (inlined
// or renamed on some kernel; forced here with a test-only override), auto
// moves on to the next mode, -v says why, and tracing works.
func TestMissingFunction(t *testing.T) {
	e2e.RequireKernel(t)
	if e2e.Attach() != "auto" {
		t.Skipf("tests auto mode's fallback; mode under test is %s", e2e.Attach())
	}
	// Baseline: which modes work with the real function.
	out, _ := exec.Command(e2e.Bin(), "--check").CombinedOutput()
	works := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if m, ok := strings.CutSuffix(l, ": ok"); ok {
			works[m] = true
		}
	}
	t.Logf("--check:\n%s", out)
	env := []string{"TCPV4CONNECT_TEST_V4FUNC=no_such_function"}
	port := e2e.Listen(t, "127.0.0.1")
	h := e2e.StartHelper(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-nofunc"})
	tr := e2e.StartTracerEnv(t, env, e2e.Bin(), "--attach", "auto", "-v", "-p", strconv.Itoa(h.PID))
	h.Run(t)
	pid := h.PID
	tr.WaitFor(10*time.Second, "the connect", hasPID(pid))
	tr.Stop(syscall.SIGINT)
	stderr := tr.Stderr()
	if !strings.Contains(stderr, "using attach mode tracepoint\n") {
		t.Errorf("auto did not fall back to tracepoint:\n%s", stderr)
	}
	for _, m := range []string{"fentry", "kprobe"} {
		re := regexp.MustCompile(`(?m)^tcpv4connect: attach mode ` + m + ` failed: (.*)$`)
		got := re.FindStringSubmatch(stderr)
		if got == nil {
			t.Errorf("-v does not say why %s failed:\n%s", m, stderr)
			continue
		}
		t.Logf("%s: %s", m, got[1])
		if works[m] && !strings.Contains(got[1], "no_such_function") && !strings.Contains(got[1], "not found") {
			t.Errorf("%s works on this kernel, but its failure reason does not name the missing function: %s", m, got[1])
		}
	}
}

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
