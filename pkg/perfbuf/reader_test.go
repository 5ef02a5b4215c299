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

// TestPacing: a sample after a quiet spell is read at once; reads in quick
// succession start batches of Batch, shorter when the fullest ring would
// pass a quarter of its size first.
func TestPacing(t *testing.T) {
	const ringSize = 256 << 10
	r := &Reader{Batch: 50 * time.Millisecond, rings: []*ring{{data: make([]byte, ringSize)}}}
	t0 := time.Unix(1000, 0)
	if d := r.batchLeft(t0); d != 0 {
		t.Fatalf("before any read: wait %v, want 0", d)
	}
	r.noteRead(120, t0)
	if d := r.batchLeft(t0.Add(time.Millisecond)); d != 0 {
		t.Errorf("after a first read: wait %v, want 0 (a lone sample is not a burst)", d)
	}
	// 1 s later: still a low rate, one wake-up per sample.
	r.noteRead(120, t0.Add(time.Second))
	if d := r.batchLeft(t0.Add(time.Second + time.Millisecond)); d != 0 {
		t.Errorf("1 sample/s: wait %v, want 0", d)
	}
	// 10 ms later: a burst; the next read waits out the batch.
	t1 := t0.Add(time.Second + 10*time.Millisecond)
	r.noteRead(120, t1)
	if d := r.batchLeft(t1.Add(5 * time.Millisecond)); d != 45*time.Millisecond {
		t.Errorf("in a burst: wait %v, want the rest of the 50 ms batch", d)
	}
	// A ring that gained 32 KiB in 10 ms reaches 64 KiB (a quarter) in
	// 20 ms: the batch shrinks to that.
	t2 := t1.Add(10 * time.Millisecond)
	r.noteRead(32<<10, t2)
	if d := r.batchLeft(t2); d != 20*time.Millisecond {
		t.Errorf("fast fill: wait %v, want 20ms", d)
	}
	// After a quiet spell longer than two batches, at once again.
	r.noteRead(120, t2.Add(time.Second))
	if d := r.batchLeft(t2.Add(time.Second)); d != 0 {
		t.Errorf("after a quiet spell: wait %v, want 0", d)
	}
}
