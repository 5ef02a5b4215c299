package stream

import (
	"bytes"
	"strings"
	"testing"
)

// pieces records each write it gets.
type pieces struct{ got []string }

func (p *pieces) Write(b []byte) (int, error) {
	p.got = append(p.got, string(b))
	return len(b), nil
}

// TestMeterPieces: a write goes out in pieces of at most PIPE_BUF bytes
// that end at a line's end (but for a last piece without one, or a line
// longer than a piece), all of it, with its lines counted.
func TestMeterPieces(t *testing.T) {
	line := strings.Repeat("x", 99) + "\n"
	long := strings.Repeat("y", 3*pipeBuf) + "\n"
	for _, in := range []string{strings.Repeat(line, 200), long + line + "tail", "", "one\n"} {
		var out pieces
		m := NewMeter(&out)
		n, err := m.Write([]byte(in))
		if err != nil || n != len(in) {
			t.Fatalf("write %d bytes: %d, %v", len(in), n, err)
		}
		if got := strings.Join(out.got, ""); got != in {
			t.Errorf("output differs from the input (%d bytes, want %d)", len(got), len(in))
		}
		for i, p := range out.got {
			if len(p) > pipeBuf {
				t.Errorf("piece %d: %d bytes, more than PIPE_BUF", i, len(p))
			}
			last := i == len(out.got)-1
			if !last && !strings.HasSuffix(p, "\n") && strings.Contains(p, "\n") {
				t.Errorf("piece %d ends inside a line although it holds a line's end", i)
			}
		}
		if want := uint64(bytes.Count([]byte(in), []byte("\n"))); m.Lines() != want {
			t.Errorf("%d lines counted, want %d", m.Lines(), want)
		}
	}
}

// TestMeterCut: after Cut, no piece goes out and Write fails.
func TestMeterCut(t *testing.T) {
	var out pieces
	m := NewMeter(&out)
	m.Cut()
	if n, err := m.Write([]byte("row\n")); err == nil || n != 0 || len(out.got) != 0 {
		t.Errorf("write after Cut: %d, %v, %d pieces out", n, err, len(out.got))
	}
}
