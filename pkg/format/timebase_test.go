package format

import (
	"strconv"
	"strings"
	"testing"
)

// TestV4ConnectTimestampsFromStart: with the start of tracing as the base
// (how tcpv4connect runs), the formatter prints bcc's example exactly: its
// first row, 31.871, is the agent's first connect 31.871 s into the trace.
func TestV4ConnectTimestampsFromStart(t *testing.T) {
	blocks := reference(t)
	const start = uint64(5_000_123_456_789)
	f := NewText(TextOptions{Layout: LayoutTCPV4Connect, Timestamps: true, StartNs: start})
	for _, want := range blocks["-t"][1:] {
		secs, err := strconv.ParseFloat(strings.TrimSpace(want[:9]), 64)
		if err != nil {
			t.Fatal(err)
		}
		e := eventFromRow(t, want[9:])
		e.TsNs = start + uint64(secs*1e9)
		if got := f.Row(&e); got != want+"\n" {
			t.Errorf("row\n got %q\nwant %q", got, want+"\n")
		}
	}
	if first := blocks["-t"][1]; !strings.HasPrefix(first, "31.871") {
		t.Errorf("reference's first -t row %q: want 31.871", first)
	}
}

// TestTimestampsNeverNegative: an event older than the base, whether the
// start of tracing or the first row, shows 0.000.
func TestTimestampsNeverNegative(t *testing.T) {
	e := eventFromRow(t, "1479   telnet       127.0.0.1        127.0.0.1        23")
	f := NewText(TextOptions{Layout: LayoutTCPV4Connect, Timestamps: true, StartNs: 10_000_000_000})
	e.TsNs = 9_999_000_000 // recorded a hair before the start was read
	if got := f.Row(&e); !strings.HasPrefix(got, "0.000    ") {
		t.Errorf("row %q: want TIME(s) 0.000", got)
	}
	f = NewText(TextOptions{Layout: LayoutTCPV4Connect, Timestamps: true})
	e.TsNs = 20_000_000_000
	_ = f.Row(&e)
	e.TsNs = 19_500_000_000 // an older event printed after a newer one
	if got := f.Row(&e); !strings.HasPrefix(got, "0.000    ") {
		t.Errorf("row %q: want TIME(s) 0.000, not negative", got)
	}
}
