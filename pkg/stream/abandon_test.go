package stream

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
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

// finite hands over up to perPoll samples per poll, total in all.
type finite struct {
	left, perPoll int
	polled        chan struct{} // closed at the first poll
	once          sync.Once
}

func (s *finite) Poll(_ int, sample func([]byte), _ func(uint64)) error {
	s.once.Do(func() { close(s.polled) })
	for i := 0; i < s.perPoll && s.left > 0; i++ {
		sample(sample1())
		s.left--
	}
	return nil
}

// TestAbandonCountsUnprinted: with the output a pipe nobody reads, Run
// fills it and blocks; Abandon then counts, exactly, every event the pipe
// did not take (queued rows and what was still in the source), so that
// rows in the pipe + unprinted == events made. A loss report in the output
// is not a row and is not counted. Batches of 1,000 block between
// batches; one batch of them all blocks in its middle, with the rest of it
// neither queued nor printed. With every third event not meant to be
// shown, those skipped are neither rows nor unprinted.
func TestAbandonCountsUnprinted(t *testing.T) {
	for _, perPoll := range []int{1000, 50000} {
		for _, skipEvery := range []int{0, 3} {
			name := strconv.Itoa(perPoll) + "_per_poll_skip_" + strconv.Itoa(skipEvery)
			t.Run(name, func(t *testing.T) { abandonCounts(t, perPoll, skipEvery) })
		}
	}
}

func abandonCounts(t *testing.T, perPoll, skipEvery int) {
	const total = 50000 // "pid 7\n": 300 kB, several pipes full
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	src := &finite{left: total, perPoll: perPoll, polled: make(chan struct{})}
	var formatted uint64 // Format runs on Run's goroutine only
	var skipped atomic.Uint64
	s := New(src, w, Options{
		Header: "HEADER\n",
		Format: func(e *event.Event) string {
			formatted++
			if skipEvery > 0 && formatted%uint64(skipEvery) == 0 {
				skipped.Add(1)
				return ""
			}
			return "pid " + strconv.Itoa(int(e.PID)) + "\n"
		},
	})
	go func() { _, _ = s.Run(context.Background()) }()
	<-src.polled
	stalled, unwatch := s.Stalled(100 * time.Millisecond)
	defer unwatch()
	select {
	case <-stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("the write to a full pipe never stalled")
	}
	st := s.Abandon()
	// The write still blocked fails once its file is closed, as it would
	// end with the process. Then read what the pipe holds: a blocked
	// piece wrote nothing.
	w.Close()
	if err := r.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(r)
	rows := strings.Count(string(data), "pid 7\n")
	if !strings.HasPrefix(string(data), "HEADER\n") {
		t.Errorf("output starts %q, want the header", data[:min(len(data), 20)])
	}
	t.Logf("rows in the pipe %d, unprinted %d, events %d", rows, st.Unprinted, st.Events)
	if rows == 0 || st.Unprinted == 0 {
		t.Errorf("rows %d, unprinted %d: want both (the pipe holds less than the total)", rows, st.Unprinted)
	}
	if skipEvery > 0 && skipped.Load() == 0 {
		t.Error("no event was skipped: the case tests nothing")
	}
	if n := skipped.Load(); uint64(rows)+st.Unprinted+n != total {
		t.Errorf("rows %d + unprinted %d + skipped %d = %d, want the %d events made",
			rows, st.Unprinted, n, uint64(rows)+st.Unprinted+n, total)
	}
}

// TestStallNotForSlowReader: a reader that keeps reading, however slowly,
// never makes the output stall, and gets every row.
func TestStallNotForSlowReader(t *testing.T) {
	const total = 20000
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	src := &finite{left: total, perPoll: total, polled: make(chan struct{})}
	s := New(src, w, Options{Format: func(e *event.Event) string { return "pid " + strconv.Itoa(int(e.PID)) + "\n" }})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // one poll, as at the end of a run
	done := make(chan struct{})
	go func() {
		_, _ = s.Run(ctx)
		w.Close()
		close(done)
	}()
	stalled, unwatch := s.Stalled(100 * time.Millisecond)
	defer unwatch()
	rows := 0
	buf := make([]byte, 2048)
	for {
		n, err := r.Read(buf)
		rows += strings.Count(string(buf[:n]), "\n")
		if err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond) // 100 kB/s: 1.2 s for 120 kB
		select {
		case <-stalled:
			t.Fatal("a reader that keeps reading made the output stall")
		default:
		}
	}
	<-done
	if rows != total {
		t.Errorf("%d rows read, want %d", rows, total)
	}
}
