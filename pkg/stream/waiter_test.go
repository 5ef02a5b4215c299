package stream

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// waiting is a Waiter whose Wait blocks until a sample is offered or it
// is interrupted, as the perf reader's does while the rings are quiet.
type waiting struct {
	offer       chan struct{}
	intr        chan struct{}
	interrupted atomic.Bool
	queued      atomic.Int64
}

func newWaiting() *waiting {
	return &waiting{offer: make(chan struct{}, 16), intr: make(chan struct{})}
}

func (w *waiting) Wait(int) error {
	select {
	case <-w.offer:
		w.queued.Add(1)
	case <-w.intr:
	}
	return nil
}

func (w *waiting) Interrupt() {
	if w.interrupted.CompareAndSwap(false, true) {
		close(w.intr)
	}
}

func (w *waiting) Poll(timeoutMs int, sample func([]byte), _ func(uint64)) error {
	if timeoutMs != 0 {
		panic("a Waiter is polled with a zero timeout")
	}
	for w.queued.Load() > 0 {
		w.queued.Add(-1)
		sample(sample1())
	}
	return nil
}

// TestWaiterStops: Run waits in the source's own Wait, without the
// stream's lock (Stats answers meanwhile), prints each sample as it comes,
// and a stop interrupts the wait: Run returns at once, with every sample.
func TestWaiterStops(t *testing.T) {
	w := newWaiting()
	pr, pw := io.Pipe()
	defer pr.Close()
	s := New(w, pw, Options{Format: func(*event.Event) string { return "row\n" }, Errors: io.Discard})
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		st  Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := s.Run(ctx)
		done <- result{st, err}
	}()
	buf := make([]byte, 64)
	for i := 1; i <= 3; i++ {
		w.offer <- struct{}{}
		n, err := pr.Read(buf)
		if err != nil || string(buf[:n]) != "row\n" {
			t.Fatalf("sample %d: read %q, %v; want its row", i, buf[:n], err)
		}
		// Run is back in Wait, or about to be: Stats must not wait
		// for a sample that will not come.
		stats := make(chan Stats, 1)
		go func() { stats <- s.Stats() }()
		select {
		case st := <-stats:
			if st.Events != uint64(i) {
				t.Fatalf("Stats().Events = %d, want %d", st.Events, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Stats blocked while Run waited for samples")
		}
	}
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run still waiting 10 s after the stop")
	}
	if r.err != nil || r.st.Events != 3 {
		t.Fatalf("Run = %+v, %v; want 3 events and no error", r.st, r.err)
	}
	if !w.interrupted.Load() {
		t.Error("the stop did not interrupt the wait")
	}
}
