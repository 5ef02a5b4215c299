package format

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// Layout selects whose columns a Text formatter prints.
type Layout int

// Layouts.
const (
	// LayoutTCPV4Connect is bcc's tools/tcpv4connect.py: PID COMM SADDR
	// DADDR DPORT.
	LayoutTCPV4Connect Layout = iota
	// LayoutTCPConnect is bcc's tools/tcpconnect.py: PID COMM IP SADDR
	// DADDR DPORT, and a trailing column that is empty unless -x or -O
	// fill it (bcc puts -d's QUERY there).
	LayoutTCPConnect
)

// Banner is the first line tcpconnect prints, before the header.
const Banner = "Tracing connect ... Hit Ctrl-C to end\n"

// TextOptions chooses the optional columns.
type TextOptions struct {
	Layout Layout
	// Timestamps (-t) adds TIME(s): seconds since StartNs when it is
	// set, else since the first row printed (bcc's tcpconnect). Never
	// negative: an event older than the base shows 0.000.
	Timestamps bool
	// StartNs is when tracing began (CLOCK_MONOTONIC ns, the clock of
	// bpf_ktime_get_ns), or 0.
	StartNs uint64
	UID     bool // -U: UID before PID
	LPort   bool // -L: LPORT after SADDR
	Failed  bool // -x: ERR, the errno name of a rejected connect ("-" if none)
	Outcome bool // -O: OUTCOME and LAT(ms), the handshake's result
	// Parent (--parent) adds PPID and PCOMM after COMM: the caller's
	// real parent at the connect. Off, the output stays bcc's.
	Parent bool
}

// Text renders events as bcc's tools print them, plus the columns of -x
// and -O at the end of the line. It is stateful: with timestamps, the
// first row printed is time zero.
type Text struct {
	opt TextOptions
	clk elapsedClock
}

// NewText returns a formatter for the given columns.
func NewText(opt TextOptions) *Text {
	f := &Text{opt: opt}
	if opt.StartNs != 0 {
		f.clk = elapsedClock{started: true, startUs: opt.StartNs / 1000}
	}
	return f
}

// Header returns the header line, with its newline.
func (f *Text) Header() string {
	var b strings.Builder
	if f.opt.Timestamps {
		fmt.Fprintf(&b, "%-9s", "TIME(s)")
	}
	if f.opt.UID {
		fmt.Fprintf(&b, "%-6s", "UID")
	}
	// PID and COMM, then -- with --parent -- PPID and PCOMM, as wide.
	pidW := 6
	if f.opt.Layout == LayoutTCPConnect {
		pidW = 7
	}
	fmt.Fprintf(&b, "%-*s %-12s ", pidW, "PID", "COMM")
	if f.opt.Parent {
		fmt.Fprintf(&b, "%-*s %-12s ", pidW, "PPID", "PCOMM")
	}
	switch {
	case f.opt.Layout == LayoutTCPConnect && f.opt.LPort:
		fmt.Fprintf(&b, "%-2s %-16s %-6s %-16s %-6s", "IP", "SADDR", "LPORT", "DADDR", "DPORT")
	case f.opt.Layout == LayoutTCPConnect:
		fmt.Fprintf(&b, "%-2s %-16s %-16s %-6s", "IP", "SADDR", "DADDR", "DPORT")
	case f.opt.LPort:
		fmt.Fprintf(&b, "%-16s %-6s %-16s %-4s", "SADDR", "LPORT", "DADDR", "DPORT")
	default:
		fmt.Fprintf(&b, "%-16s %-16s %-4s", "SADDR", "DADDR", "DPORT")
	}
	switch {
	case f.opt.Outcome:
		fmt.Fprintf(&b, " %-12s %s", "OUTCOME", "LAT(ms)")
	case f.opt.Failed:
		b.WriteString(" ERR")
	}
	b.WriteByte('\n')
	return b.String()
}

// Row returns one line for an event, with its newline.
func (f *Text) Row(e *event.Event) string {
	var b strings.Builder
	if f.opt.Timestamps {
		b.WriteString(f.clk.elapsed(e.TsNs))
	}
	if f.opt.UID {
		fmt.Fprintf(&b, "%-6d", e.UID)
	}
	comm := Sanitize(e.CommBytes())
	extra := f.extra(e)
	pidW := 6
	if f.opt.Layout == LayoutTCPConnect {
		pidW = 7
	}
	fmt.Fprintf(&b, "%-*d %-12.12s ", pidW, e.PID, comm)
	if f.opt.Parent {
		fmt.Fprintf(&b, "%-*d %-12.12s ", pidW, e.PPID, Sanitize(e.PCommBytes()))
	}
	if f.opt.Layout == LayoutTCPConnect {
		ip := 4
		if e.Family == event.AFInet6 {
			ip = 6
		}
		if f.opt.LPort {
			fmt.Fprintf(&b, "%-2d %-16s %-6d %-16s %-6d %s\n",
				ip, e.SrcAddr(), e.Sport, e.DstAddr(), e.Dport, extra)
		} else {
			fmt.Fprintf(&b, "%-2d %-16s %-16s %-6d %s\n",
				ip, e.SrcAddr(), e.DstAddr(), e.Dport, extra)
		}
		return b.String()
	}
	if f.opt.LPort {
		fmt.Fprintf(&b, "%-16s %-6d %-16s %-4s", e.SrcAddr(), e.Sport, e.DstAddr(), strconv.Itoa(int(e.Dport)))
	} else {
		fmt.Fprintf(&b, "%-16s %-16s %-4s", e.SrcAddr(), e.DstAddr(), strconv.Itoa(int(e.Dport)))
	}
	if f.opt.Outcome || f.opt.Failed {
		b.WriteString(" " + extra)
	}
	b.WriteByte('\n')
	return b.String()
}

// extra renders the trailing -O or -x columns.
func (f *Text) extra(e *event.Event) string {
	switch {
	case f.opt.Outcome:
		if e.Kind == event.KindOutcome {
			return fmt.Sprintf("%-12s %.3f", e.Outcome(), float64(e.LatNs)/1e6)
		}
		// A connect that tcp_v{4,6}_connect rejected: no handshake.
		return fmt.Sprintf("%-12s %s", errName(e), "-")
	case f.opt.Failed:
		return errName(e)
	}
	return ""
}

// errName is the errno name of a rejected connect, or "-".
func errName(e *event.Event) string {
	if ret, ok := e.ConnectRet(); ok && ret != 0 {
		return event.ErrnoName(ret)
	}
	return "-"
}

// elapsedClock renders TIME(s) the way bcc computes it: microseconds since
// the base (the start of tracing, or else the first event), as a float. An
// event older than the base (recorded a hair before the start was read, or
// read in a later poll cycle than a newer one) shows 0.000, never a
// negative time.
type elapsedClock struct {
	started bool
	startUs uint64
}

func (c *elapsedClock) elapsed(tsNs uint64) string {
	us := tsNs / 1000
	if !c.started {
		c.started, c.startUs = true, us
	}
	if us < c.startUs {
		us = c.startUs
	}
	return fmt.Sprintf("%-9.3f", float64(us-c.startUs)/1e6)
}

// CountTable renders count mode's table as bcc's tcpconnect prints it at
// exit: a blank line, the header, then one line per (source, destination,
// port), in the order given (see tracer.SortCounts).
func CountTable(counts []event.Count) string {
	// Keep CountTableHeaderLines in step.
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-25s %-25s %-20s %-10s\n", "LADDR", "RADDR", "RPORT", "CONNECTS")
	for _, c := range counts {
		fmt.Fprintf(&b, "%-25s %-25s %-20s %-10d\n", c.Saddr, c.Daddr, strconv.Itoa(int(c.Dport)), c.N)
	}
	return b.String()
}

// CountTableHeaderLines is the number of lines before CountTable's first
// row: a blank line and the column titles.
const CountTableHeaderLines = 2
