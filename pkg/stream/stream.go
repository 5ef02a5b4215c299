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
}

// ErrOutputClosed means the reader of the output went away (EPIPE).
var ErrOutputClosed = errors.New("output closed")

// PollMs is the poll cycle: output is flushed at least this often, and a
// stop request is noticed within it.
const PollMs = 100

// Run copies events to out until ctx is done or the source ends. After
// each poll cycle, which reads every sample waiting in the rings, the
// output is flushed: a piped reader sees each line promptly, while a burst
// is written in one go. When ctx ends, the rings are read empty once more.
func Run(ctx context.Context, src Source, out io.Writer, opt Options) (Stats, error) {
	s := &runner{w: bufio.NewWriterSize(out, 64<<10), opt: opt}
	for {
		stopping := ctx.Err() != nil
		timeout := PollMs
		if stopping {
			timeout = 0
			// Whatever the probes emit after the last read would be
			// neither shown nor counted: stop them first.
			if d, ok := src.(interface{ Detach() }); ok {
				d.Detach()
			}
		}
		err := src.Poll(timeout, s.sample, s.lost)
		s.emit()
		if s.err != nil {
			return s.st, s.err
		}
		if ferr := s.w.Flush(); ferr != nil {
			return s.st, ErrOutputClosed
		}
		if errors.Is(err, io.EOF) || stopping {
			return s.st, nil
		}
		if err != nil {
			return s.st, err
		}
	}
}

// ReportLost writes a loss report the way Run does, for losses learnt
// after Run (e.g. from the BPF side's own counter).
func ReportLost(out io.Writer, n uint64, opt Options) error {
	if opt.OnLost == nil {
		fmt.Fprintf(opt.Errors, "Lost %d events\n", n)
		return nil
	}
	if _, err := io.WriteString(out, opt.OnLost(n)); err != nil {
		return ErrOutputClosed
	}
	return nil
}

type runner struct {
	w     *bufio.Writer
	opt   Options
	st    Stats
	err   error         // first write error: stop at the end of the cycle
	batch []event.Event // this cycle's events, reused from cycle to cycle
}

// sample decodes into the batch; emit prints it. Each CPU has its own
// ring, so one cycle's samples arrive grouped by CPU, not by time.
func (s *runner) sample(raw []byte) {
	ev, err := event.Decode(raw)
	if err != nil {
		s.st.Malformed++
		fmt.Fprintf(s.opt.Errors, "%v (%d so far)\n", err, s.st.Malformed)
		return
	}
	s.st.Events++
	s.batch = append(s.batch, ev)
}

// emit writes the cycle's events in kernel-timestamp order.
func (s *runner) emit() {
	slices.SortStableFunc(s.batch, func(a, b event.Event) int { return cmp.Compare(a.TsNs, b.TsNs) })
	for i := range s.batch {
		if s.err != nil {
			break
		}
		if line := s.opt.Format(&s.batch[i]); line != "" {
			if _, err := s.w.WriteString(line); err != nil {
				s.err = ErrOutputClosed
			}
		}
	}
	s.batch = s.batch[:0]
}

func (s *runner) lost(n uint64) {
	s.st.Lost += n
	if s.err == nil {
		s.err = ReportLost(s.w, n, s.opt)
	}
}
