package main

import (
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// probeComm names the prober's thread, so that its connects are told
// apart from connloop's and the canary's in every tool's rows.
const probeComm = "benchlat"

// prober measures display latency: it connects at a fixed rate from one
// OS thread named probeComm and records when each connect started; the
// session hands it the time each probeComm row is read from the tool's
// pty. Rows come in connect order (one thread, connects one after the
// other), so the n-th row belongs to the n-th connect.
type prober struct {
	mu      sync.Mutex
	pending []time.Time
	lat     []float64 // ms
	sent    atomic.Uint64
}

// run connects to sa at rate per second for d, then returns.
func (p *prober) run(sa *unix.SockaddrInet4, rate float64, d time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The thread keeps its new name, so it must die with this
		// goroutine: no UnlockOSThread.
		runtime.LockOSThread()
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafePtr(append([]byte(probeComm), 0))), 0, 0, 0)
		interval := time.Duration(float64(time.Second) / rate)
		start := time.Now()
		for next := start; time.Since(start) < d; next = next.Add(interval) {
			if w := time.Until(next); w > 0 {
				time.Sleep(w)
			}
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				continue
			}
			_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
			p.mu.Lock()
			p.pending = append(p.pending, time.Now())
			p.mu.Unlock()
			p.sent.Add(1)
			_ = unix.Connect(fd, sa)
			unix.Close(fd)
		}
	}()
	<-done
}

// seen records a probeComm row read at t.
func (p *prober) seen(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) == 0 {
		return
	}
	p.lat = append(p.lat, float64(t.Sub(p.pending[0]))/1e6)
	p.pending = p.pending[1:]
}

// wait waits until every connect has its row, or no row came for quiet.
func (p *prober) wait(quiet time.Duration) {
	last, lastChange := -1, time.Now()
	for {
		p.mu.Lock()
		n, left := len(p.lat), len(p.pending)
		p.mu.Unlock()
		if left == 0 {
			return
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > quiet {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// quantiles returns the p50 and p99 latency in ms and the sample count.
func (p *prober) quantiles() (p50, p99 float64, n int) {
	p.mu.Lock()
	s := append([]float64(nil), p.lat...)
	p.mu.Unlock()
	if len(s) == 0 {
		return 0, 0, 0
	}
	sort.Float64s(s)
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return at(0.50), at(0.99), len(s)
}

func (p *prober) quantilesOrZero() (p50, p99 float64, n int) {
	if p == nil {
		return 0, 0, 0
	}
	return p.quantiles()
}
