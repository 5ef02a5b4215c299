package stream

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// dropping is a source whose producer failed more writes than perf's loss
// records have told by the end of the run.
type dropping struct {
	*fakeSource
	dropped uint64
}

func (d *dropping) Dropped() (uint64, error) { return d.dropped, nil }

// TestDroppedAtEnd: drops that perf has not reported by the end are
// counted from the producer's own count, reported in-band once, and
// included in the stats, so shown + lost == written + dropped.
func TestDroppedAtEnd(t *testing.T) {
	src := &dropping{fakeSource: newFake([][]byte{sample(1), sample(2)}, 2), dropped: 5}
	var out strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // one last poll, as at the end of a run
	st, err := Run(ctx, src, &out, Options{
		Format: func(e *event.Event) string { return "row\n" },
		OnLost: func(n uint64) string { return "lost " + strings.Repeat("x", int(n)) + "\n" },
		Errors: &strings.Builder{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Lost != 5 || st.Events != 2 {
		t.Errorf("stats %+v, want 2 events and 5 lost", st)
	}
	if got, want := out.String(), "lost xx\nlost xxx\nrow\nrow\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// lateRecord: the producer counts 5 drops at the first poll; perf's own
// record of the same 5 comes two polls later; then the source ends.
type lateRecord struct {
	polls   int
	dropped uint64
}

func (s *lateRecord) Poll(_ int, emit func([]byte), lost func(uint64)) error {
	s.polls++
	switch s.polls {
	case 1:
		emit(sample(1))
		s.dropped = 5
	case 3:
		lost(5)
	case 4:
		return io.EOF
	}
	return nil
}

func (s *lateRecord) Dropped() (uint64, error) { return s.dropped, nil }

// TestDropsReportedAtOnce: drops the producer counted are reported after
// the poll that saw them, not when perf's record finally comes, and the
// late record does not count them twice.
func TestDropsReportedAtOnce(t *testing.T) {
	var out strings.Builder
	st, err := Run(context.Background(), &lateRecord{}, &out, Options{
		Format: func(e *event.Event) string { return "row\n" },
		OnLost: func(n uint64) string { return "lost " + strings.Repeat("x", int(n)) + "\n" },
		Errors: &strings.Builder{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Lost != 5 {
		t.Errorf("lost %d, want 5 (the same drops, counted once)", st.Lost)
	}
	if got, want := out.String(), "lost xxxxx\nrow\n"; got != want {
		t.Errorf("output %q, want %q (the loss in the first cycle)", got, want)
	}
}
