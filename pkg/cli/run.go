package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"golang.org/x/sys/unix"

	"github.com/tcpv4connect/tcpv4connect/pkg/format"
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
	Version     string
	Layout      format.Layout
	// Banner prints format.Banner before the header, as bcc's tcpconnect.
	Banner bool
	// Families returns which address families to trace; it is called
	// after parsing.
	Families func() (v4, v6 bool)
	// PerfPages is the perf buffer size per CPU; 0 for the default.
	PerfPages int
	// AtExit, if set, runs when tracing ends normally, before the
	// tracer is closed (e.g. to report kprobe misses).
	AtExit func(stderr io.Writer, t *tracer.Tracer)
}

// Run parses args into root (the command's options struct, which embeds
// opts) and runs the command. It returns the exit code.
func Run(cmd Command, root any, opts *Options, args []string, stdout, stderr io.Writer) int {
	code := parse(cmd, root, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	if opts.Check {
		return check(cmd, opts, stdout, stderr)
	}
	return trace(cmd, opts, stdout, stderr)
}

// parse returns code >= 0 when the program should exit now (help,
// version, or a usage error), and -1 to go on.
func parse(cmd Command, root any, args []string, stdout, stderr io.Writer) int {
	exitCode := -1
	parser, err := kong.New(root,
		kong.Name(cmd.Name),
		kong.Description(cmd.Description),
		kong.Vars{"version": cmd.Version},
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { exitCode = c }),
	)
	if err != nil {
		fmt.Fprintf(stderr, "%s: internal error: %v\n", cmd.Name, err)
		return ExitRuntime
	}
	_, err = parser.Parse(args)
	if exitCode >= 0 { // --help or --version
		return exitCode
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v (see --help)\n", cmd.Name, err)
		return ExitUsage
	}
	return -1
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
		MapEntries: testMapEntries(),
		BTFPath:    opts.BTF,
		PerfPages:  cmd.PerfPages,
		V4Func:     os.Getenv("TCPV4CONNECT_TEST_V4FUNC"),
		V6Func:     os.Getenv("TCPV4CONNECT_TEST_V6FUNC"),
	}
}

// testMapEntries reads TCPV4CONNECT_TEST_MAP_ENTRIES ("syn_sent=512,counts=100"):
// tests shrink a map to fill it and check that what it drops is counted.
func testMapEntries() map[string]uint32 {
	v := os.Getenv("TCPV4CONNECT_TEST_MAP_ENTRIES")
	if v == "" {
		return nil
	}
	m := map[string]uint32{}
	for _, kv := range strings.Split(v, ",") {
		name, n, _ := strings.Cut(kv, "=")
		if x, err := strconv.ParseUint(n, 10, 32); err == nil && x > 0 {
			m[name] = uint32(x)
		}
	}
	return m
}

func trace(cmd Command, opts *Options, stdout, stderr io.Writer) int {
	if err := tracer.Preflight(opts.BTF); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
		return ExitRuntime
	}
	cfg := cmd.config(opts)
	if opts.Verbose {
		cfg.Log = func(_ int, msg string) { fmt.Fprintf(stderr, "libbpf: %s", msg) }
	}
	// Signals are caught before attaching, so that none can kill the
	// process between attach and the deferred Close.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
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
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	if opts.Verbose {
		for _, a := range t.Tried {
			fmt.Fprintf(stderr, "%s: attach mode %s failed: %v\n", cmd.Name, a.Mode, a.Err)
		}
		fmt.Fprintf(stderr, "%s: using attach mode %s\n", cmd.Name, t.Mode())
	}
	if opts.Count {
		return count(ctx, cmd, t, stdout, stderr)
	}

	sopt := stream.Options{Errors: stderr}
	// The first line is the signal that tracing has begun.
	var first string
	if opts.JSON {
		offset, err := clockOffset()
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
			return ExitRuntime
		}
		f := format.NewJSON(string(t.Mode()), offset)
		first = f.Start()
		sopt.Format, sopt.OnLost = f.Row, f.Lost
	} else {
		f := format.NewText(format.TextOptions{
			Layout:     cmd.Layout,
			Timestamps: opts.Timestamp,
			UID:        opts.PrintUID,
			LPort:      opts.LPort,
			Failed:     opts.Failed,
			Outcome:    opts.Outcome,
		})
		if cmd.Banner {
			first = format.Banner
		}
		first += f.Header()
		sopt.Format = f.Row
	}
	if _, err := io.WriteString(stdout, first); err != nil {
		return 0
	}
	st, err := stream.Run(ctx, t, stdout, sopt)
	if errors.Is(err, stream.ErrOutputClosed) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
		return ExitRuntime
	}
	// perf writes a loss record only when a later sample reaches the same
	// CPU's ring; the BPF side counts every failed write, so none is missed.
	if ks, kerr := t.Stats(); kerr == nil && ks.OutputFailures > st.Lost {
		if stream.ReportLost(stdout, ks.OutputFailures-st.Lost, sopt) != nil {
			return 0
		}
		st.Lost = ks.OutputFailures
	}
	if st.Lost > 0 {
		fmt.Fprintf(stderr, "%s: lost %d events in total (perf buffer full)\n", cmd.Name, st.Lost)
	}
	if st.Malformed > 0 {
		fmt.Fprintf(stderr, "%s: %d malformed events\n", cmd.Name, st.Malformed)
	}
	if ks, err := t.Stats(); err == nil {
		for _, c := range []struct {
			n    uint64
			what string
		}{
			{ks.InflightFull, "connects not reported: the kprobe's in-flight map was full"},
			{ks.OutcomeFull, "connects not reported: the handshake tracker's map was full"},
		} {
			if c.n > 0 {
				fmt.Fprintf(stderr, "%s: %d %s\n", cmd.Name, c.n, c.what)
			}
		}
	}
	if n, err := t.Pending(); err == nil && n > 0 {
		fmt.Fprintf(stderr, "%s: %d connects still in SYN_SENT at exit, not reported\n", cmd.Name, n)
	}
	if cmd.AtExit != nil {
		cmd.AtExit(stderr, t)
	}
	return 0
}

// count waits for the end (a signal or --duration), then prints the
// kernel's counters.
func count(ctx context.Context, cmd Command, t *tracer.Tracer, stdout, stderr io.Writer) int {
	if _, err := io.WriteString(stdout, format.Banner); err != nil {
		return 0
	}
	<-ctx.Done()
	t.Detach()
	counts, err := t.Counts()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
		return ExitRuntime
	}
	_, _ = io.WriteString(stdout, format.CountTable(counts))
	if ks, err := t.Stats(); err == nil && ks.CountFull > 0 {
		fmt.Fprintf(stderr, "%s: %d connects not counted: the count table was full\n", cmd.Name, ks.CountFull)
	}
	if cmd.AtExit != nil {
		cmd.AtExit(stderr, t)
	}
	return 0
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
			fmt.Fprintf(stderr, "%s: -x/--failed needs attach mode fentry or kprobe (tracepoint cannot see the return value), and neither works on this kernel:\n", name)
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
