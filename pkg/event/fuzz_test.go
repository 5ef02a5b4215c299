package event

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// encode is the inverse of Decode, for the fields struct event has.
func encode(e *Event) []byte {
	b := make([]byte, Size)
	le := binary.LittleEndian
	le.PutUint64(b[offTsNs:], e.TsNs)
	le.PutUint64(b[offCgroupID:], e.CgroupID)
	le.PutUint64(b[offLatNs:], e.LatNs)
	le.PutUint32(b[offPID:], e.PID)
	le.PutUint32(b[offTID:], e.TID)
	le.PutUint32(b[offUID:], e.UID)
	le.PutUint32(b[offNetns:], e.Netns)
	le.PutUint32(b[offRet:], uint32(e.Ret))
	le.PutUint16(b[offFamily:], e.Family)
	le.PutUint16(b[offSport:], e.Sport)
	le.PutUint16(b[offDport:], e.Dport)
	b[offKind] = byte(e.Kind)
	b[offFlags] = e.Flags
	copy(b[offSaddr:], e.Saddr[:])
	copy(b[offDaddr:], e.Daddr[:])
	copy(b[offComm:], e.Comm[:])
	le.PutUint32(b[offPPID:], e.PPID)
	copy(b[offPComm:], e.PComm[:])
	return b
}

// fieldsEnd is where struct event's last field ends; the rest of Size is
// the compiler's tail padding, which Decode ignores.
const fieldsEnd = offPComm + 16

// FuzzDecode: Decode never panics; a sample of the wrong size is a
// *MalformedError; a sample of a valid size decodes to exactly its bytes.
// The seed corpus is in testdata/fuzz/FuzzDecode and runs with go test.
func FuzzDecode(f *testing.F) {
	f.Add(raw())
	f.Add(raw()[:Size])
	f.Add(raw()[:Size-1])
	f.Add(append(raw(), make([]byte, 8)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		var me *MalformedError
		if len(b) < Size || len(b) >= Size+maxPad {
			if !errors.As(err, &me) || me.Size != len(b) {
				t.Fatalf("%d bytes: err %v, want a *MalformedError", len(b), err)
			}
			return
		}
		if errors.As(err, &me) {
			t.Fatalf("%d bytes is a valid size, got %v", len(b), err)
		}
		if err == nil && e.Family != AFInet && e.Family != AFInet6 {
			t.Fatalf("family %d accepted", e.Family)
		}
		if got := encode(&e); !bytes.Equal(got[:fieldsEnd], b[:fieldsEnd]) {
			t.Fatalf("round trip:\n got %x\nwant %x", got[:fieldsEnd], b[:fieldsEnd])
		}
		_ = e.SrcAddr()
		_ = e.DstAddr()
		if c := e.CommBytes(); len(c) > 16 || bytes.IndexByte(c, 0) >= 0 {
			t.Fatalf("CommBytes %q", c)
		}
		if c := e.PCommBytes(); len(c) > 16 || bytes.IndexByte(c, 0) >= 0 {
			t.Fatalf("PCommBytes %q", c)
		}
	})
}
