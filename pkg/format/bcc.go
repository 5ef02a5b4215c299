// Package format renders events as the columns bcc's tools print.
package format

import (
	"fmt"
	"strconv"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// V4Connect formats rows exactly as bcc's tools/tcpv4connect.py does.
// It is stateful: with timestamps, the first row printed is time zero.
type V4Connect struct {
	timestamps bool
	started    bool
	startUs    uint64
}

// NewV4Connect returns a formatter; timestamps adds the TIME(s) column (-t).
func NewV4Connect(timestamps bool) *V4Connect {
	return &V4Connect{timestamps: timestamps}
}

// Header returns the header line, with its newline.
func (f *V4Connect) Header() string {
	h := ""
	if f.timestamps {
		h = fmt.Sprintf("%-9s", "TIME(s)")
	}
	return h + fmt.Sprintf("%-6s %-12s %-16s %-16s %-4s\n", "PID", "COMM", "SADDR", "DADDR", "DPORT")
}

// Row returns one line for a connect event, with its newline.
func (f *V4Connect) Row(e *event.Event) string {
	prefix := ""
	if f.timestamps {
		prefix = f.elapsed(e.TsNs)
	}
	return prefix + fmt.Sprintf("%-6d %-12.12s %-16s %-16s %-4s\n",
		e.PID, Sanitize(e.CommBytes()), e.SrcAddr(), e.DstAddr(), strconv.Itoa(int(e.Dport)))
}

// elapsed renders TIME(s) the way bcc computes it: microseconds since the
// first event, as a float.
func (f *V4Connect) elapsed(tsNs uint64) string {
	us := tsNs / 1000
	if !f.started {
		f.started, f.startUs = true, us
	}
	return fmt.Sprintf("%-9.3f", (float64(us)-float64(f.startUs))/1e6)
}
