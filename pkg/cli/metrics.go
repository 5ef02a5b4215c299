package cli

import (
	"golang.org/x/sys/unix"

	"github.com/tcpv4connect/tcpv4connect/pkg/format"
	"github.com/tcpv4connect/tcpv4connect/pkg/metrics"
	"github.com/tcpv4connect/tcpv4connect/pkg/stream"
	"github.com/tcpv4connect/tcpv4connect/pkg/tracer"
)

// metricsConfig is what --metrics serves for this run.
func (cmd Command) metricsConfig(opts *Options, t *tracer.Tracer) metrics.Config {
	return metrics.Config{
		Labels:    opts.metricsLabels,
		MaxSeries: opts.MetricsMaxSeries,
		Errno:     opts.Failed || opts.Outcome,
		Latency:   opts.Outcome,
		Command:   cmd.Name,
		Version:   cmd.Version,
		Attach:    string(t.Mode()),
		Kernel:    kernelRelease(),
	}
}

// kernelRelease is uname -r, or "unknown".
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// liveLosses returns the loss counters while the run goes on, by reason,
// from the same table as the exit report (lossKinds). The kernel's
// counters are read as they stand. pending_at_exit is left out: until the
// exit a connect in SYN_SENT is not lost, only waiting.
func liveLosses(t *tracer.Tracer, s *stream.Stream) map[string]uint64 {
	st := s.Stats()
	l := Losses{OutcomeMode: t.Outcome, PerfLost: st.Lost, Malformed: st.Malformed, Unprinted: st.Unprinted}
	if ks, err := t.Stats(); err == nil {
		l.mapsFull(ks)
		// The BPF side's failed writes that perf has not reported
		// yet (the stream's reconcile does the same at exit).
		l.PerfLost = max(l.PerfLost, ks.OutputFailures)
		// Entries less returns: exact once the load stops; live, a
		// connect inside tcp_v{4,6}_connect at this instant counts
		// too (the series keeps its highest value: docs/tcpconnect.md).
		if t.Mode() == tracer.ModeKprobe && ks.KprobeEntries >= ks.Kretprobes {
			l.KprobeMode, l.KprobeMisses = true, ks.KprobeEntries-ks.Kretprobes
		}
	}
	out := map[string]uint64{}
	for _, k := range lossKinds {
		if k.reason != format.ReasonPendingAtExit {
			out[k.reason] = k.count(&l)
		}
	}
	return out
}
