// Package event decodes the raw perf-buffer samples that the BPF programs
// emit into Go values. The layout mirrors struct event in c/tcpconnect.h.
package event

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Kind says what an event reports.
type Kind uint8

// Event kinds, as EV_* in c/tcpconnect.h.
const (
	KindConnect Kind = 1 // tcp_v{4,6}_connect was called
	KindOutcome Kind = 2 // the handshake of a traced connect ended
)

// FlagRetKnown is set when Ret holds tcp_v{4,6}_connect's return value
// (fentry and kprobe modes; not the tracepoint mode).
const FlagRetKnown uint8 = 1

// Address families, as in the kernel.
const (
	AFInet  = 2
	AFInet6 = 10
)

// Byte offsets of struct event's fields; layout_test.go checks them against
// the BTF of the compiled object.
const (
	offTsNs     = 0
	offCgroupID = 8
	offLatNs    = 16
	offPID      = 24
	offTID      = 28
	offUID      = 32
	offNetns    = 36
	offRet      = 40
	offFamily   = 44
	offSport    = 46
	offDport    = 48
	offKind     = 50
	offFlags    = 51
	offSaddr    = 52
	offDaddr    = 68
	offComm     = 84
	offPPID     = 100
	offPComm    = 104
	// Size is sizeof(struct event).
	Size = 120
)

// maxPad is how much larger than Size a valid sample may be: the kernel
// pads perf raw samples to 8-byte alignment.
const maxPad = 8

// Event is one decoded sample.
type Event struct {
	TsNs     uint64 // CLOCK_MONOTONIC ns at the connect
	CgroupID uint64 // cgroup v2 id of the caller
	LatNs    uint64 // outcome events: SYN_SENT to result
	PID      uint32 // thread group id
	TID      uint32
	UID      uint32
	Netns    uint32
	Ret      int32 // return value, or -errno of the outcome
	Family   uint16
	Sport    uint16 // 0 when not known
	Dport    uint16
	Kind     Kind
	Flags    uint8
	Saddr    [16]byte
	Daddr    [16]byte
	Comm     [16]byte // raw bytes, NUL padded; not sanitized
	// PPID and PComm name the caller's real parent, read at the
	// connect: right even when the caller has exited since.
	PPID  uint32
	PComm [16]byte // raw bytes, NUL padded; not sanitized
}

// MalformedError reports a sample whose size does not match struct event,
// as a mismatched or buggy BPF object would send.
type MalformedError struct {
	Size int
}

func (e *MalformedError) Error() string {
	return fmt.Sprintf("malformed event: %d bytes, want %d", e.Size, Size)
}

// Decode parses one raw sample. It never panics on short or long input.
func Decode(b []byte) (Event, error) {
	var e Event
	if len(b) < Size || len(b) >= Size+maxPad {
		return e, &MalformedError{Size: len(b)}
	}
	le := binary.LittleEndian // BPF runs in host byte order; x86_64 only
	e.TsNs = le.Uint64(b[offTsNs:])
	e.CgroupID = le.Uint64(b[offCgroupID:])
	e.LatNs = le.Uint64(b[offLatNs:])
	e.PID = le.Uint32(b[offPID:])
	e.TID = le.Uint32(b[offTID:])
	e.UID = le.Uint32(b[offUID:])
	e.Netns = le.Uint32(b[offNetns:])
	e.Ret = int32(le.Uint32(b[offRet:]))
	e.Family = le.Uint16(b[offFamily:])
	e.Sport = le.Uint16(b[offSport:])
	e.Dport = le.Uint16(b[offDport:])
	e.Kind = Kind(b[offKind])
	e.Flags = b[offFlags]
	copy(e.Saddr[:], b[offSaddr:offSaddr+16])
	copy(e.Daddr[:], b[offDaddr:offDaddr+16])
	copy(e.Comm[:], b[offComm:offComm+16])
	e.PPID = le.Uint32(b[offPPID:])
	copy(e.PComm[:], b[offPComm:offPComm+16])
	if e.Family != AFInet && e.Family != AFInet6 {
		return e, fmt.Errorf("malformed event: address family %d", e.Family)
	}
	return e, nil
}

// RetKnown reports whether Ret is the connect's return value.
func (e *Event) RetKnown() bool { return e.Flags&FlagRetKnown != 0 }

// SrcAddr returns the source address.
func (e *Event) SrcAddr() netip.Addr { return e.addr(&e.Saddr) }

// DstAddr returns the destination address.
func (e *Event) DstAddr() netip.Addr { return e.addr(&e.Daddr) }

func (e *Event) addr(a *[16]byte) netip.Addr {
	if e.Family == AFInet {
		return netip.AddrFrom4([4]byte(a[:4]))
	}
	return netip.AddrFrom16(*a)
}

// CommBytes returns the process name up to its first NUL, unsanitized.
func (e *Event) CommBytes() []byte { return untilNUL(e.Comm[:]) }

// PCommBytes returns the parent's name up to its first NUL, unsanitized.
func (e *Event) PCommBytes() []byte { return untilNUL(e.PComm[:]) }

func untilNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}
