package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"golang.org/x/sys/unix"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
	"github.com/tcpv4connect/tcpv4connect/pkg/format"
	"github.com/tcpv4connect/tcpv4connect/pkg/metrics"
	"github.com/tcpv4connect/tcpv4connect/pkg/stream"
	"github.com/tcpv4connect/tcpv4connect/pkg/tracer"
)

// Exit codes: usage errors are 2, as with argparse; runtime failures 1.
const (
	ExitRuntime = 1
	ExitUsage   = 2
)

// Command describes one of the commands.
type Command struct {
	Name        string // program name, in messages
	Description string
	// Manual is the man page's DESCRIPTION: paragraphs separated by a
	// blank line.
	Manual  string
	Version string
	Layout  format.Layout
	// Banner prints format.Banner before the header, as bcc's tcpconnect.
	Banner bool
	// TimeSinceStart: -t's TIME(s) counts from the start of tracing (as
	// bcc's tcpv4connect example shows), not from the first row printed
	// (bcc's tcpconnect). Rows printed when the handshake ends (-O, and
	// -L in tracepoint mode) always count from the start of tracing.
	TimeSinceStart bool
	// Families returns which address families to trace; it is called
	// after parsing.
	Families func() (v4, v6 bool)
}

// Run parses args into root (the command's options struct, which embeds
// opts) and runs the command. It returns the exit code.
func Run(cmd Command, root any, opts *Options, args []string, stdout, stderr io.Writer) int {
	parser, code := parse(cmd, root, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	if opts.Generate != "" {
		return generate(cmd, parser.Model, opts, stdout, stderr)
	}
	if opts.BTF != "" {
		if err := CheckBTF(opts.BTF); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
			return ExitUsage
		}
	}
	if opts.Check {
		return check(cmd, opts, stdout, stderr)
	}
	return trace(cmd, opts, stdout, stderr)
}

// parse returns code >= 0 when the program should exit now (help,
// version, or a usage error), and -1 to go on.
func parse(cmd Command, root any, args []string, stdout, stderr io.Writer) (*kong.Kong, int) {
	exitCode := -1
	parser, err := kong.New(root,
		kong.Name(cmd.Name),
		kong.Description(cmd.Description),
		kong.Vars{"version": cmd.versionText(), "timestamp_help": cmd.timestampHelp()},
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { exitCode = c }),
	)
	if err != nil {
		fmt.Fprintf(stderr, "%s: internal error: %v\n", cmd.Name, err)
		return nil, ExitRuntime
	}
	_, err = parser.Parse(args)
	if exitCode >= 0 { // --help or --version
		return parser, exitCode
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v (see --help)\n", cmd.Name, err)
		return parser, ExitUsage
	}
	return parser, -1
}

// versionText is what --version prints: the program's version, then the
// libbpf it is linked with and the Go that built it, one per line.
func (cmd Command) versionText() string {
	return fmt.Sprintf("%s %s\nlibbpf %s\n%s", cmd.Name, cmd.Version, tracer.LibbpfVersion(), runtime.Version())
}

// timestampHelp is -t's help: what TIME(s) counts from.
func (cmd Command) timestampHelp() string {
	if cmd.TimeSinceStart {
		return "Include TIME(s) on output: seconds since tracing began (never negative)."
	}
	return "Include TIME(s) on output: seconds since the first row printed, as bcc's tcpconnect; with -O, and with -L in tracepoint mode (rows printed when the handshake ends), seconds since tracing began."
}

func (cmd Command) config(opts *Options) tracer.Config {
	v4, v6 := cmd.Families()
	return tracer.Config{
		Mode:    tracer.Mode(opts.Attach),
		PID:     opts.pid,
		UID:     opts.uid,
		Ports:   opts.ports,
		Cgroup:  opts.Cgroup,
		IPv4:    v4,
		IPv6:    v6,
		Failed:  opts.Failed,
		Count:   opts.Count,
		Outcome: opts.Outcome,
		// JSON always carries sport, 0 when the mode does not know it yet.
		SourcePort: opts.LPort && !opts.JSON,
		BTFPath:    opts.BTF,
		PerfPages:  testPerfPages(),
		MapEntries: testMapEntries(),
		V4Func:     os.Getenv(EnvTestV4Func),
		V6Func:     os.Getenv(EnvTestV6Func),
	}
}

// How long the end of a run waits, from the signal (or --duration) on, for
// a stdout that takes nothing (a reader that stopped reading, a terminal
// stopped with Ctrl-S): stallGrace without progress. Then the output is
// abandoned, what it did not take is counted, the tracer closed and the
// exit report printed, well within a second. A slow reader that keeps
// reading gets everything.
const stallGrace = 300 * time.Millisecond

// shutdownGrace is how long a scrape in progress may take to finish once
// the run ends; then the metrics server's connections are closed.
const shutdownGrace = 200 * time.Millisecond

func trace(cmd Command, opts *Options, stdout, stderr io.Writer) int {
	if err := tracer.Preflight(opts.BTF); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
		return ExitRuntime
	}
	cfg := cmd.config(opts)
	if opts.Verbose {
		cfg.Log = func(_ int, msg string) { fmt.Fprintf(stderr, "libbpf: %s", msg) }
	}
	// Bound before anything is loaded: a taken port is bad input, and
	// nothing was attached for it.
	var metricsLn net.Listener
	if opts.metricsAddr != "" {
		ln, err := metrics.Listen(opts.metricsAddr)
		if err != nil {
			fmt.Fprintf(stderr, "%s: error: --metrics %s: %v\n", cmd.Name, opts.metricsAddr, err)
			return ExitUsage
		}
		metricsLn = ln
		defer metricsLn.Close() // closed already, unless the run failed before serving
	}
	// Signals are caught before attaching, so that none can kill the
	// process between attach and the deferred Close.
	ctx, stop := notifyStop(context.Background())
	defer stop()
	signal.Ignore(syscall.SIGPIPE) // a closed stdout becomes EPIPE: exit quietly

	t, err := tracer.Open(cfg)
	if err != nil {
		reportOpenError(cmd.Name, stderr, err, opts.Failed)
		return ExitRuntime
	}
	defer t.Close()
	// --duration is tracing time: it starts once attached, since loading
	// (and auto's failed attempts) can take seconds (arm64 under emulation).
	if opts.Duration != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *opts.Duration)
		defer cancel()
	}
	// Tracing has begun: -t's time zero.
	startNs, err := monotonicNs()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
		return ExitRuntime
	}
	if opts.Verbose {
		for _, a := range t.Tried {
			fmt.Fprintf(stderr, "%s: attach mode %s failed: %v\n", cmd.Name, a.Mode, a.Err)
		}
		fmt.Fprintf(stderr, "%s: using attach mode %s\n", cmd.Name, t.Mode())
	}
	if opts.Count {
		return count(ctx, cmd, opts, t, stdout, stderr)
	}

	sopt := stream.Options{Errors: stderr}
	var jf *format.JSON
	switch {
	case opts.Quiet:
		// The series (and the exit report) count what rows would show.
		sopt.Format = func(*event.Event) string { return "" }
		sopt.OnLost = func(uint64) string { return "" }
	case opts.JSON:
		offset, err := clockOffset()
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
			return ExitRuntime
		}
		jf = format.NewJSON(string(t.Mode()), offset)
		sopt.Header = jf.Start()
		sopt.Format, sopt.OnLost = jf.Row, jf.Lost
	default:
		topt := format.TextOptions{
			Layout:     cmd.Layout,
			Timestamps: opts.Timestamp,
			UID:        opts.PrintUID,
			LPort:      opts.LPort,
			Failed:     opts.Failed,
			Outcome:    opts.Outcome,
			Parent:     opts.Parent,
		}
		// Rows printed when the handshake ends are not in connect
		// order: counted from the first one, earlier connects would
		// get negative times.
		if cmd.TimeSinceStart || t.Outcome {
			topt.StartNs = startNs
		}
		f := format.NewText(topt)
		if cmd.Banner {
			sopt.Header = format.Banner
		}
		// The first line is the signal that tracing has begun.
		sopt.Header += f.Header()
		sopt.Format = f.Row
	}
	var set *metrics.Set
	if metricsLn != nil {
		if set, err = metrics.New(cmd.metricsConfig(opts, t)); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
			return ExitRuntime
		}
		sopt.Observe = set.Observe
	}

	// All writes to stdout happen off the main goroutine, which waits for
	// them only so long once the run is to end: a blocked stdout cannot
	// hold up the exit.
	s := stream.New(t, stdout, sopt)
	if set != nil {
		set.SetLosses(func() map[string]uint64 { return liveLosses(t, s) })
		// Scrapes that came before wait in the listen backlog. Shut
		// down (deferred after t.Close, so run before it) while the
		// counters can still be read.
		srv := metrics.Serve(metricsLn, set)
		defer func() {
			if err := srv.Shutdown(shutdownGrace); err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
			}
		}()
	}
	type result struct {
		st  stream.Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := s.Run(ctx)
		done <- result{st, err}
	}()
	var r result
	abandoned := false
	select {
	case r = <-done:
	case <-ctx.Done():
		stalled, unwatch := s.Stalled(stallGrace)
		select {
		case r = <-done:
		case <-stalled:
			// Blocked in a write: Run will not poll again. Detached
			// first, so that the counts Abandon reads are final.
			t.Detach()
			r.st, abandoned = s.Abandon(), true
		}
		unwatch()
	}
	if errors.Is(r.err, stream.ErrOutputClosed) {
		return 0
	}
	if r.err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, r.err)
		return ExitRuntime
	}
	out := stdout
	if abandoned {
		out = io.Discard
	}
	// Nothing may arrive after the counters below are read.
	t.Detach()
	l := Losses{OutcomeMode: t.Outcome, PerfLost: r.st.Lost, Malformed: r.st.Malformed, Unprinted: r.st.Unprinted}
	l.kernel(t)
	Report(stderr, cmd.Name, l, opts.Verbose)
	if jf != nil {
		_, _, _ = writeOut(out, Records(jf, l))
	}
	return 0
}

// count waits for the end (a signal or --duration), then prints the
// kernel's counters.
func count(ctx context.Context, cmd Command, opts *Options, t *tracer.Tracer, stdout, stderr io.Writer) int {
	banner := make(chan error, 1)
	go func() {
		_, err := io.WriteString(stdout, format.Banner)
		banner <- err
	}()
	select {
	case err := <-banner:
		if err != nil {
			return 0
		}
		<-ctx.Done()
	case <-ctx.Done():
	}
	t.Detach() // the table is final: no count changes while it is read
	counts, err := t.Counts()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
		return ExitRuntime
	}
	l := Losses{CountMode: true}
	rows, err := writeTable(stdout, counts)
	if err != nil {
		return 0
	}
	for _, c := range counts[rows:] {
		l.Unprinted += c.N
	}
	l.kernel(t)
	Report(stderr, cmd.Name, l, opts.Verbose)
	return 0
}

// writeTable prints the count table and returns how many of its rows got
// through: all of them, unless stdout stalled.
func writeTable(stdout io.Writer, counts []event.Count) (int, error) {
	lines, blocked, err := writeOut(stdout, format.CountTable(counts))
	if !blocked {
		return len(counts), err
	}
	return max(0, min(int(lines)-format.CountTableHeaderLines, len(counts))), nil
}

// writeOut writes s to stdout. It gives up once stdout has taken nothing
// for stallGrace (blocked), and returns the lines that got through; a
// write given up on goes on in the background and ends with the process.
func writeOut(stdout io.Writer, s string) (lines uint64, blocked bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	m := stream.NewMeter(stdout)
	done := make(chan error, 1)
	go func() {
		_, err := io.WriteString(m, s)
		done <- err
	}()
	stalled, unwatch := m.Stalled(stallGrace)
	defer unwatch()
	select {
	case err := <-done:
		return m.Lines(), false, err
	case <-stalled:
		return m.Lines(), true, nil
	}
}

// notifyStop returns a context that ends at the first SIGINT, SIGTERM or
// SIGHUP (a closed terminal ends the run like SIGTERM: report, exit 0). A
// second one exits at once, with 128 + its number, without the report.
// A signal the process was started with ignored (nohup, a background job
// of a script) stays ignored.
func notifyStop(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	var sigs []os.Signal
	for _, s := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, sigs...)
	quit := make(chan struct{})
	go func() {
		first := true
		for {
			select {
			case sig := <-ch:
				if first {
					first = false
					cancel()
					continue
				}
				n := 1
				if s, ok := sig.(syscall.Signal); ok {
					n = int(s)
				}
				os.Exit(128 + n)
			case <-quit:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(quit)
		cancel()
	}
}

// monotonicNs reads CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns.
func monotonicNs() (uint64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("read CLOCK_MONOTONIC: %w", err)
	}
	return uint64(ts.Nano()), nil
}

// clockOffset returns wall-clock ns minus CLOCK_MONOTONIC ns (the clock of
// bpf_ktime_get_ns), read back to back.
func clockOffset() (int64, error) {
	var ts unix.Timespec
	wall := time.Now().UnixNano()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("read CLOCK_MONOTONIC: %w", err)
	}
	return wall - ts.Nano(), nil
}

func reportOpenError(name string, stderr io.Writer, err error, failed bool) {
	var nm *tracer.NoModeError
	if errors.As(err, &nm) {
		if len(nm.Attempts) == 1 {
			a := nm.Attempts[0]
			fmt.Fprintf(stderr, "%s: attach mode %s failed: %v\n", name, a.Mode, a.Err)
			return
		}
		if failed {
			fmt.Fprintf(stderr, "%s: -x/--failed: %v, and neither works on this kernel:\n", name, tracer.ErrFailedNeedsReturn)
		} else {
			fmt.Fprintf(stderr, "%s: no attach mode works on this kernel:\n", name)
		}
		for _, a := range nm.Attempts {
			fmt.Fprintf(stderr, "  %s: %v\n", a.Mode, a.Err)
		}
		return
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
}

// check tries each mode in turn and says which work.
func check(cmd Command, opts *Options, stdout, stderr io.Writer) int {
	if err := tracer.Preflight(opts.BTF); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
		return ExitRuntime
	}
	v4, v6 := cmd.Families()
	ok := 0
	for _, m := range tracer.Modes {
		t, err := tracer.Open(tracer.Config{Mode: m, IPv4: v4, IPv6: v6, BTFPath: opts.BTF})
		if err != nil {
			var nm *tracer.NoModeError
			if errors.As(err, &nm) {
				err = nm.Attempts[0].Err
			}
			fmt.Fprintf(stdout, "%s: unsupported: %v\n", m, err)
			continue
		}
		t.Close()
		ok++
		fmt.Fprintf(stdout, "%s: ok\n", m)
	}
	if ok == 0 {
		return ExitRuntime
	}
	return 0
}
