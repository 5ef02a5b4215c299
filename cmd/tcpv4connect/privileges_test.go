package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
	"github.com/tcpv4connect/tcpv4connect/pkg/tracer"
	"golang.org/x/sys/unix"
)

// TestPrivileges: without privileges the tracer exits 1 with one clear
// line; with only CAP_BPF and CAP_PERFMON it works or names what is
// missing; with this host's limits (8 MiB memlock, no CAP_SYS_RESOURCE)
// it works.
func TestPrivileges(t *testing.T) {
	e2e.RequireKernel(t)
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}
	// nobody runs a copy of the tracer, from a directory it can reach
	// wherever the checkout is; the helpers run as root from the test
	// binary itself.
	bin := e2e.CopyForNobody(t, e2e.Bin())
	asNobody := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Dir = filepath.Dir(bin)
		return cmd
	}

	t.Run("unprivileged user", func(t *testing.T) {
		cmd := asNobody("--attach", e2e.Attach())
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody}
		out, err := cmd.CombinedOutput()
		if code := e2e.ExitCode(err); code != 1 {
			t.Fatalf("exit %d, want 1; output %q", code, out)
		}
		msg := string(out)
		if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "permission denied") || !strings.Contains(msg, "CAP_BPF") {
			t.Errorf("message %q: want one line saying permission denied and naming CAP_BPF", msg)
		}
	})

	t.Run("CAP_BPF and CAP_PERFMON only", func(t *testing.T) {
		cmd := asNobody("--attach", e2e.Attach())
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody, AmbientCaps: []uintptr{unix.CAP_BPF, unix.CAP_PERFMON}}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		header, _ := bufio.NewReader(out).ReadString('\n')
		if strings.TrimSpace(header) == wantHeader {
			t.Logf("works with CAP_BPF+CAP_PERFMON in mode %s", e2e.Attach())
			_ = cmd.Process.Signal(syscall.SIGINT)
			_, _ = io.Copy(io.Discard, out)
			if err := cmd.Wait(); err != nil {
				t.Errorf("exit: %v; stderr:\n%s", err, stderr.String())
			}
			return
		}
		err = cmd.Wait()
		msg := stderr.String()
		t.Logf("with CAP_BPF+CAP_PERFMON in mode %s: %s", e2e.Attach(), msg)
		// No tracefs is read (the raw tracepoint needs none), so where
		// perf events are open to CAP_PERFMON (perf_event_paranoid <= 2)
		// and maps are not charged to memlock (5.11+), these two suffice.
		b, _ := os.ReadFile("/proc/sys/kernel/perf_event_paranoid")
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n <= 2 && tracer.KernelAtLeast(5, 11) {
			t.Errorf("perf_event_paranoid %d, kernel 5.11+: CAP_BPF and CAP_PERFMON must be enough", n)
		}
		if code := e2e.ExitCode(err); code != 1 {
			t.Errorf("exit %d, want 1 or a working tracer", code)
		}
		if !regexp.MustCompile(`CAP_[A-Z_]+`).MatchString(msg) || strings.Contains(msg, "goroutine") {
			t.Errorf("failure message does not name the missing capability:\n%s", msg)
		}
	})

	t.Run("with CAP_DAC_READ_SEARCH added", func(t *testing.T) {
		// What the message above asks for must be enough.
		port := e2e.Listen(t, "127.0.0.1")
		h := e2e.StartHelper(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-caps"})
		cmd := asNobody("--attach", e2e.Attach(), "-p", strconv.Itoa(h.PID))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody, AmbientCaps: []uintptr{unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_DAC_READ_SEARCH}}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		rd := bufio.NewReader(out)
		if h, _ := rd.ReadString('\n'); strings.TrimSpace(h) != wantHeader {
			_ = cmd.Wait()
			// What may still be missing, and must then be named:
			// CAP_SYS_ADMIN where Debian's perf_event_paranoid level 3
			// keeps perf events (kprobe, tracepoint) for it, and
			// CAP_SYS_RESOURCE where the kernel (before 5.11) charges
			// BPF maps to the memlock limit.
			msg := stderr.String()
			var needs []string
			if b, _ := os.ReadFile("/proc/sys/kernel/perf_event_paranoid"); strings.TrimSpace(string(b)) == "3" {
				needs = append(needs, "missing CAP_SYS_ADMIN")
			}
			if !tracer.KernelAtLeast(5, 11) {
				needs = append(needs, "missing CAP_SYS_RESOURCE")
			}
			if len(needs) > 0 {
				named := false
				for _, n := range needs {
					named = named || strings.Contains(msg, n)
				}
				if !named {
					t.Errorf("the message names none of %q:\n%s", needs, msg)
				}
				t.Logf("mode %s, as expected on this kernel: %s", e2e.Attach(), msg)
				return
			}
			t.Fatalf("as nobody with CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH in mode %s: no header; stderr:\n%s", e2e.Attach(), stderr.String())
		}
		h.Run(t)
		pid := h.PID
		prefix := strconv.Itoa(pid) + " "
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("no row for pid %d: %v; stderr:\n%s", pid, err, stderr.String())
			}
			if strings.HasPrefix(l, prefix) {
				break
			}
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		_, _ = io.Copy(io.Discard, rd)
		if err := cmd.Wait(); err != nil {
			t.Errorf("exit: %v; stderr:\n%s", err, stderr.String())
		}
	})

	t.Run("restricted like the CI host", func(t *testing.T) {
		// Drop CAP_SYS_RESOURCE and set an 8 MiB memlock limit, then run.
		port := e2e.Listen(t, "127.0.0.1")
		h := e2e.StartHelper(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-restrict"})
		tr := e2e.StartRestricted(t, 8<<20, e2e.Bin(), "--attach", e2e.Attach(), "-p", strconv.Itoa(h.PID))
		h.Run(t)
		pid := h.PID
		tr.WaitFor(10*time.Second, "the connect", hasPID(pid))
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tr.Cmd.Process.Pid))
		if err == nil && !capDropped(string(st)) {
			t.Errorf("CAP_SYS_RESOURCE still effective:\n%s", st)
		}
		if code := tr.Stop(syscall.SIGINT); code != 0 {
			t.Errorf("exit %d", code)
		}
	})
}

func capDropped(status string) bool {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && n&(1<<unix.CAP_SYS_RESOURCE) == 0
		}
	}
	return false
}
