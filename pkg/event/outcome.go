package event

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// FlagEstablished is set on an outcome event whose handshake completed
// (EVF_ESTABLISHED in c/tcpconnect.h).
const FlagEstablished uint8 = 2

// Outcome names of handshakes that did not end with an errno.
const (
	OutcomeEstablished = "ESTABLISHED"
	// OutcomeClosed: the socket left SYN_SENT without an error, because
	// its owner closed it, or (tracepoint mode) because tcp_v{4,6}_connect
	// failed after choosing the source address.
	OutcomeClosed = "CLOSED"
)

// Outcome names how the handshake of an outcome event ended: ESTABLISHED,
// the errno name (ECONNREFUSED, ETIMEDOUT, ...), or CLOSED. It returns ""
// for other kinds of events.
func (e *Event) Outcome() string {
	switch {
	case e.Kind != KindOutcome:
		return ""
	case e.Flags&FlagEstablished != 0:
		return OutcomeEstablished
	case e.Ret == 0:
		return OutcomeClosed
	}
	return ErrnoName(-e.Ret)
}

// ConnectRet returns tcp_v{4,6}_connect's return value and whether it is
// known. Outcome events are only tracked for connects that returned 0.
func (e *Event) ConnectRet() (int32, bool) {
	if !e.RetKnown() {
		return 0, false
	}
	if e.Kind == KindOutcome {
		return 0, true
	}
	return e.Ret, true
}

// ErrnoName returns the symbolic name of a positive or negative errno
// value, e.g. "EADDRNOTAVAIL", or "E<n>" for a number with no name.
func ErrnoName(n int32) string {
	if n < 0 {
		n = -n
	}
	if name := unix.ErrnoName(syscall.Errno(n)); name != "" {
		return name
	}
	return fmt.Sprintf("E%d", n)
}
