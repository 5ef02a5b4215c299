package stream

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"time"
)

// pipeBuf is PIPE_BUF: a pipe takes a write of at most this many bytes
// whole or not at all.
const pipeBuf = 4096

// Meter passes writes on in pieces of whole lines, at most PIPE_BUF bytes,
// and counts the lines that got through. A slow reader thus shows progress after each
// piece, and when a write blocks for good the count says exactly which
// lines the reader can still get: a blocked piece has delivered nothing.
type Meter struct {
	w     io.Writer
	lines atomic.Uint64
	// busy is the time (Unix ns) at which the write in progress last
	// got a piece through, or 0 between writes.
	busy atomic.Int64
	cut  atomic.Bool
}

// ErrCut is Write's error after Cut.
var ErrCut = errors.New("output abandoned")

// Cut makes every later piece fail: the lines counted then stay the lines
// delivered. A piece blocked at the time may still go out.
func (m *Meter) Cut() { m.cut.Store(true) }

// NewMeter returns a Meter writing to w.
func NewMeter(w io.Writer) *Meter { return &Meter{w: w} }

// Write writes p to the underlying writer, one piece at a time.
func (m *Meter) Write(p []byte) (int, error) {
	m.busy.Store(time.Now().UnixNano())
	defer m.busy.Store(0)
	done := 0
	for done < len(p) {
		if m.cut.Load() {
			return done, ErrCut
		}
		piece := p[done:min(len(p), done+pipeBuf)]
		// Whole lines only, where they fit: a blocked piece then never
		// leaves half a line in the pipe.
		if i := bytes.LastIndexByte(piece, '\n'); i >= 0 && done+len(piece) < len(p) {
			piece = piece[:i+1]
		}
		n, err := m.w.Write(piece)
		m.lines.Add(uint64(bytes.Count(piece[:n], []byte{'\n'})))
		done += n
		if err != nil {
			return done, err
		}
		m.busy.Store(time.Now().UnixNano())
	}
	return done, nil
}

// Lines is the number of complete lines written so far.
func (m *Meter) Lines() uint64 { return m.lines.Load() }

// Stalled returns a channel that is closed once a write has made no
// progress for d (the reader stopped reading), and a function that stops
// watching. A slow reader that keeps taking pieces never stalls, nor does
// a writer that is not writing.
func (m *Meter) Stalled(d time.Duration) (<-chan struct{}, func()) {
	stalled, quit := make(chan struct{}), make(chan struct{})
	go func() {
		tick := time.NewTicker(d / 4)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-tick.C:
				if b := m.busy.Load(); b != 0 && now.UnixNano()-b >= int64(d) {
					close(stalled)
					return
				}
			}
		}
	}()
	var once atomic.Bool
	return stalled, func() {
		if once.CompareAndSwap(false, true) {
			close(quit)
		}
	}
}
