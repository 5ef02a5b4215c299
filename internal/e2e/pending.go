package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A pending helper is the test binary re-executed with E2E_PENDING set: in
// a network namespace of its own it makes connects that stay in SYN_SENT
// until it exits, as connects to a black-holed host do.
const pendingEnv = "E2E_PENDING"

// pendingProcess runs a pending, spread or ports helper (see Main).
func pendingProcess() (int, bool) {
	spec, ok := os.LookupEnv(pendingEnv)
	if !ok {
		return 0, false
	}
	var kind, comm string
	var n, port int
	if _, err := fmt.Sscanf(spec, "%s %d %d %s", &kind, &n, &port, &comm); err != nil {
		fmt.Fprintln(os.Stderr, "pending spec:", err)
		return 3, true
	}
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil { // the go signal
		return 3, true
	}
	code := 3
	switch kind {
	case "pending":
		code = runPending(n, comm)
	case "spread":
		code = runSpread(n, port, comm)
	case "ports":
		code = runPorts(n, port, comm)
	}
	if code == 0 {
		_, _ = in.ReadString('\n') // hold the sockets until told
	}
	return code, true
}

// runSpread connects to n distinct loopback addresses 127.1.x.y on a
// closed port (each refused at once) and prints "made N".
func runSpread(n, port int, comm string) int {
	runtime.LockOSThread() // the comm is the thread's
	setComm(comm)
	return connectRefused("spread", n, func(i int) *unix.SockaddrInet4 {
		return &unix.SockaddrInet4{Addr: [4]byte{127, 1, byte(i / 250), byte(i%250 + 1)}, Port: port}
	})
}

// runPorts connects to n distinct ports of 127.0.0.1, from first on, in a
// network namespace of its own where nothing listens (each refused at
// once, whatever the host runs), and prints "made N".
func runPorts(n, first int, comm string) int {
	runtime.LockOSThread() // the namespace and the comm are the thread's
	setComm(comm)
	if first < 1 || first+n-1 > 65535 {
		fmt.Fprintf(os.Stderr, "ports: %d ports from %d do not fit\n", n, first)
		return 3
	}
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		fmt.Fprintln(os.Stderr, "ports: unshare network namespace:", err)
		return 3
	}
	if err := loUp(); err != nil {
		fmt.Fprintln(os.Stderr, "ports:", err)
		return 3
	}
	return connectRefused("ports", n, func(i int) *unix.SockaddrInet4 {
		return &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: first + i}
	})
}

// connectRefused makes n blocking connects, to dest(0) ... dest(n-1),
// each of which must be refused at once, and prints "made N".
func connectRefused(what string, n int, dest func(i int) *unix.SockaddrInet4) int {
	made := 0
	for i := 0; i < n; i++ {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
			return 3
		}
		sa := dest(i)
		err = unix.Connect(fd, sa)
		unix.Close(fd)
		if err != unix.ECONNREFUSED {
			fmt.Fprintf(os.Stderr, "%s: connect to %v:%d: %v, want ECONNREFUSED\n", what, sa.Addr, sa.Port, err)
			return 3
		}
		made++
	}
	fmt.Printf("made %d\n", made)
	return 0
}

// runPending fills a listener's accept queue (backlog 0) with one
// established connect, so that the kernel drops every later SYN: the n
// non-blocking connects after it stay in SYN_SENT for their whole retry
// time (about two minutes). It prints "made N".
func runPending(n int, comm string) int {
	// The network namespace (and the comm) belong to the thread: every
	// socket must be made on the one that unshared.
	runtime.LockOSThread()
	setComm(comm)
	// One socket each: stay within the open-file limit (Go raises the soft
	// limit to the hard one; 20000 on the CI host, 4096 in the guests).
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && uint64(n)+64 > rl.Cur {
		n = int(rl.Cur) - 64
	}
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		fmt.Fprintln(os.Stderr, "pending: unshare network namespace:", err)
		return 3
	}
	if err := loUp(); err != nil {
		fmt.Fprintln(os.Stderr, "pending:", err)
		return 3
	}
	// The namespace's own port range: n source ports to one destination.
	_ = os.WriteFile("/proc/sys/net/ipv4/ip_local_port_range", []byte("1024 65535\n"), 0o644)
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pending:", err)
		return 3
	}
	lo := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := unix.Bind(lfd, lo); err != nil {
		fmt.Fprintln(os.Stderr, "pending: bind:", err)
		return 3
	}
	if err := unix.Listen(lfd, 0); err != nil {
		fmt.Fprintln(os.Stderr, "pending: listen:", err)
		return 3
	}
	sa, _ := unix.Getsockname(lfd)
	lo.Port = sa.(*unix.SockaddrInet4).Port
	made := 0
	for i := 0; i <= n; i++ {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pending: socket %d: %v\n", i, err)
			return 3
		}
		if err := unix.Connect(fd, lo); err != unix.EINPROGRESS {
			fmt.Fprintf(os.Stderr, "pending: connect %d: %v\n", i, err)
			return 3
		}
		made++
		if i == 0 {
			// The first one completes and fills the queue.
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			if _, err := unix.Poll(pfd, 5000); err != nil || pfd[0].Revents&unix.POLLOUT == 0 {
				fmt.Fprintln(os.Stderr, "pending: the first connect did not complete")
				return 3
			}
		}
	}
	fmt.Printf("made %d\n", made)
	return 0
}

func loUp() error {
	ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(ctl)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	ifr.SetUint16(unix.IFF_UP | unix.IFF_LOOPBACK | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(ctl, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	return nil
}

// Pending is a running pending or spread helper.
type Pending struct {
	PID  int
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	Made int // connects made: one established, the rest in SYN_SENT
}

// StartPending starts a helper that will make n+1 connects (fewer if its
// open-file limit is lower), all but the first left in SYN_SENT; it waits
// for Go. Its sockets stay open until the
// test ends.
func StartPending(t testing.TB, n int, comm string) *Pending {
	return startPending(t, fmt.Sprintf("pending %d 0 %s", n, comm))
}

// StartSpread starts a helper that will make n connects to n distinct
// addresses (127.1.x.y, port closed); it waits for Go.
func StartSpread(t testing.TB, n, port int, comm string) *Pending {
	return startPending(t, fmt.Sprintf("spread %d %d %s", n, port, comm))
}

// StartPorts starts a helper that will make n connects to n distinct
// destination ports (127.0.0.1, from first on, in a network namespace of
// its own: each refused at once); it waits for Go.
func StartPorts(t testing.TB, n, first int, comm string) *Pending {
	return startPending(t, fmt.Sprintf("ports %d %d %s", n, first, comm))
}

func startPending(t testing.TB, spec string) *Pending {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &Pending{cmd: exec.Command(exe)}
	p.cmd.Env = append(os.Environ(), pendingEnv+"="+spec)
	p.cmd.Stderr = os.Stderr
	in, err := p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.out = bufio.NewReader(out)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.PID = p.cmd.Process.Pid
	p.in = in
	t.Cleanup(func() {
		_ = in.Close()
		_ = p.cmd.Wait()
	})
	return p
}

// Go makes the connects and waits until all are made.
func (p *Pending) Go(t testing.TB) {
	t.Helper()
	if _, err := io.WriteString(p.in, "go\n"); err != nil {
		t.Fatal(err)
	}
	line, err := p.out.ReadString('\n')
	if _, serr := fmt.Sscanf(strings.TrimSpace(line), "made %d", &p.Made); err != nil || serr != nil {
		t.Fatalf("pending helper: %q, %v", line, err)
	}
}
