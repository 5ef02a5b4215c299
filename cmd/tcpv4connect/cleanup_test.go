package main

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// teardown is how long the kernel may take to free what a process held
// (links and programs go after an RCU grace period; slower under TCG).
const teardown = 10 * time.Second

// TestNothingLeftBehind counts BPF programs, maps, links and kprobe events
// before and after the tracer runs, for every way it can end, and requires
// that each object it held is gone and that nothing it created is orphaned.
func TestNothingLeftBehind(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.Listen(t, "127.0.0.1")

	// running starts a tracer, checks that it is attached and holds
	// objects, and returns it with what it holds.
	running := func(t *testing.T, base e2e.Snapshot, args ...string) (*e2e.Tracer, e2e.Held) {
		// -p: the host may carry other connect traffic (other tests,
		// benchmarks) that would crowd the perf buffer.
		h := e2e.StartHelper(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-leak"})
		tr := e2e.StartTracer(t, e2e.Bin(), append([]string{"--attach", e2e.Attach(), "-p", strconv.Itoa(h.PID)}, args...)...)
		held, err := e2e.HeldBy(tr.Cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(held.IDs[e2e.KindProg]) == 0 || len(held.IDs[e2e.KindMap]) == 0 {
			t.Fatalf("the running tracer holds no BPF program or map: %+v (the counter is broken)", held)
		}
		h.Run(t)
		tr.WaitFor(10*time.Second, "the connect", hasPID(h.PID))
		// Whatever a failed earlier mode (auto) created must be gone
		// already, while the tracer runs.
		e2e.RequireNoLeaks(t, base, e2e.Held{}, teardown)
		// The detector is not vacuous: while the tracer runs, what it
		// holds counts as "left behind".
		if leaks, err := e2e.Leaks(base, held); err != nil || len(leaks) < len(held.IDs[e2e.KindProg]) {
			t.Errorf("leak check while the tracer runs finds only %q (%v): it would miss a leak", leaks, err)
		}
		t.Logf("tracer %d holds progs %v maps %v links %v, %d perf event fds", tr.Cmd.Process.Pid,
			held.IDs[e2e.KindProg], held.IDs[e2e.KindMap], held.IDs[e2e.KindLink], held.PerfEvents)
		return tr, held
	}

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			base := take(t)
			tr, held := running(t, base)
			code := tr.Stop(sig)
			if sig != syscall.SIGKILL && code != 0 {
				t.Errorf("exit %d after %v, want 0; stderr:\n%s", code, sig, tr.Stderr())
			}
			e2e.RequireNoLeaks(t, base, held, teardown)
			logCounts(t, base)
		})
	}

	t.Run("stdout closed", func(t *testing.T) {
		// `tcpv4connect | head -1`: the normal way a pipeline ends it.
		base := take(t)
		cmd := exec.Command(e2e.Bin(), "--attach", e2e.Attach())
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
			t.Fatalf("header: %v", err)
		}
		held, _ := e2e.HeldBy(cmd.Process.Pid)
		out.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		for deadline := time.Now().Add(20 * time.Second); ; {
			e2e.Connects(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-leak"})
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit: %v, want 0", err)
				}
				e2e.RequireNoLeaks(t, base, held, teardown)
				logCounts(t, base)
				return
			case <-time.After(200 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatal("tracer still running 20s after its stdout closed")
			}
		}
	})

	t.Run("duration", func(t *testing.T) {
		base := take(t)
		tr, held := running(t, base, "--duration", "6s")
		code, ok := tr.Wait(30 * time.Second)
		if !ok {
			t.Fatal("still running 30s into a --duration 6s run")
		}
		if code != 0 {
			t.Errorf("exit %d after --duration, want 0; stderr:\n%s", code, tr.Stderr())
		}
		e2e.RequireNoLeaks(t, base, held, teardown)
	})

	// A start that fails after loading (a missing kernel function): exit 1
	// and nothing left, however far the attach got.
	for _, mode := range []string{"fentry", "kprobe", "auto"} {
		t.Run("failed start "+mode, func(t *testing.T) {
			base := take(t)
			cmd := exec.Command(e2e.Bin(), "--attach", mode, "-v")
			cmd.Env = append(os.Environ(), "TCPV4CONNECT_TEST_V4FUNC=no_such_function")
			if mode == "auto" {
				// fentry and kprobe fail (halfway: after load, or at
				// attach), tracepoint works: while it runs, only its
				// program may be left, and nothing after it stops.
				tr := e2e.StartTracerEnv(t, []string{"TCPV4CONNECT_TEST_V4FUNC=no_such_function"}, e2e.Bin(), "--attach", "auto", "-v")
				held, _ := e2e.HeldBy(tr.Cmd.Process.Pid)
				if n := len(held.IDs[e2e.KindProg]); n != 1 {
					t.Errorf("after fentry and kprobe failed, the tracer holds %d programs, want 1 (tp_state): %v", n, held.IDs)
				}
				tr.Stop(syscall.SIGINT)
				e2e.RequireNoLeaks(t, base, held, teardown)
				return
			}
			out, err := cmd.CombinedOutput()
			if code := e2e.ExitCode(err); code != 1 {
				t.Errorf("exit %d, want 1; output:\n%s", code, out)
			}
			e2e.RequireNoLeaks(t, base, e2e.Held{}, teardown)
			logCounts(t, base)
		})
	}

	// Halfway for real: tcpconnect traces IPv4 and IPv6, so with only the
	// IPv6 function missing the kprobe mode attaches its IPv4 probes first
	// and then fails.
	for _, mode := range []string{"fentry", "kprobe"} {
		t.Run("failed halfway tcpconnect "+mode, func(t *testing.T) {
			bin := os.Getenv("TCPCONNECT_BIN")
			if bin == "" {
				t.Skip("TCPCONNECT_BIN not set")
			}
			base := take(t)
			cmd := exec.Command(bin, "--attach", mode, "-v")
			cmd.Env = append(os.Environ(), "TCPV4CONNECT_TEST_V6FUNC=no_such_function")
			out, err := cmd.CombinedOutput()
			if code := e2e.ExitCode(err); code != 1 {
				t.Errorf("exit %d, want 1; output:\n%s", code, out)
			}
			e2e.RequireNoLeaks(t, base, e2e.Held{}, teardown)
			logCounts(t, base)
		})
	}
}

func take(t *testing.T) e2e.Snapshot {
	t.Helper()
	s, err := e2e.Take()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func logCounts(t *testing.T, base e2e.Snapshot) {
	now, _ := e2e.Take()
	t.Logf("before: %s; after: %s", base.Counts(), now.Counts())
}
