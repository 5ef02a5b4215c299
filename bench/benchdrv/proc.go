package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// clkTck is USER_HZ, 100 on every Linux architecture that matters here.
const clkTck = 100

// sysBusy returns the busy CPU time of the whole machine (all CPUs), in
// seconds, from /proc/stat: everything but idle and iowait.
func sysBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	var busy uint64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait, guest, guest_nice (already in user)
			continue
		}
		busy += atoiU(v)
	}
	return float64(busy) / clkTck
}

// procCPU returns the CPU time of pid's threads, in seconds: the sum of
// their schedstat run times (nanoseconds; a 100/s run costs a tracer a few
// clock ticks, too coarse for utime+stime), else utime+stime.
func procCPU(pid int) float64 {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var ns uint64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			ns = 0
			break
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			ns += atoiU(f[0])
		}
	}
	if err == nil && ns > 0 {
		return float64(ns) / 1e9
	}
	return procTicks(pid)
}

// procTicks returns utime+stime of pid, in seconds (all its threads).
func procTicks(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// comm may hold spaces: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	return float64(atoiU(f[11])+atoiU(f[12])) / clkTck
}

// procStatus reads fields (in kB) from /proc/PID/status.
func procStatus(pid int, keys ...string) map[string]float64 {
	out := map[string]float64{}
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return out
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, want := range keys {
			if k == want {
				f := strings.Fields(v)
				if len(f) > 0 {
					x, _ := strconv.ParseFloat(f[0], 64)
					out[k] = x
				}
			}
		}
	}
	return out
}

// countDir counts the entries of a /proc directory (tasks, fds).
func countDir(path string) int {
	d, err := os.ReadDir(path)
	if err != nil {
		return -1
	}
	return len(d)
}

// canary makes one loopback connect every interval from this process, so
// that the first event a tracer reports can be timed. Lines carry this
// program's comm. It runs its own listener.
type canary struct {
	fd int
	sa *unix.SockaddrInet4
}

func newCanary() (*canary, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	lo := netip.MustParseAddr("127.0.0.1").As4()
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: lo}); err != nil {
		return nil, err
	}
	if err := unix.Listen(fd, 128); err != nil {
		return nil, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	c := &canary{fd: fd, sa: &unix.SockaddrInet4{Addr: lo, Port: sa.(*unix.SockaddrInet4).Port}}
	go func() {
		for {
			nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
			if err != nil {
				if err == unix.EINTR || err == unix.ECONNABORTED {
					continue
				}
				return
			}
			unix.Close(nfd)
		}
	}()
	return c, nil
}

// run connects every interval until done is closed.
func (c *canary) run(interval time.Duration, done <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
			_ = unix.Connect(fd, c.sa)
			unix.Close(fd)
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

func unsafePtr(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
