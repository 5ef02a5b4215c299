// Package stream drains a tracer's perf buffer: it decodes each sample,
// hands it to a formatter, writes the result, and reports lost samples.
package stream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// Source is what a stream reads: the tracer's channels.
type Source interface {
	Events() <-chan []byte
	Lost() <-chan uint64
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
	// OnLost renders a loss report; nil writes "Lost N events" to Errors.
	OnLost func(n uint64) string
	// Errors receives loss and malformed-event reports.
	Errors io.Writer
	// Drain bounds how long Run keeps reading after ctx ends, so that
	// samples already in the kernel buffer are not thrown away.
	Drain time.Duration
}

// ErrOutputClosed means the reader of the output went away (EPIPE).
var ErrOutputClosed = errors.New("output closed")

// Run copies events to out until ctx is done or the source closes. Output
// is flushed whenever no further sample is immediately waiting, so a
// piped reader sees each line promptly while bursts are batched.
func Run(ctx context.Context, src Source, out io.Writer, opt Options) (Stats, error) {
	var st Stats
	w := bufio.NewWriterSize(out, 64<<10)
	events, lost := src.Events(), src.Lost()
	done := ctx.Done()
	// Set once ctx is done: stop when the buffer stays quiet for one poll
	// cycle, or when the drain time is up.
	var quiet, deadline <-chan time.Time
	for {
		select {
		case raw, ok := <-events:
			if !ok {
				return st, flush(w)
			}
			if err := handle(raw, w, &st, opt); err != nil {
				return st, err
			}
			if len(events) == 0 {
				if err := flush(w); err != nil {
					return st, err
				}
			}
			if done == nil {
				quiet = time.After(quietPeriod)
			}
		case n, ok := <-lost:
			if !ok {
				lost = nil
				continue
			}
			st.Lost += n
			if err := reportLost(w, n, opt); err != nil {
				return st, err
			}
		case <-done:
			done = nil
			quiet = time.After(quietPeriod)
			deadline = time.After(opt.Drain)
		case <-quiet:
			return st, flush(w)
		case <-deadline:
			return st, flush(w)
		}
	}
}

// quietPeriod is longer than the perf buffer's poll timeout, so a sample
// the kernel already holds is read before Run gives up.
const quietPeriod = 150 * time.Millisecond

func handle(raw []byte, w *bufio.Writer, st *Stats, opt Options) error {
	ev, err := event.Decode(raw)
	if err != nil {
		st.Malformed++
		fmt.Fprintf(opt.Errors, "%v (%d so far)\n", err, st.Malformed)
		return nil
	}
	st.Events++
	if line := opt.Format(&ev); line != "" {
		if _, err := w.WriteString(line); err != nil {
			return ErrOutputClosed
		}
	}
	return nil
}

func reportLost(w *bufio.Writer, n uint64, opt Options) error {
	if opt.OnLost == nil {
		fmt.Fprintf(opt.Errors, "Lost %d events\n", n)
		return nil
	}
	if _, err := w.WriteString(opt.OnLost(n)); err != nil {
		return ErrOutputClosed
	}
	return nil
}

func flush(w *bufio.Writer) error {
	if err := w.Flush(); err != nil {
		return ErrOutputClosed
	}
	return nil
}
