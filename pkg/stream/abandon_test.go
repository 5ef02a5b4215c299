package stream

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// endless hands over one sample per poll, for ever.
type endless struct{ polls atomic.Int64 }

func (s *endless) Poll(_ int, sample func([]byte), lost func(uint64)) error {
	s.polls.Add(1)
	sample(sample1())
	lost(1)
	return nil
}

func sample1() []byte { return sample(7) }

// stuck is an output whose writes never return (a reader that stopped).
type stuck struct{ entered chan struct{} }

func (w *stuck) Write([]byte) (int, error) {
	close(w.entered)
	select {}
}

// TestAbandonWhileWriteBlocked: with Run stuck in a write, Abandon returns
// at once with the counts so far, and Run polls the source no more, so the
// caller may close it.
func TestAbandonWhileWriteBlocked(t *testing.T) {
	src := &endless{}
	out := &stuck{entered: make(chan struct{})}
	s := New(src, out, Options{
		Format: func(e *event.Event) string { return "pid " + strconv.Itoa(int(e.PID)) + "\n" },
		OnLost: func(n uint64) string { return "lost\n" },
	})
	go func() { _, _ = s.Run(context.Background()) }()
	<-out.entered
	done := make(chan Stats, 1)
	go func() { done <- s.Abandon() }()
	var st Stats
	select {
	case st = <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Abandon waited on a blocked write")
	}
	if st.Events == 0 || st.Lost == 0 {
		t.Errorf("stats %+v: want the events and losses counted so far", st)
	}
	polls := src.polls.Load()
	time.Sleep(50 * time.Millisecond)
	if n := src.polls.Load(); n != polls {
		t.Errorf("%d polls after Abandon", n-polls)
	}
}
