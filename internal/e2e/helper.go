// Package e2e is the end-to-end test kit shared by the commands' tests:
// it runs the built tracer as a child process and makes real connects
// from helper processes whose PIDs, names and ports are known.
//
// Helpers are the test binary itself, re-executed with E2E_HELPER set;
// each test binary's TestMain is e2e.Main, which runs them.
package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Connect describes one connect a helper makes.
type Connect struct {
	Kind string // "block", "nonblock", "thread", "mapped" (AF_INET6 socket to ::ffff:a.b.c.d), "v6", "addrinuse", "blackhole" (see failing.go)
	Addr string // destination IP
	Port int
	Comm string // process name to set on the connecting thread
}

func (c Connect) String() string {
	return fmt.Sprintf("%s,%s,%d,%s", c.Kind, c.Addr, c.Port, c.Comm)
}

func parseConnect(s string) (Connect, error) {
	f := strings.Split(s, ",")
	if len(f) != 4 {
		return Connect{}, fmt.Errorf("bad connect spec %q", s)
	}
	port, err := strconv.Atoi(f[2])
	if err != nil {
		return Connect{}, err
	}
	return Connect{Kind: f[0], Addr: f[1], Port: port, Comm: f[3]}, nil
}

const helperEnv = "E2E_HELPER"

// init keeps a helper's main goroutine on the main thread (initialization
// runs there), so that "thread" connects are sure to run on another one.
func init() {
	if _, ok := os.LookupEnv(helperEnv); ok {
		runtime.LockOSThread()
	}
}

// helperProcess runs a connect helper (see Main): it waits for a line on
// stdin (the go signal), makes its connects in order, prints "tid N" for
// each, and exits.
func helperProcess() (int, bool) {
	spec, ok := os.LookupEnv(helperEnv)
	if !ok {
		return 0, false
	}
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		return 3, true
	}
	for _, s := range strings.Split(spec, ";") {
		c, err := parseConnect(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3, true
		}
		tid, err := doConnect(c)
		if err != nil {
			fmt.Fprintln(os.Stderr, "connect:", err)
			return 4, true
		}
		fmt.Printf("tid %d\n", tid)
	}
	return 0, true
}

// doConnect makes one connect on a thread named c.Comm and returns the
// thread's id. Refused or pending connects are not errors: the SYN was sent.
func doConnect(c Connect) (int, error) {
	if c.Kind == "thread" {
		type res struct {
			tid int
			err error
		}
		ch := make(chan res)
		go func() {
			// A goroutine locked to a fresh thread that is never
			// unlocked: the runtime retires the thread on exit.
			runtime.LockOSThread()
			tid, err := connectOn(c)
			if err == nil && tid == unix.Getpid() {
				err = fmt.Errorf("thread connect ran on the main thread")
			}
			ch <- res{tid, err}
		}()
		r := <-ch
		return r.tid, r.err
	}
	return connectOn(c)
}

func connectOn(c Connect) (int, error) {
	name, err := unix.BytePtrFromString(c.Comm)
	if err != nil {
		return 0, err
	}
	err = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
	runtime.KeepAlive(name)
	if err != nil {
		return 0, fmt.Errorf("set comm: %w", err)
	}
	if handled, err := connectSpecial(c); handled {
		return unix.Gettid(), err
	}
	ip := net.ParseIP(c.Addr)
	if ip == nil {
		return 0, fmt.Errorf("bad address %q", c.Addr)
	}
	var (
		fd int
		sa unix.Sockaddr
	)
	flags := unix.SOCK_STREAM | unix.SOCK_CLOEXEC
	if c.Kind == "nonblock" {
		flags |= unix.SOCK_NONBLOCK
	}
	switch c.Kind {
	case "mapped", "v6":
		fd, err = unix.Socket(unix.AF_INET6, flags, 0)
		sa6 := &unix.SockaddrInet6{Port: c.Port}
		copy(sa6.Addr[:], ip.To16())
		sa = sa6
	default:
		fd, err = unix.Socket(unix.AF_INET, flags, 0)
		sa4 := &unix.SockaddrInet4{Port: c.Port}
		copy(sa4.Addr[:], ip.To4())
		sa = sa4
	}
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	err = unix.Connect(fd, sa)
	switch err {
	case nil, unix.ECONNREFUSED, unix.EINPROGRESS:
	default:
		return 0, err
	}
	if c.Kind == "nonblock" {
		// Let the handshake finish before close, as a real client would.
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		_, _ = unix.Poll(fds, 2000)
	}
	return unix.Gettid(), nil
}
