// Package stream drains a tracer's perf buffer: it decodes each sample,
// hands it to a formatter, writes the result, and reports lost samples.
package stream

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// Source is what a stream reads: the tracer's perf buffer.
type Source interface {
	// Poll waits up to timeoutMs, then hands over every waiting sample
	// and loss count. It returns io.EOF when the source has ended.
	Poll(timeoutMs int, sample func([]byte), lost func(uint64)) error
}

// Stats counts what a stream saw.
type Stats struct {
	Events    uint64 // decoded events
	Lost      uint64 // samples the kernel dropped (perf buffer full)
	Malformed uint64 // samples that did not decode
	// Unprinted: events read but never printed, because the output was
	// abandoned (Abandon) while blocked: rows still buffered, or still
	// in the rings.
	Unprinted uint64
}

// Options configures Run.
type Options struct {
	// Format renders one event; it returns "" to print nothing.
	Format func(*event.Event) string
	// OnLost renders a loss report for the output stream (e.g. a JSON
	// record); nil writes "Lost N events" to Errors instead.
	OnLost func(n uint64) string
	// Errors receives loss and malformed-event reports.
	Errors io.Writer
	// Header is written (and flushed) before the first poll.
	Header string
	// Observe, if set, sees every decoded event, printed or not (the
	// --metrics counters). It runs on the polling goroutine.
	Observe func(*event.Event)
}

// ErrOutputClosed means the reader of the output went away (EPIPE).
var ErrOutputClosed = errors.New("output closed")

// PollMs is the poll cycle of a Source that cannot wait on its own
// (not a Waiter): output is flushed at least this often, and a stop
// request is noticed within it.
const PollMs = 50

// IdleMs bounds a Waiter's wait while nothing happens: a stop interrupts
// it, so this only keeps the loss counts read at least once a second.
const IdleMs = 1000

// Waiter is a Source that waits for samples itself, paced as it sees fit
// (perfbuf.Reader: at once at low rates, in batches under load). Run then
// waits without holding the stream's lock, and polls with a zero timeout.
type Waiter interface {
	// Wait returns when samples wait, after at most timeoutMs, or at
	// once after Interrupt.
	Wait(timeoutMs int) error
	// Interrupt ends the current Wait and every later one (stopping).
	Interrupt()
}

// Stream copies a source's events to an output. Run does the copying;
// Abandon, from another goroutine, stops it even while a write to the
// output is blocked (a reader that stopped reading): it waits for any poll
// in progress, then no poll starts again, so the caller may close the
// source at once.
type Stream struct {
	src   Source
	meter *Meter
	w     *bufio.Writer
	opt   Options

	mu        sync.Mutex // held during each Poll; guards st, perfLost, abandoned, queued, others
	st        Stats
	perfLost  uint64 // what perf's loss records said; st.Lost may be ahead
	abandoned bool

	// Lines handed to the output so far (queued), and the numbers of
	// those that are not rows (the header, loss reports): with the
	// meter's count of lines delivered they give the rows not printed.
	queued uint64
	others []uint64

	// The events of the cycle being emitted, and how many of them emit
	// has queued or skipped: a write that blocks mid-batch leaves the
	// rest in the batch, neither queued nor printed (Abandon counts them).
	batchLen, emitted uint64
	// Events skipped (Format gave "") since the last row, Run goroutine
	// only: put adds them to emitted under the lock it takes anyway, so
	// that skipping (every event, with -q) costs no lock.
	skipped uint64

	// Used by the Run goroutine only.
	err     error         // first write error: stop at the end of the cycle
	batch   []event.Event // this cycle's events, reused from cycle to cycle
	pending []string      // this cycle's loss reports for the output
}

// New returns a stream from src to out.
func New(src Source, out io.Writer, opt Options) *Stream {
	m := NewMeter(out)
	return &Stream{src: src, meter: m, w: bufio.NewWriterSize(m, 64<<10), opt: opt}
}

// Stalled returns a channel closed once a write to the output has made no
// progress for d, and a function that stops watching (Meter.Stalled).
func (s *Stream) Stalled(d time.Duration) (<-chan struct{}, func()) {
	return s.meter.Stalled(d)
}

// Run copies events to out until ctx is done or the source ends. After
// each poll cycle, which reads every sample waiting in the rings, the
// output is flushed: a piped reader sees each line promptly, while a burst
// is written in one go. When ctx ends, the rings are read empty once more.
// Writes happen outside the poll lock, so that a blocked write never keeps
// Abandon waiting.
func (s *Stream) Run(ctx context.Context) (Stats, error) {
	if s.opt.Header != "" {
		s.put(s.opt.Header, false)
		if s.err != nil || s.w.Flush() != nil {
			return Stats{}, ErrOutputClosed
		}
	}
	waiter, _ := s.src.(Waiter)
	if waiter != nil {
		// The stop interrupts the wait; never after Run has returned,
		// when the caller may have closed the source.
		ran, watched := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(watched)
			select {
			case <-ctx.Done():
				waiter.Interrupt()
			case <-ran:
			}
		}()
		defer func() { close(ran); <-watched }()
	}
	for {
		timeout := PollMs
		if waiter != nil && ctx.Err() == nil && !s.isAbandoned() {
			if err := waiter.Wait(IdleMs); err != nil {
				return s.Stats(), err
			}
			timeout = 0
		}
		stopping := ctx.Err() != nil
		if stopping {
			timeout = 0
			// Whatever the probes emit after the last read would be
			// neither shown nor counted: stop them first.
			if d, ok := s.src.(interface{ Detach() }); ok {
				d.Detach()
			}
		}
		s.mu.Lock()
		if s.abandoned {
			st := s.st
			s.mu.Unlock()
			return st, ErrAbandoned
		}
		err := s.src.Poll(timeout, s.sample, s.lost)
		s.reconcile()
		st := s.st
		s.mu.Unlock()
		s.emit()
		if s.err != nil {
			return st, s.err
		}
		if ferr := s.w.Flush(); ferr != nil {
			return st, ErrOutputClosed
		}
		if errors.Is(err, io.EOF) || stopping {
			return st, nil
		}
		if err != nil {
			return st, err
		}
	}
}

// isAbandoned reports whether Abandon was called.
func (s *Stream) isAbandoned() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.abandoned
}

// Abandon stops Run from polling again and returns what it counted. It
// waits only for a poll in progress (a Waiter's takes no time; others at
// most PollMs), never for a write.
// What is still in the rings is read and counted as unprinted, with the
// rows queued but not delivered: stop the source's producer first.
func (s *Stream) Abandon() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.abandoned {
		return s.st
	}
	s.abandoned = true
	s.meter.Cut()
	var left uint64
	for range 64 { // one poll reads every ring; a fake may need more
		before := left
		if err := s.src.Poll(0, func([]byte) { left++ }, s.lost); err != nil || left == before {
			break
		}
	}
	s.reconcile()
	s.st.Unprinted = left + s.undelivered() + s.batchLen - s.emitted
	return s.st
}

// undelivered counts the rows queued that the output has not taken.
func (s *Stream) undelivered() uint64 {
	delivered := s.meter.Lines()
	if delivered >= s.queued {
		return 0
	}
	n := s.queued - delivered
	for _, i := range s.others {
		if i >= delivered {
			n--
		}
	}
	return n
}

// put queues text for the output; row says whether it is an event's row
// (of the batch being emitted). Rows are counted by line, so that Abandon
// knows which got through.
func (s *Stream) put(text string, row bool) {
	if s.err != nil {
		return
	}
	lines := uint64(strings.Count(text, "\n"))
	s.mu.Lock()
	if !row {
		// Forget the ones already delivered: a long run's loss
		// reports must not pile up.
		d, i := s.meter.Lines(), 0
		for i < len(s.others) && s.others[i] < d {
			i++
		}
		s.others = s.others[i:]
		for i := uint64(0); i < lines; i++ {
			s.others = append(s.others, s.queued+i)
		}
	}
	s.queued += lines
	if row {
		s.emitted += 1 + s.skipped
		s.skipped = 0
	}
	s.mu.Unlock()
	if _, err := s.w.WriteString(text); err != nil {
		s.err = ErrOutputClosed
	}
}

// Dropper is a Source that also counts the samples its producer could not
// write (the BPF side's failed perf writes). perf reports a drop only
// when a later sample reaches the same ring, so the drops at the very end
// of a run are known only from this count.
type Dropper interface {
	Dropped() (uint64, error)
}

// reconcile counts the drops perf has not reported yet: perf writes its
// loss record only when a later sample reaches the same ring, which may
// be much later or never. Called with mu held, after each poll, so that
// a loss is reported within a poll cycle.
func (s *Stream) reconcile() {
	d, ok := s.src.(Dropper)
	if !ok {
		return
	}
	if n, err := d.Dropped(); err == nil && n > s.st.Lost {
		s.report(n - s.st.Lost)
	}
}

// ErrAbandoned is Run's error after Abandon.
var ErrAbandoned = errors.New("stream abandoned")

// Run copies events from src to out until ctx is done or the source ends
// (New(src, out, opt).Run(ctx)).
func Run(ctx context.Context, src Source, out io.Writer, opt Options) (Stats, error) {
	return New(src, out, opt).Run(ctx)
}

// sample decodes into the batch; emit prints it. Each CPU has its own
// ring, so one cycle's samples arrive grouped by CPU, not by time.
func (s *Stream) sample(raw []byte) {
	ev, err := event.Decode(raw)
	if err != nil {
		s.st.Malformed++
		fmt.Fprintf(s.opt.Errors, "%v (%d so far)\n", err, s.st.Malformed)
		return
	}
	s.st.Events++
	if s.opt.Observe != nil {
		s.opt.Observe(&ev)
	}
	s.batch = append(s.batch, ev)
}

// Stats returns what the stream has counted so far. It may wait for a
// poll in progress (as Abandon).
func (s *Stream) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// emit writes the cycle's loss reports, then its events in kernel-timestamp
// order.
func (s *Stream) emit() {
	for _, r := range s.pending {
		s.put(r, false)
	}
	s.pending = s.pending[:0]
	slices.SortStableFunc(s.batch, func(a, b event.Event) int { return cmp.Compare(a.TsNs, b.TsNs) })
	s.mu.Lock()
	s.batchLen, s.emitted = uint64(len(s.batch)), 0
	s.mu.Unlock()
	for i := range s.batch {
		if s.err != nil {
			break
		}
		if line := s.opt.Format(&s.batch[i]); line != "" {
			s.put(line, true)
		} else {
			s.skipped++ // not meant to be shown: not lost either
		}
	}
	if s.err == nil {
		// The whole batch is queued: nothing of it is left to count.
		s.mu.Lock()
		s.batchLen, s.emitted = 0, 0
		s.mu.Unlock()
	}
	s.skipped = 0
	s.batch = s.batch[:0]
}

// lost takes perf's loss records, inside Poll. They count the same drops
// as the producer's own count (reconcile): only what neither has
// reported yet is new.
func (s *Stream) lost(n uint64) {
	s.perfLost += n
	if s.perfLost > s.st.Lost {
		s.report(s.perfLost - s.st.Lost)
	}
}

// report counts n more lost samples and reports them: a report for the
// output waits for emit, which writes outside the poll lock.
func (s *Stream) report(n uint64) {
	s.st.Lost += n
	if s.opt.OnLost == nil {
		fmt.Fprintf(s.opt.Errors, "Lost %d events\n", n)
		return
	}
	s.pending = append(s.pending, s.opt.OnLost(n))
}
