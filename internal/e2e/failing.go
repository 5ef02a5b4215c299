package e2e

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// A "blackhole" connect runs in a network namespace
// of its own, where only lo exists. A listener there with a backlog of 0
// takes one connection and then drops every further SYN without an answer
// (its accept queue is full), so the second connect times out: the
// helper's first connect ends ESTABLISHED, its second ETIMEDOUT after
// about 3 s (SYN retries lowered to 1). The listener is on 127.0.0.1:Port
// of that namespace (any port is free there; 0 picks one); Addr is ignored.

// connectSpecial makes the connects of the kinds that are meant to fail.
// It reports handled=false for the ordinary kinds.
func connectSpecial(c Connect) (handled bool, err error) {
	switch c.Kind {
	case "addrinuse":
		return true, connectAddrInUse(c)
	case "blackhole":
		return true, connectBlackhole(c)
	}
	return false, nil
}

// connectAddrInUse connects twice from the same 127.0.0.1 source port to
// the same listener: the second tcp_v4_connect finds the 4-tuple in use
// and returns EADDRNOTAVAIL, without a packet being sent.
func connectAddrInUse(c Connect) error {
	ip := net.ParseIP(c.Addr).To4()
	if ip == nil {
		return fmt.Errorf("addrinuse: %q is not IPv4", c.Addr)
	}
	dst := &unix.SockaddrInet4{Port: c.Port}
	copy(dst.Addr[:], ip)
	var first int
	for i := 0; i < 2; i++ {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: first}); err != nil {
			return fmt.Errorf("addrinuse: bind port %d: %w", first, err)
		}
		err = unix.Connect(fd, dst)
		if i == 0 {
			if err != nil {
				return fmt.Errorf("addrinuse: first connect: %w", err)
			}
			sa, err := unix.Getsockname(fd)
			if err != nil {
				return err
			}
			first = sa.(*unix.SockaddrInet4).Port
			continue
		}
		if err != unix.EADDRNOTAVAIL {
			return fmt.Errorf("addrinuse: second connect: got %v, want EADDRNOTAVAIL", err)
		}
	}
	return nil
}

// connectBlackhole moves the calling thread (a helper's main thread) into
// a new network namespace and makes the two connects described above.
func connectBlackhole(c Connect) error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("blackhole: unshare network namespace: %w", err)
	}
	if err := loUp(); err != nil {
		return fmt.Errorf("blackhole: %w", err)
	}
	// The namespace's own sysctl; TCP_SYNCNT below does the same per socket.
	_ = os.WriteFile("/proc/sys/net/ipv4/tcp_syn_retries", []byte("1\n"), 0o644)

	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(lfd)
	lo := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: c.Port}
	if err := unix.Bind(lfd, lo); err != nil {
		return fmt.Errorf("blackhole: bind: %w", err)
	}
	if err := unix.Listen(lfd, 0); err != nil {
		return fmt.Errorf("blackhole: listen: %w", err)
	}
	sa, err := unix.Getsockname(lfd)
	if err != nil {
		return err
	}
	lo.Port = sa.(*unix.SockaddrInet4).Port
	for i, want := range []error{nil, unix.ETIMEDOUT} {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_SYNCNT, 1); err != nil {
			return err
		}
		if err := unix.Connect(fd, lo); err != want {
			return fmt.Errorf("blackhole: connect %d: got %v, want %v", i+1, err, want)
		}
	}
	return nil
}
