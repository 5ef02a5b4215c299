// Command connloop is the benchmark's load generator: N parallel connectors
// each open a TCP connection to a loopback listener that connloop runs
// itself, then close it, for a fixed duration or a fixed count, optionally
// paced to a total rate. It prints one JSON object:
//
//	{"connectors":2,"connects":12345,"errors":0,"secs":3.0,
//	 "rate":4115.0,"ns_per_connect":486000,"target_rate":0,"port":40000}
//
// ns_per_connect is the mean wall time one connector spends per connect
// (socket, connect, close). Both ends close with SO_LINGER 0, so no
// TIME_WAIT piles up and the ephemeral port range is never exhausted.
//
// Only loopback addresses are accepted. Build it static: CGO_ENABLED=0.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

type result struct {
	Connectors int    `json:"connectors"`
	Connects   uint64 `json:"connects"`
	Errors     uint64 `json:"errors"`
	// SynErrors are connects that failed after the SYN was sent (reset,
	// refused, timed out): the kernel ran tcp_v4_connect for them too, so
	// a tracer reports them. Attempts = Connects + SynErrors.
	SynErrors    uint64  `json:"syn_errors"`
	Attempts     uint64  `json:"attempts"`
	Secs         float64 `json:"secs"`
	Rate         float64 `json:"rate"`
	NsPerConnect float64 `json:"ns_per_connect"`
	TargetRate   float64 `json:"target_rate"`
	Port         int     `json:"port"`
	FirstError   string  `json:"first_error,omitempty"`
}

func main() {
	var (
		conns    = flag.Int("c", 1, "parallel connectors")
		dur      = flag.Duration("d", 3*time.Second, "run for this long (ignored with -n)")
		count    = flag.Uint64("n", 0, "stop after this many connects in total (0: use -d)")
		rate     = flag.Float64("rate", 0, "total connects per second to pace at (0: as fast as possible)")
		addr     = flag.String("addr", "127.0.0.1", "loopback IPv4 address to listen on and connect to")
		acceptN  = flag.Int("accepters", 0, "accepting threads (0: same as -c)")
		startFd  = flag.Int("wait-fd", -1, "read one byte from this fd before starting (lets a driver start the load later)")
		readyOut = flag.Bool("ready", false, "print \"ready\" on stderr once listening")
	)
	flag.Parse()
	if *conns < 1 {
		fail("-c must be at least 1")
	}
	ip, err := netip.ParseAddr(*addr)
	if err != nil || !ip.Is4() || !ip.IsLoopback() {
		fail("-addr must be an IPv4 loopback address (127.0.0.0/8)")
	}
	lfd, port := listen(ip)
	na := *acceptN
	if na <= 0 {
		na = *conns
	}
	for i := 0; i < na; i++ {
		go accept(lfd)
	}
	if *readyOut {
		fmt.Fprintln(os.Stderr, "ready")
	}
	if *startFd >= 0 {
		b := make([]byte, 1)
		_, _ = unix.Read(*startFd, b)
	}

	sa := &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	var (
		total, errs, synErrs atomic.Uint64
		firstErr             atomic.Value
		stop                 atomic.Bool
		wg                   sync.WaitGroup
	)
	per := 0.0
	if *rate > 0 {
		per = *rate / float64(*conns)
	}
	start := time.Now()
	deadline := start.Add(*dur)
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			runtime.LockOSThread()
			var interval time.Duration
			next := start
			if per > 0 {
				interval = time.Duration(float64(time.Second) / per)
				// Stagger the connectors over one interval.
				next = start.Add(interval * time.Duration(i) / time.Duration(*conns))
			}
			for n := 0; ; n++ {
				if stop.Load() {
					return
				}
				if *count == 0 && n&15 == 0 && time.Now().After(deadline) {
					stop.Store(true)
					return
				}
				if per > 0 {
					now := time.Now()
					if d := next.Sub(now); d > 0 {
						time.Sleep(d)
					} else if -d > 100*time.Millisecond {
						// Far behind: do not burst to catch up.
						next = now
					}
					next = next.Add(interval)
				}
				if err := connectOnce(sa); err != nil {
					if err == unix.ECONNRESET || err == unix.ECONNREFUSED || err == unix.ETIMEDOUT {
						synErrs.Add(1)
					}
					if errs.Add(1) == 1 {
						firstErr.Store(err.Error())
					}
					continue
				}
				if v := total.Add(1); *count > 0 && v >= *count {
					stop.Store(true)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	r := result{
		Connectors: *conns,
		Connects:   total.Load(),
		Errors:     errs.Load(),
		SynErrors:  synErrs.Load(),
		Secs:       secs,
		TargetRate: *rate,
		Port:       port,
	}
	r.Attempts = r.Connects + r.SynErrors
	// Every attempt ran tcp_v4_connect: rates count attempts.
	if r.Attempts > 0 {
		r.Rate = float64(r.Attempts) / secs
		r.NsPerConnect = secs * 1e9 * float64(*conns) / float64(r.Attempts)
	}
	if s, ok := firstErr.Load().(string); ok {
		r.FirstError = s
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "connloop: "+msg)
	os.Exit(2)
}

var linger0 = unix.Linger{Onoff: 1, Linger: 0}

func listen(ip netip.Addr) (int, int) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		fail("socket: " + err.Error())
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: ip.As4()}); err != nil {
		fail("bind: " + err.Error())
	}
	if err := unix.Listen(fd, 4096); err != nil {
		fail("listen: " + err.Error())
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		fail("getsockname: " + err.Error())
	}
	return fd, sa.(*unix.SockaddrInet4).Port
}

// accept takes connections off the queue and waits for the client's abortive
// close before closing its end: closing first would reset the connection
// before a slow client returns from connect() (ECONNRESET), which happens
// under emulation and under a busy tracer.
func accept(lfd int) {
	runtime.LockOSThread()
	buf := make([]byte, 64)
	for {
		nfd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
		if err != nil {
			if err == unix.EINTR || err == unix.ECONNABORTED {
				continue
			}
			return
		}
		for {
			n, err := unix.Read(nfd, buf)
			if err == unix.EINTR || n > 0 {
				continue
			}
			break
		}
		_ = unix.SetsockoptLinger(nfd, unix.SOL_SOCKET, unix.SO_LINGER, &linger0)
		unix.Close(nfd)
	}
}

// connectOnce is one blocking connect and an abortive close.
func connectOnce(sa *unix.SockaddrInet4) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &linger0)
	err = unix.Connect(fd, sa)
	unix.Close(fd)
	return err
}
