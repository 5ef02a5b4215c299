package event

import (
	"encoding/binary"
	"errors"
	"testing"
)

// raw builds a sample the way the kernel lays it out, plus the 4 bytes of
// padding that perf adds.
func raw() []byte {
	b := make([]byte, Size+4)
	le := binary.LittleEndian
	le.PutUint64(b[offTsNs:], 123456789)
	le.PutUint64(b[offCgroupID:], 77)
	le.PutUint32(b[offPID:], 4242)
	le.PutUint32(b[offTID:], 4243)
	le.PutUint32(b[offUID:], 1000)
	le.PutUint32(b[offNetns:], 4026531840)
	le.PutUint32(b[offRet:], uint32(0xffffff9d)) // -99
	le.PutUint16(b[offFamily:], AFInet)
	le.PutUint16(b[offSport:], 40000)
	le.PutUint16(b[offDport:], 443)
	b[offKind] = byte(KindConnect)
	b[offFlags] = FlagRetKnown
	copy(b[offSaddr:], []byte{127, 0, 0, 1})
	copy(b[offDaddr:], []byte{10, 1, 2, 3})
	copy(b[offComm:], "cu\x1brl\x07")
	le.PutUint32(b[offPPID:], 4100)
	copy(b[offPComm:], "bash")
	return b
}

func TestDecode(t *testing.T) {
	e, err := Decode(raw())
	if err != nil {
		t.Fatal(err)
	}
	if e.PID != 4242 || e.TID != 4243 || e.UID != 1000 || e.Ret != -99 || e.Dport != 443 || e.Sport != 40000 {
		t.Errorf("numbers wrong: %+v", e)
	}
	if e.TsNs != 123456789 || e.CgroupID != 77 || e.Netns != 4026531840 || e.Kind != KindConnect || !e.RetKnown() {
		t.Errorf("numbers wrong: %+v", e)
	}
	if s, d := e.SrcAddr().String(), e.DstAddr().String(); s != "127.0.0.1" || d != "10.1.2.3" {
		t.Errorf("addresses %s -> %s", s, d)
	}
	// Control characters survive decoding: sanitizing is the formatter's job.
	if got := string(e.CommBytes()); got != "cu\x1brl\x07" {
		t.Errorf("comm %q", got)
	}
	if got := string(e.PCommBytes()); e.PPID != 4100 || got != "bash" {
		t.Errorf("parent %d %q, want 4100 \"bash\"", e.PPID, got)
	}
}

func TestDecodeIPv6(t *testing.T) {
	b := raw()
	binary.LittleEndian.PutUint16(b[offFamily:], AFInet6)
	copy(b[offDaddr:], []byte{0x20, 0x01, 0x0d, 0xb8, 15: 1})
	e, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.DstAddr().String(); got != "2001:db8::1" {
		t.Errorf("daddr %s", got)
	}
}

func TestDecodeFullComm(t *testing.T) {
	b := raw()
	copy(b[offComm:], "0123456789abcdef") // no NUL: all 16 bytes
	e, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(e.CommBytes()); got != "0123456789abcdef" {
		t.Errorf("comm %q", got)
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, n := range []int{0, 1, Size - 1, Size + maxPad, 4096} {
		b := make([]byte, n)
		copy(b, raw())
		_, err := Decode(b)
		var me *MalformedError
		if !errors.As(err, &me) || me.Size != n {
			t.Errorf("Decode(%d bytes): err %v, want MalformedError", n, err)
		}
	}
	b := raw()
	binary.LittleEndian.PutUint16(b[offFamily:], 99)
	if _, err := Decode(b); err == nil {
		t.Error("family 99 decoded without error")
	}
}
