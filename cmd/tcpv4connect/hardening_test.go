package main

// Hardening tests (issue 6): nothing left behind, nothing lost silently,
// hostile input, privileges, a missing kernel function. They run on the
// host (tracepoint mode) and in every mode of the VM matrix.

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/tcpv4connect/tcpv4connect/pkg/e2e"
	"github.com/tcpv4connect/tcpv4connect/pkg/format"
)

// teardown is how long the kernel may take to free what a process held
// (links and programs go after an RCU grace period; slower under TCG).
const teardown = 10 * time.Second

// supportsFlag reports whether the binary under test knows a flag (some
// are being added while these tests are written).
func supportsFlag(t *testing.T, flag string) bool {
	out, _ := exec.Command(e2e.Bin(), "--help").CombinedOutput()
	return strings.Contains(string(out), flag)
}

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
		if !supportsFlag(t, "--duration") {
			t.Skip("this build has no --duration yet")
		}
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
			if code := exitCode(err); code != 1 {
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
			if code := exitCode(err); code != 1 {
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

// TestTwoInstances: two tracers at once both see every connect, and
// stopping one does not disturb the other.
func TestTwoInstances(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.ClosedPort(t)
	// One helper in two phases (2 connects, then one per CPU), so that
	// both tracers can filter on its pid: other traffic on the host must
	// not crowd their buffers.
	h := e2e.StartStorm(t, e2e.StormSpec{Port: port, Threads: 1, Max: 2, Duration: time.Minute, Comm: "e2e-two"})
	a := e2e.StartTracer(t, e2e.Bin(), "--attach", e2e.Attach(), "-p", strconv.Itoa(h.PID))
	b := e2e.StartTracer(t, e2e.Bin(), "--attach", e2e.Attach(), "-p", strconv.Itoa(h.PID))
	count := func(l []string) int { return len(rowsOf(parseRows(t, l, false), h.PID)) }

	if r := h.Run(t); r.Made != 2 {
		t.Fatalf("helper made %d connects, want 2 (%s)", r.Made, r.Err)
	}
	for _, tr := range []*e2e.Tracer{a, b} {
		tr.WaitFor(10*time.Second, "both connects", func(l []string) bool { return count(l) == 2 })
	}
	if code := a.Stop(syscall.SIGINT); code != 0 {
		t.Errorf("first tracer: exit %d", code)
	}
	more := h.Sentinels(t)
	b.WaitFor(10*time.Second, "the connects after the first tracer stopped",
		func(l []string) bool { return count(l) == 2+more })
	time.Sleep(300 * time.Millisecond)
	if code := b.Stop(syscall.SIGINT); code != 0 {
		t.Errorf("second tracer: exit %d", code)
	}
	if n := count(b.Lines()); n != 2+more {
		t.Errorf("second tracer: %d rows, want %d", n, 2+more)
	}
	if n := count(a.Lines()); n != 2 {
		t.Errorf("first tracer: %d rows, want 2", n)
	}
	for _, tr := range []*e2e.Tracer{a, b} {
		if strings.Contains(strings.ToLower(tr.Stderr()), "lost") {
			t.Errorf("loss reported: %s", tr.Stderr())
		}
	}
}

var lostTotal = regexp.MustCompile(`tcpv4connect: lost (\d+) events in total`)
var missesRe = regexp.MustCompile(`tcpv4connect: (?:(\d+) kretprobe misses|kretprobe misses unknown: (.*))`)

// stormRun is a tracer whose stdout the test does not read during the
// storm, so that the perf buffer overflows for sure.
type stormRun struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	stderr strings.Builder
	rows   chan int // rows of the storm's pid, counted once reading starts
	gate   chan struct{}
}

func startStormTracer(t *testing.T, pid int, pages string) *stormRun {
	r := &stormRun{rows: make(chan int, 1), gate: make(chan struct{})}
	r.cmd = exec.Command(e2e.Bin(), "--attach", e2e.Attach(), "-p", strconv.Itoa(pid))
	r.cmd.Env = append(os.Environ(), "TCPV4CONNECT_TEST_PERF_PAGES="+pages)
	r.cmd.Stderr = &r.stderr
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.cmd.Process.Kill() })
	r.out = bufio.NewReaderSize(out, 1<<20)
	if h, err := r.out.ReadString('\n'); err != nil || strings.TrimSpace(h) != wantHeader {
		t.Fatalf("header %q, %v; stderr:\n%s", h, err, r.stderr.String())
	}
	prefix := strconv.Itoa(pid) + " "
	go func() {
		<-r.gate
		n := 0
		for {
			l, err := r.out.ReadString('\n')
			if strings.HasPrefix(l, prefix) {
				n++
			}
			if err != nil {
				r.rows <- n
				return
			}
		}
	}()
	return r
}

// TestStorm: a connect storm far above what the tracer can take, while its
// reader is stalled. Every connect is either shown or counted as lost:
// rows + lost == connects, exactly. With -p the kernel filters before the
// perf buffer, so the lost count holds only the storm's connects.
func TestStorm(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.ClosedPort(t)
	spec := e2e.StormSpec{Port: port, Threads: 2 * runtime.NumCPU(), Max: 20000, Duration: 8 * time.Second, Comm: "e2e-storm"}
	storm := e2e.StartStorm(t, spec)
	// One page per CPU (~36 events) and a 64 KiB pipe the test does not
	// read: a few hundred events fit, then the rest drop.
	tr := startStormTracer(t, storm.PID, "1")
	res := storm.Run(t)
	if res.Failed > 0 {
		t.Logf("%d connects failed in tcp_v4_connect (no event due): %s", res.Failed, res.Err)
	}
	close(tr.gate) // start reading
	time.Sleep(2 * time.Second)
	sentinels := storm.Sentinels(t)
	time.Sleep(time.Second)
	_ = tr.cmd.Process.Signal(syscall.SIGINT)
	rows := <-tr.rows
	if err := tr.cmd.Wait(); err != nil {
		t.Errorf("tracer exit: %v", err)
	}
	stderr := tr.stderr.String()
	lost := 0
	if m := lostTotal.FindStringSubmatch(stderr); m != nil {
		lost, _ = strconv.Atoi(m[1])
	}
	made := res.Made + sentinels
	t.Logf("storm: %d connects in %.2fs (%.0f/s) by %d threads; shown %d, lost %d, failed %d",
		made, res.Secs, float64(res.Made)/res.Secs, spec.Threads, rows, lost, res.Failed)
	if strings.Contains(stderr, "malformed") {
		t.Errorf("malformed events: %s", stderr)
	}
	// In kprobe mode a connect whose kretprobe did not fire is neither
	// shown nor lost: it is reported as a miss, so the sum stays exact.
	// auto may have fallen back to kprobe too (arm64 kernels without ftrace
	// direct calls): count the misses whenever the tracer reports them.
	misses := 0
	n, known, ok := parseMisses(stderr)
	if e2e.Attach() == "kprobe" && (!ok || !known) {
		t.Errorf("kprobe mode: want a known kretprobe miss count at exit; stderr:\n%s", lastLines(stderr, 5))
	}
	if ok && known {
		misses = n
	}
	if rows+lost+misses != made {
		t.Errorf("shown %d + lost %d + kretprobe misses %d = %d, want connects made %d; stderr:\n%s",
			rows, lost, misses, rows+lost+misses, made, lastLines(stderr, 5))
	}
	if lost == 0 {
		t.Errorf("no loss although %d connects met a stalled reader: the storm did not exceed capacity", made)
	}
}

// parseMisses reads the kprobe mode's exit report: the miss count, whether
// the kernel knows it, and whether the report is there at all.
func parseMisses(stderr string) (n int, known, ok bool) {
	m := missesRe.FindStringSubmatch(stderr)
	if m == nil {
		return 0, false, false
	}
	if m[1] == "" {
		return 0, false, true
	}
	n, _ = strconv.Atoi(m[1])
	return n, true, true
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// TestKretprobeMisses: in kprobe mode, many threads connect at once; the
// tracer reports the kretprobe misses at exit (or says the kernel does not
// tell), and rows + lost + misses accounts for every connect.
func TestKretprobeMisses(t *testing.T) {
	e2e.RequireKernel(t)
	if e2e.Attach() != "kprobe" {
		t.Skipf("kretprobes only exist in kprobe mode (mode under test: %s)", e2e.Attach())
	}
	port := e2e.ClosedPort(t)
	spec := e2e.StormSpec{Port: port, Threads: 64, Max: 20000, Duration: 3 * time.Second, Comm: "e2e-misses"}
	storm := e2e.StartStorm(t, spec)
	tr := startStormTracer(t, storm.PID, "64")
	close(tr.gate)
	res := storm.Run(t)
	time.Sleep(time.Second)
	sentinels := storm.Sentinels(t)
	time.Sleep(time.Second)
	_ = tr.cmd.Process.Signal(syscall.SIGINT)
	rows := <-tr.rows
	_ = tr.cmd.Wait()
	stderr := tr.stderr.String()
	lost := 0
	if m := lostTotal.FindStringSubmatch(stderr); m != nil {
		lost, _ = strconv.Atoi(m[1])
	}
	made := res.Made + sentinels
	misses, known, ok := parseMisses(stderr)
	if !ok || !known {
		t.Fatalf("want a known kretprobe miss count at exit; stderr:\n%s", stderr)
	}
	t.Logf("%d connects by %d threads in %.2fs: shown %d, lost %d, kretprobe misses %d", made, spec.Threads, res.Secs, rows, lost, misses)
	if rows+lost+misses != made {
		t.Errorf("shown %d + lost %d + misses %d = %d, want the %d connects made", rows, lost, misses, rows+lost+misses, made)
	}
}

// TestKretprobeMissesForced proves that the miss count is read, not
// assumed: with the probed function overridden to hrtimer_nanosleep, 64
// threads sleep inside it at once, more than a kretprobe has instances
// (maxactive: 10 with CONFIG_PREEMPTION, else one per CPU), so the kernel
// must report misses where it counts them.
func TestKretprobeMissesForced(t *testing.T) {
	e2e.RequireKernel(t)
	if e2e.Attach() != "kprobe" {
		t.Skipf("kretprobes only exist in kprobe mode (mode under test: %s)", e2e.Attach())
	}
	port := e2e.ClosedPort(t)
	const threads = 64
	storm := e2e.StartStorm(t, e2e.StormSpec{Port: port, Threads: threads, Max: threads, Duration: time.Minute,
		Sleep: 500 * time.Millisecond, Comm: "e2e-sleep"})
	t.Setenv("TCPV4CONNECT_TEST_V4FUNC", "hrtimer_nanosleep")
	tr := startStormTracer(t, storm.PID, "64")
	close(tr.gate)
	storm.Run(t)
	storm.Sentinels(t)
	time.Sleep(500 * time.Millisecond)
	_ = tr.cmd.Process.Signal(syscall.SIGINT)
	rows := <-tr.rows
	_ = tr.cmd.Wait()
	stderr := tr.stderr.String()
	misses, known, ok := parseMisses(stderr)
	switch {
	case !ok:
		t.Fatalf("no kretprobe miss report at exit; stderr:\n%s", stderr)
	case !known:
		t.Errorf("want a known kretprobe miss count, but the tracer says: %s", lastLines(stderr, 1))
	case kernelAtLeast(6, 7) && !strings.Contains(stderr, "the kernel's count for the probes"):
		t.Errorf("kernel 6.7+ counts misses in the kprobe links' info, but the report lacks it: %s", lastLines(stderr, 1))
	case misses == 0:
		t.Errorf("%d threads asleep in a kretprobe'd function at once, %d returns seen, but 0 misses reported", threads, rows)
	default:
		t.Logf("%d threads asleep in hrtimer_nanosleep at once: %d returns seen, %d kretprobe misses reported", threads, rows, misses)
		if rows+misses < threads {
			t.Errorf("returns %d + misses %d < %d sleeps", rows, misses, threads)
		}
	}
}

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
	got := rowsOf(parseRows(t, tr.Lines(), false), pid)
	want := "?[31m????(??" // 12 columns of "?[31m????(???ok"
	if len(got) != 1 || got[0].comm != want || got[0].dport != port {
		t.Errorf("rows of pid %d: %+v, want one with COMM %q", pid, got, want)
	}
	if s := format.Sanitize([]byte(comm)); s != "?[31m????(???ok" {
		t.Errorf("Sanitize = %q", s)
	}

	t.Run("json", func(t *testing.T) {
		if !supportsFlag(t, "--json") {
			t.Skip("this build has no --json")
		}
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

// TestPrivileges: without privileges the tracer exits 1 with one clear
// line; with only CAP_BPF and CAP_PERFMON it works or names what is
// missing; with this host's limits (8 MiB memlock, no CAP_SYS_RESOURCE)
// it works.
func TestPrivileges(t *testing.T) {
	e2e.RequireKernel(t)
	// As on a systemd host: without CAP_SYS_ADMIN the tool cannot mount
	// tracefs for itself.
	e2e.EnsureTracefs(t)
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}

	t.Run("unprivileged user", func(t *testing.T) {
		cmd := exec.Command(e2e.Bin(), "--attach", e2e.Attach())
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody}
		out, err := cmd.CombinedOutput()
		if code := exitCode(err); code != 1 {
			t.Fatalf("exit %d, want 1; output %q", code, out)
		}
		msg := string(out)
		if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "permission denied") || !strings.Contains(msg, "CAP_BPF") {
			t.Errorf("message %q: want one line saying permission denied and naming CAP_BPF", msg)
		}
	})

	t.Run("CAP_BPF and CAP_PERFMON only", func(t *testing.T) {
		cmd := exec.Command(e2e.Bin(), "--attach", e2e.Attach())
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody, AmbientCaps: []uintptr{capBPF, capPerfmon}}
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
		if code := exitCode(err); code != 1 {
			t.Errorf("exit %d, want 1 or a working tracer", code)
		}
		if !regexp.MustCompile(`CAP_[A-Z_]+`).MatchString(msg) || strings.Contains(msg, "goroutine") {
			t.Errorf("failure message does not name the missing capability:\n%s", msg)
		}
	})

	t.Run("with CAP_DAC_READ_SEARCH added", func(t *testing.T) {
		// What the message above asks for must be enough.
		port := e2e.Listen(t, "127.0.0.1")
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		// The test binary, run as nobody, has to be able to exec the
		// tracer and itself (helpers run as root, as the test does).
		for _, p := range []string{e2e.Bin(), self} {
			if st, err := os.Stat(p); err != nil || st.Mode().Perm()&0o005 != 0o005 {
				t.Skipf("%s is not world-executable", p)
			}
		}
		h := e2e.StartHelper(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-caps"})
		cmd := exec.Command(e2e.Bin(), "--attach", e2e.Attach(), "-p", strconv.Itoa(h.PID))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody, AmbientCaps: []uintptr{capBPF, capPerfmon, capDacReadSearch}}
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
			if !kernelAtLeast(5, 11) {
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

const (
	capDacReadSearch = 2
	capSysResource   = 24
	capPerfmon       = 38
	capBPF           = 39
)

func capDropped(status string) bool {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && n&(1<<capSysResource) == 0
		}
	}
	return false
}

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

// kernelAtLeast compares the running kernel's release with major.minor.
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}
