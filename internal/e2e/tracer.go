package e2e

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Env names the tests read.
const (
	EnvBin    = "TCPV4CONNECT_BIN"    // path of the tracer binary under test
	EnvAttach = "TCPV4CONNECT_ATTACH" // attach mode to test (default auto)
)

// RequireKernel skips a test that needs root and BPF, or fails it under
// CI=true: a CI run that tested nothing must not pass.
func RequireKernel(t testing.TB) {
	t.Helper()
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "needs root"
	case Bin() == "":
		why = EnvBin + " is not set (run `make test`)"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("cannot run under CI: %s", why)
	}
	t.Skip(why)
}

// Bin returns the tracer binary under test.
func Bin() string { return os.Getenv(EnvBin) }

// Attach returns the attach mode under test.
func Attach() string {
	if m := os.Getenv(EnvAttach); m != "" {
		return m
	}
	return "auto"
}

// Tracer is a running tracer process.
type Tracer struct {
	t      testing.TB
	Cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
	done   chan struct{}
	err    error
	Header string
}

// StartTracer runs the binary with args and waits for its header line,
// the signal that the probes are attached.
func StartTracer(t testing.TB, bin string, args ...string) *Tracer {
	t.Helper()
	return startTracer(t, nil, bin, args...)
}

// StartQuietTracer runs the binary with args that print no header (-q)
// and waits until ready returns nil (e.g. a scrape of --metrics, which is
// served only once the probes are attached). Every stdout line is in
// Lines.
func StartQuietTracer(t testing.TB, ready func() error, bin string, args ...string) *Tracer {
	t.Helper()
	return startTracer(t, ready, bin, args...)
}

func startTracer(t testing.TB, ready func() error, bin string, args ...string) *Tracer {
	t.Helper()
	tr := &Tracer{t: t, done: make(chan struct{})}
	tr.Cmd = exec.Command(bin, args...)
	tr.Cmd.Stderr = &syncWriter{mu: &tr.mu, w: &tr.stderr}
	out, err := tr.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	header := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		first := ready == nil
		for sc.Scan() {
			if first {
				header <- sc.Text()
				first = false
				continue
			}
			tr.mu.Lock()
			tr.lines = append(tr.lines, sc.Text())
			tr.mu.Unlock()
		}
		close(header)
		tr.err = tr.Cmd.Wait()
		close(tr.done)
	}()
	t.Cleanup(func() { tr.Kill() })
	if ready != nil {
		tr.waitReady(ready)
		return tr
	}
	select {
	case h, ok := <-header:
		if !ok {
			<-tr.done
			t.Fatalf("tracer exited before its header: %v\nstderr:\n%s", tr.err, tr.Stderr())
		}
		tr.Header = h
	case <-time.After(60 * time.Second):
		t.Fatalf("no header from tracer after 60s\nstderr:\n%s", tr.Stderr())
	}
	return tr
}

// waitReady polls ready until it returns nil; it fails if the tracer
// exits first, or after 60 s.
func (tr *Tracer) waitReady(ready func() error) {
	tr.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := ready()
		if err == nil {
			return
		}
		select {
		case <-tr.done:
			tr.t.Fatalf("tracer exited before it was ready: %v\nstderr:\n%s", tr.err, tr.Stderr())
		default:
		}
		if time.Now().After(deadline) {
			tr.t.Fatalf("tracer not ready after 60s: %v\nstderr:\n%s", err, tr.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Lines returns the rows printed so far.
func (tr *Tracer) Lines() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.lines...)
}

// Stderr returns what the tracer wrote to stderr so far.
func (tr *Tracer) Stderr() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.stderr.String()
}

// WaitFor polls until match holds for the rows, or fails after timeout.
func (tr *Tracer) WaitFor(timeout time.Duration, what string, match func([]string) bool) {
	tr.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if match(tr.Lines()) {
			return
		}
		if time.Now().After(deadline) {
			tr.t.Fatalf("timed out waiting for %s; rows:\n%s\nstderr:\n%s", what, strings.Join(tr.Lines(), "\n"), tr.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends sig and waits for the exit; it returns the exit code.
func (tr *Tracer) Stop(sig syscall.Signal) int {
	tr.t.Helper()
	_ = tr.Cmd.Process.Signal(sig)
	select {
	case <-tr.done:
	case <-time.After(20 * time.Second):
		tr.t.Fatalf("tracer did not exit 20s after %v", sig)
	}
	return tr.Cmd.ProcessState.ExitCode()
}

// Kill ends the tracer if it still runs.
func (tr *Tracer) Kill() {
	select {
	case <-tr.done:
	default:
		_ = tr.Cmd.Process.Kill()
		<-tr.done
	}
}

// Helper is a started helper process waiting for its go signal.
type Helper struct {
	Cmd   *exec.Cmd
	PID   int
	stdin io.WriteCloser
	out   bytes.Buffer
}

// StartHelper starts a helper that will make the given connects.
func StartHelper(t testing.TB, conns ...Connect) *Helper {
	t.Helper()
	specs := make([]string, len(conns))
	for i, c := range conns {
		specs[i] = c.String()
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h := &Helper{Cmd: exec.Command(self)}
	h.Cmd.Env = append(os.Environ(), helperEnv+"="+strings.Join(specs, ";"))
	h.Cmd.Stdout = &h.out
	h.Cmd.Stderr = &h.out
	if h.stdin, err = h.Cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := h.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.PID = h.Cmd.Process.Pid
	t.Cleanup(func() { _ = h.Cmd.Process.Kill(); _ = h.Cmd.Wait() })
	return h
}

// Run releases the helper and waits until its connects are done.
func (h *Helper) Run(t testing.TB) {
	t.Helper()
	if _, err := io.WriteString(h.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	if err := h.Cmd.Wait(); err != nil {
		t.Fatalf("helper %d: %v\n%s", h.PID, err, h.out.String())
	}
}

// Connects runs one helper to completion and returns its PID.
func Connects(t testing.TB, conns ...Connect) int {
	t.Helper()
	h := StartHelper(t, conns...)
	h.Run(t)
	return h.PID
}

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
