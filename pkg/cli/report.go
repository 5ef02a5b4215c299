package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/tcpv4connect/tcpv4connect/pkg/format"
	"github.com/tcpv4connect/tcpv4connect/pkg/tracer"
)

// Losses are what a run did not show, by cause: the exit report's
// counters. Both commands print them the same way (Report, Records).
type Losses struct {
	// CountMode and OutcomeMode say what the run did (-c, -O or -L in
	// tracepoint mode): -v prints only the lines that apply to it.
	CountMode, OutcomeMode bool

	// PerfLost: samples the kernel dropped because the perf buffer was
	// full (loss records, plus the BPF side's failed writes that perf
	// had not yet reported).
	PerfLost uint64
	// Malformed: samples that did not decode.
	Malformed uint64

	// KprobeMode: the run used the kprobe attach mode, where kretprobes
	// can miss; the kretprobe fields below apply only then.
	KprobeMode bool
	// KprobeMisses: connects whose kretprobe did not fire.
	KprobeMisses uint64
	// KprobeMissesUnknown, when not "", says why the miss count is not
	// known; the report then always says so.
	KprobeMissesUnknown string
	// KprobeProbeMisses is the kernel's own miss count for the probes
	// (all processes, 6.7+), or nil.
	KprobeProbeMisses *uint64

	// Counted by the BPF programs: connects a full map kept from being
	// reported, and connects still waiting for their handshake at exit
	// (-O, or -L in tracepoint mode).
	OutcomeMapFull uint64 // the handshake tracker (syn_sent) was full
	CountMapFull   uint64 // -c: the count table was full
	InflightFull   uint64 // kprobe mode: the kprobe-to-kretprobe map was full
	PendingAtExit  uint64 // still in SYN_SENT when tracing stopped

	// Unprinted: connects read but not printed because stdout stopped
	// taking output at the end of the run (its reader stopped reading).
	Unprinted uint64
}

// lossKind is one line of the report.
type lossKind struct {
	reason string // the JSON record's reason
	count  func(*Losses) uint64
	what   string // after the count
	why    func(*Losses) string
	// applies: whether -v prints the line when the count is zero.
	applies func(*Losses) bool
	// inBand: the stream already wrote JSON records for it.
	inBand bool
}

func streaming(l *Losses) bool { return !l.CountMode }

func counting(l *Losses) bool { return l.CountMode }

func following(l *Losses) bool { return l.OutcomeMode }

func because(s string) func(*Losses) string { return func(*Losses) string { return s } }

var lossKinds = []lossKind{
	{
		reason: format.ReasonPerfBufferFull, count: func(l *Losses) uint64 { return l.PerfLost },
		what: "events lost in total", why: because("perf buffer full: the reader fell behind"),
		applies: streaming, inBand: true,
	},
	{
		reason: format.ReasonMalformed, count: func(l *Losses) uint64 { return l.Malformed },
		what: "malformed events", why: because("samples that did not decode: BPF object and program out of step?"),
		applies: streaming,
	},
	{
		reason: format.ReasonKretprobeMiss, count: func(l *Losses) uint64 { return l.KprobeMisses },
		what: "kretprobe misses",
		why: func(l *Losses) string {
			s := "more threads inside the probed function at once than the kretprobe has instances"
			if l.KprobeProbeMisses != nil {
				s += fmt.Sprintf("; the kernel's count for the probes, all processes: %d", *l.KprobeProbeMisses)
			}
			return s
		},
		applies: func(l *Losses) bool { return l.KprobeMode },
	},
	{
		reason: format.ReasonOutcomeMapFull, count: func(l *Losses) uint64 { return l.OutcomeMapFull },
		what: "connects not reported", why: because("the handshake tracker's map was full"),
		applies: following,
	},
	{
		reason: format.ReasonCountMapFull, count: func(l *Losses) uint64 { return l.CountMapFull },
		what: "connects not counted", why: because("the count table was full"),
		applies: counting,
	},
	{
		reason: format.ReasonInflightFull, count: func(l *Losses) uint64 { return l.InflightFull },
		what: "connects not reported", why: because("the kprobe's in-flight map was full"),
		applies: func(l *Losses) bool { return l.KprobeMode },
	},
	{
		reason: format.ReasonPendingAtExit, count: func(l *Losses) uint64 { return l.PendingAtExit },
		what: "connects still in SYN_SENT at exit", why: because("not reported: their handshake had not ended"),
		applies: following,
	},
	{
		reason: format.ReasonOutputBlocked, count: func(l *Losses) uint64 { return l.Unprinted },
		what: "connects not printed", why: because("stdout blocked at exit: its reader stopped reading"),
		applies: func(*Losses) bool { return false }, // only when it happened
	},
}

// Report writes the exit report to w (stderr): one line
// "<name>: <n> <what> (<why>)" per non-zero counter, or per counter that
// applies to the run when verbose. An unknown kretprobe miss count is
// always reported.
func Report(w io.Writer, name string, l Losses, verbose bool) {
	var b strings.Builder
	for _, k := range lossKinds {
		n := k.count(&l)
		if k.reason == format.ReasonKretprobeMiss && l.KprobeMode && l.KprobeMissesUnknown != "" {
			fmt.Fprintf(&b, "%s: kretprobe misses unknown (%s)\n", name, l.KprobeMissesUnknown)
			continue
		}
		if n == 0 && !(verbose && k.applies(&l)) {
			continue
		}
		fmt.Fprintf(&b, "%s: %d %s (%s)\n", name, n, k.what, k.why(&l))
	}
	_, _ = io.WriteString(w, b.String())
}

// Records returns the exit report's in-band JSON records: one "lost"
// record, with its reason, per non-zero counter whose losses the stream
// has not already reported in-band. Together with the stream's own
// perf_buffer_full records, their counts add up to every connect the run
// did not show.
func Records(f *format.JSON, l Losses) string {
	var b strings.Builder
	for _, k := range lossKinds {
		if n := k.count(&l); n > 0 && !k.inBand {
			b.WriteString(f.LostBecause(k.reason, n))
		}
	}
	return b.String()
}

// kernel fills the counters the kernel side keeps: full maps, connects
// pending at exit, and in kprobe mode the kretprobe misses. Read them
// after the tracer is detached, when they can no longer change.
func (l *Losses) kernel(t *tracer.Tracer) {
	if ks, err := t.Stats(); err == nil {
		l.mapsFull(ks)
	}
	if n, err := t.Pending(); err == nil {
		l.PendingAtExit = n
	}
	if t.Mode() != tracer.ModeKprobe {
		return
	}
	l.KprobeMode = true
	m := t.KprobeMisses()
	if !m.Known {
		l.KprobeMissesUnknown = m.Why
		return
	}
	l.KprobeMisses, l.KprobeProbeMisses = m.N, m.Probe
}

// mapsFull takes the kernel's counts of connects that a full map kept from
// being reported: read at exit (kernel) and at each scrape (liveLosses).
func (l *Losses) mapsFull(ks tracer.KernelStats) {
	l.OutcomeMapFull, l.CountMapFull, l.InflightFull = ks.OutcomeFull, ks.CountFull, ks.InflightFull
}
