package e2e

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Blocked is a tracer whose stdout is a pipe that the test reads up to the
// first line (tracing has begun) and then never again: once the pipe is
// full, the tracer's writes block, as under `tracer | sleep 1000` or a
// terminal stopped with Ctrl-S.
type Blocked struct {
	t      testing.TB
	Cmd    *exec.Cmd
	r      *os.File
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

// StartBlocked starts bin with args and reads its first line.
func StartBlocked(t testing.TB, bin string, args ...string) *Blocked {
	t.Helper()
	b := &Blocked{t: t, done: make(chan struct{})}
	// A blocking pipe, as a shell makes (os.Pipe's are non-blocking, and
	// the tracer's Go runtime would then wait in its poller instead of
	// in write(2)).
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(p[0]), "stdout-r"), os.NewFile(uintptr(p[1]), "stdout-w")
	b.r = r
	b.Cmd = exec.Command(bin, args...)
	b.Cmd.Stdout = w
	b.Cmd.Stderr = &syncWriter{mu: &b.mu, w: &b.stderr}
	if err := b.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	w.Close()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			_ = b.Cmd.Process.Kill()
			<-b.done
		}
		r.Close()
	})
	go func() {
		_ = b.Cmd.Wait()
		close(b.done)
	}()
	// One byte at a time, so that nothing after the first line is read.
	line := make(chan error, 1)
	go func() {
		one := make([]byte, 1)
		for {
			if _, err := r.Read(one); err != nil {
				line <- err
				return
			}
			if one[0] == '\n' {
				line <- nil
				return
			}
		}
	}()
	select {
	case err := <-line:
		if err != nil {
			<-b.done
			t.Fatalf("tracer exited before its first line: %v; stderr:\n%s", err, b.Stderr())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no first line from the tracer after 60s; stderr:\n%s", b.Stderr())
	}
	return b
}

// Stderr returns what the tracer wrote to stderr so far.
func (b *Blocked) Stderr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stderr.String()
}

// WaitBlocked waits until the pipe is full and a thread of the tracer is
// inside write(2) on its stdout, or fails after timeout.
func (b *Blocked) WaitBlocked(timeout time.Duration) {
	b.t.Helper()
	size, err := unix.FcntlInt(b.r.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		b.t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	queued, prev := 0, -1
	for {
		queued, _ = unix.IoctlGetInt(int(b.r.Fd()), unix.TIOCINQ) // FIONREAD
		// A pipe is full well before its last byte (each write takes
		// whole pages). Blocked means: the pipe at least half full, no
		// change since the last look, and the tracer in write(2) on it.
		if queued >= size/2 && queued == prev && b.inWrite() {
			return
		}
		prev = queued
		if time.Now().After(deadline) {
			b.t.Fatalf("tracer not blocked on stdout after %v: %d of %d bytes in the pipe, in write(2): %v; stderr:\n%s",
				timeout, queued, size, b.inWrite(), b.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inWrite tells whether a thread of the tracer is in write(2) on fd 1
// (/proc/PID/task/TID/syscall: number, then the arguments).
func (b *Blocked) inWrite() bool {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(b.Cmd.Process.Pid) + "/task/*/syscall")
	for _, p := range tasks {
		s, err := os.ReadFile(p)
		if err == nil && strings.HasPrefix(string(s), strconv.Itoa(unix.SYS_WRITE)+" 0x1 ") {
			return true
		}
	}
	return false
}

// Signal sends sig and waits for the exit, up to limit. It returns the exit
// code and how long the exit took; ok is false if the tracer still ran at
// the limit (it is then killed).
func (b *Blocked) Signal(sig syscall.Signal, limit time.Duration) (code int, took time.Duration, ok bool) {
	b.t.Helper()
	start := time.Now()
	if err := b.Cmd.Process.Signal(sig); err != nil {
		b.t.Fatalf("signal: %v", err)
	}
	return b.wait(start, limit)
}

// Wait waits for the exit, up to limit, after signals sent another way.
func (b *Blocked) Wait(since time.Time, limit time.Duration) (code int, took time.Duration, ok bool) {
	return b.wait(since, limit)
}

func (b *Blocked) wait(start time.Time, limit time.Duration) (int, time.Duration, bool) {
	select {
	case <-b.done:
		return b.Cmd.ProcessState.ExitCode(), time.Since(start), true
	case <-time.After(limit - time.Since(start)):
		_ = b.Cmd.Process.Kill()
		<-b.done
		return -1, time.Since(start), false
	}
}

// Rest reads what the tracer left in the pipe, once it has exited.
func (b *Blocked) Rest() string {
	b.t.Helper()
	<-b.done
	data, err := io.ReadAll(b.r)
	if err != nil {
		b.t.Fatalf("read the rest of stdout: %v", err)
	}
	return string(data)
}
