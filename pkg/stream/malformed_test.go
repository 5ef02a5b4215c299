package stream

import (
	"context"
	"encoding/binary"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// fakeSource replays samples and loss counts in one poll, as the perf
// buffer would, then ends.
type fakeSource struct {
	samples [][]byte
	lost    []uint64
}

func newFake(samples [][]byte, lost ...uint64) *fakeSource {
	return &fakeSource{samples: samples, lost: lost}
}

func (s *fakeSource) Poll(_ int, sample func([]byte), lost func(uint64)) error {
	if s.samples == nil && s.lost == nil {
		return io.EOF
	}
	for _, b := range s.samples {
		sample(b)
	}
	for _, n := range s.lost {
		lost(n)
	}
	s.samples, s.lost = nil, nil
	return nil
}

// sample is a valid IPv4 connect sample of pid, with perf's 4-byte padding.
func sample(pid uint32) []byte {
	b := make([]byte, event.Size+4)
	le := binary.LittleEndian
	le.PutUint32(b[24:], pid) // offPID
	le.PutUint16(b[44:], event.AFInet)
	b[50] = byte(event.KindConnect)
	return b
}

// TestMalformedSamples: truncated, oversized and garbage samples, as a
// mismatched or buggy BPF object would send, are counted and reported as
// malformed, never panic, and do not stop the good samples around them.
func TestMalformedSamples(t *testing.T) {
	bad := [][]byte{
		nil,
		{},
		{1},
		sample(1)[:event.Size-1],               // truncated by one byte
		sample(1)[:event.Size/2],               // half an event
		append(sample(1), make([]byte, 64)...), // oversized: a newer, larger struct
		make([]byte, 1<<16),                    // far too large
		func() []byte { b := sample(1); b[44] = 99; return b }(), // right size, bad family
	}
	var samples [][]byte
	for i, b := range bad {
		samples = append(samples, sample(uint32(100+i)), b)
	}
	samples = append(samples, sample(999))
	var out, errs strings.Builder
	st, err := Run(context.Background(), newFake(samples, 3), &out, Options{
		Format: func(e *event.Event) string {
			return "pid " + strconv.Itoa(int(e.PID)) + "\n"
		},
		Errors: &errs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Malformed != uint64(len(bad)) || st.Events != uint64(len(bad)+1) || st.Lost != 3 {
		t.Errorf("stats %+v, want %d malformed, %d events, 3 lost", st, len(bad), len(bad)+1)
	}
	if n := strings.Count(errs.String(), "malformed event"); n != len(bad) {
		t.Errorf("%d malformed reports, want %d:\n%s", n, len(bad), errs.String())
	}
	if !strings.Contains(errs.String(), "Lost 3 events") {
		t.Errorf("loss not reported:\n%s", errs.String())
	}
	if !strings.HasSuffix(out.String(), "pid 999\n") || strings.Count(out.String(), "\n") != len(bad)+1 {
		t.Errorf("good samples not all printed:\n%s", out.String())
	}
}
