package perfbuf

import (
	"encoding/binary"
	"reflect"
	"testing"
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
