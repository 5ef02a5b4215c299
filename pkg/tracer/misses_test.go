package tracer

import (
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func linkInfo(linkType, perfType uint32, missed uint64) []byte {
	b := make([]byte, 256)
	le := binary.LittleEndian
	le.PutUint32(b[linkInfoType:], linkType)
	le.PutUint32(b[linkInfoPerfType:], perfType)
	le.PutUint64(b[linkInfoKprobeMiss:], missed)
	return b
}

// TestParseLinkMissed: the missed count is read from a kprobe link's info
// only where the kernel provides it, and is "unknown" otherwise, never a
// silent 0.
func TestParseLinkMissed(t *testing.T) {
	for _, c := range []struct {
		name      string
		buf       []byte
		hasMissed bool
		n         uint64
		known     bool
	}{
		{"kretprobe, 6.7+", linkInfo(unix.BPF_LINK_TYPE_PERF_EVENT, unix.BPF_PERF_EVENT_KRETPROBE, 42), true, 42, true},
		{"kprobe, 6.7+", linkInfo(unix.BPF_LINK_TYPE_PERF_EVENT, unix.BPF_PERF_EVENT_KPROBE, 7), true, 7, true},
		{"kretprobe, 6.6", linkInfo(unix.BPF_LINK_TYPE_PERF_EVENT, unix.BPF_PERF_EVENT_KRETPROBE, 0), false, 0, false},
		{"no perf_event info (before 6.6)", linkInfo(unix.BPF_LINK_TYPE_PERF_EVENT, 0, 0), true, 0, false},
		{"tracepoint link", linkInfo(unix.BPF_LINK_TYPE_PERF_EVENT, 5, 0), true, 0, true},
		{"not a perf event link", linkInfo(2, 0, 99), true, 0, true},
	} {
		n, known, why := parseLinkMissed(c.buf, c.hasMissed)
		if n != c.n || known != c.known || (!known && why == "") {
			t.Errorf("%s: got %d, %v, %q; want %d, %v", c.name, n, known, why, c.n, c.known)
		}
	}
	if s := (Misses{N: 3, Known: true}).String(); s != "3 kretprobe misses" {
		t.Errorf("String() = %q", s)
	}
	if s := (Misses{Why: "old kernel"}).String(); !strings.HasPrefix(s, "kretprobe misses unknown: ") {
		t.Errorf("String() = %q", s)
	}
}
