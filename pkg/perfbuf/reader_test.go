package perfbuf

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"
)

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string][]int{
		"0":         {0},
		"0-3":       {0, 1, 2, 3},
		"0-1,4,6-7": {0, 1, 4, 6, 7},
	} {
		got, err := parseCPUList(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a", "3-1", "1-x"} {
		if _, err := parseCPUList(bad); err == nil {
			t.Errorf("parseCPUList(%q): want an error", bad)
		}
	}
}

// TestRecordWraps: a record that straddles the end of the ring is read
// whole, through the scratch buffer.
func TestRecordWraps(t *testing.T) {
	const size = 64
	data := make([]byte, size)
	rec := make([]byte, 24)
	binary.LittleEndian.PutUint32(rec[0:], recordSample)
	binary.LittleEndian.PutUint16(rec[6:], uint16(len(rec)))
	binary.LittleEndian.PutUint32(rec[8:], 12)
	copy(rec[12:], "hello, world")
	start := uint64(size - 10)
	for i, b := range rec {
		data[(start+uint64(i))%size] = b
	}
	r := &Reader{}
	got := r.record(data, start+size*3, size) // tail keeps growing past size
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("record = %q, want %q", got, rec)
	}
	binary.LittleEndian.PutUint16(data[(start+6)%size:], 0) // size 0: corrupt
	if r.record(data, start, size) != nil {
		t.Error("corrupt header accepted")
	}
}

// TestPacing: a sample after a quiet spell is read at once; in a burst
// the wait starts short and doubles while the rings stay nearly empty, up
// to Batch; a fast fill halves it, and caps it at the time the fullest ring
// takes to reach 1/8 of its size.
func TestPacing(t *testing.T) {
	const ringSize = 256 << 10 // 1/8: 32 KiB
	r := &Reader{Batch: 50 * time.Millisecond, rings: []*ring{{data: make([]byte, ringSize)}}}
	now := time.Unix(1000, 0)
	read := func(held uint64, after time.Duration) time.Duration {
		now = now.Add(after)
		r.noteRead(held, now)
		return r.batchLeft(now)
	}
	if d := r.batchLeft(now); d != 0 {
		t.Fatalf("before any read: wait %v, want 0", d)
	}
	if d := read(120, 0); d != 0 {
		t.Errorf("after a first read: wait %v, want 0 (a lone sample is not a burst)", d)
	}
	if d := read(120, time.Second); d != 0 {
		t.Errorf("1 sample/s: wait %v, want 0", d)
	}
	// 100/s: a burst starts at 2 ms and grows to the 50 ms batch.
	for i, want := range []time.Duration{2, 4, 8, 16, 32, 50, 50} {
		if d := read(120, 10*time.Millisecond); d != want*time.Millisecond {
			t.Errorf("100/s, read %d: wait %v, want %v", i+2, d, want*time.Millisecond)
		}
	}
	// A fast fill: 64 KiB in 10 ms would reach 32 KiB in 5 ms.
	if d := read(64<<10, 10*time.Millisecond); d != 5*time.Millisecond {
		t.Errorf("64 KiB in 10 ms: wait %v, want 5ms", d)
	}
	// 24 KiB (between 1/16 and 1/8) in those 5 ms: the wait holds.
	if d := read(24<<10, 5*time.Millisecond); d != 5*time.Millisecond {
		t.Errorf("24 KiB in 5 ms: wait %v, want 5ms", d)
	}
	// Never under a millisecond, however fast.
	if d := read(200<<10, time.Millisecond); d != time.Millisecond {
		t.Errorf("200 KiB in 1 ms: wait %v, want 1ms", d)
	}
	// After a quiet spell longer than two batches, at once again, and a
	// new burst starts from 2 ms.
	if d := read(120, time.Second); d != 0 {
		t.Errorf("after a quiet spell: wait %v, want 0", d)
	}
	if d := read(120, 10*time.Millisecond); d != 2*time.Millisecond {
		t.Errorf("a new burst: wait %v, want 2ms", d)
	}
}
