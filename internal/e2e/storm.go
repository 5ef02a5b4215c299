package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A storm helper is the test binary re-executed with E2E_STORM set.
const stormEnv = "E2E_STORM"

// StormSpec describes a connect storm: Threads threads connect to
// 127.0.0.1:Port (a closed port: each connect is answered by a RST, so no
// TIME_WAIT piles up) until Max connects are made or Duration passes.
type StormSpec struct {
	Port     int
	Threads  int
	Max      int
	Duration time.Duration
	Comm     string
	// Sleep, if set, makes each thread call nanosleep(2) for this long
	// instead of connecting (Max calls in all): with the probed function
	// overridden to hrtimer_nanosleep, that puts many threads inside a
	// kretprobe'd function at once.
	Sleep time.Duration
}

// stormProcess runs a storm helper (see Main).
func stormProcess() (int, bool) {
	spec, ok := os.LookupEnv(stormEnv)
	if !ok {
		return 0, false
	}
	return runStorm(spec), true
}

func runStorm(spec string) int {
	var s StormSpec
	var dur, sleep string
	if _, err := fmt.Sscanf(spec, "%d %d %d %s %s %s", &s.Port, &s.Threads, &s.Max, &dur, &sleep, &s.Comm); err != nil {
		fmt.Fprintln(os.Stderr, "storm spec:", err)
		return 3
	}
	s.Duration, _ = time.ParseDuration(dur)
	s.Sleep, _ = time.ParseDuration(sleep)
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		return 3
	}
	var made, bad atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(s.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < s.Threads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			setComm(s.Comm)
			for time.Now().Before(deadline) {
				if made.Add(1) > int64(s.Max) {
					made.Add(-1)
					return
				}
				if s.Sleep > 0 {
					ts := unix.NsecToTimespec(s.Sleep.Nanoseconds())
					_ = unix.Nanosleep(&ts, nil)
					continue
				}
				if err := connectOnce(s.Port); err != nil {
					// tcp_v4_connect failed: no event is due.
					made.Add(-1)
					bad.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	fmt.Printf("made %d failed %d secs %.3f err %v\n", made.Load(), bad.Load(), secs, firstErr.Load())
	// Second signal: one connect on each CPU. A perf buffer reports the
	// samples it dropped only when the next sample on that CPU arrives, so
	// these make the kernel write its pending loss records.
	if _, err := in.ReadString('\n'); err != nil {
		return 3
	}
	n := 0
	for cpu := 0; cpu < runtime.NumCPU(); cpu++ {
		ch := make(chan error)
		go func() {
			runtime.LockOSThread()
			setComm(s.Comm)
			var set unix.CPUSet
			set.Set(cpu)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				ch <- nil // CPU not usable (offline, cpuset): skip it
				return
			}
			err := connectOnce(s.Port)
			if err == nil {
				n++
			}
			ch <- err
		}()
		if err := <-ch; err != nil {
			fmt.Fprintln(os.Stderr, "sentinel connect:", err)
			return 4
		}
	}
	fmt.Printf("sentinels %d\n", n)
	return 0
}

func setComm(name string) {
	b, err := unix.BytePtrFromString(name)
	if err == nil {
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(b)), 0, 0, 0)
	}
	runtime.KeepAlive(b)
}

// connectOnce makes one blocking connect to 127.0.0.1:port. A refusal is
// success: tcp_v4_connect returned 0 and sent the SYN.
func connectOnce(port int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	err = unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
	if err == nil || err == unix.ECONNREFUSED {
		return nil
	}
	return err
}

// Storm is a started storm helper.
type Storm struct {
	Cmd    *exec.Cmd
	PID    int
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr strings.Builder
}

// StartStorm starts a storm helper, waiting for Run.
func StartStorm(t testing.TB, s StormSpec) *Storm {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	st := &Storm{Cmd: exec.Command(self)}
	st.Cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %d %d %s %s %s", stormEnv, s.Port, s.Threads, s.Max, s.Duration, s.Sleep, s.Comm))
	st.Cmd.Stderr = &st.stderr
	out, err := st.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	st.out = bufio.NewReader(out)
	if st.stdin, err = st.Cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := st.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	st.PID = st.Cmd.Process.Pid
	t.Cleanup(func() { _ = st.Cmd.Process.Kill(); _ = st.Cmd.Wait() })
	return st
}

// StormResult is what a storm did.
type StormResult struct {
	Made, Failed int
	Secs         float64
	Err          string
}

// Run releases the storm and waits until it is over.
func (st *Storm) Run(t testing.TB) StormResult {
	t.Helper()
	if _, err := io.WriteString(st.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	line, err := st.out.ReadString('\n')
	if err != nil {
		t.Fatalf("storm %d: %v; stderr: %s", st.PID, err, st.stderr.String())
	}
	var r StormResult
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "made" {
		t.Fatalf("storm %d: bad report %q", st.PID, line)
	}
	r.Made, _ = strconv.Atoi(f[1])
	r.Failed, _ = strconv.Atoi(f[3])
	r.Secs, _ = strconv.ParseFloat(f[5], 64)
	r.Err = strings.Join(f[7:], " ")
	return r
}

// Sentinels makes one more connect on each CPU and returns how many.
func (st *Storm) Sentinels(t testing.TB) int {
	t.Helper()
	if _, err := io.WriteString(st.stdin, "sentinel\n"); err != nil {
		t.Fatal(err)
	}
	line, err := st.out.ReadString('\n')
	if err != nil {
		t.Fatalf("storm %d sentinels: %v; stderr: %s", st.PID, err, st.stderr.String())
	}
	var n int
	if _, err := fmt.Sscanf(line, "sentinels %d", &n); err != nil {
		t.Fatalf("storm %d: bad sentinel report %q", st.PID, line)
	}
	if err := st.Cmd.Wait(); err != nil {
		t.Fatalf("storm %d: %v; stderr: %s", st.PID, err, st.stderr.String())
	}
	return n
}
