// Command tcpv4connect traces active TCP IPv4 connects, printing one line
// per connect in the format of bcc's tcpv4connect.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/tcpv4connect/tcpv4connect/pkg/format"
	"github.com/tcpv4connect/tcpv4connect/pkg/stream"
	"github.com/tcpv4connect/tcpv4connect/pkg/tracer"
)

// version is set by the Makefile at link time.
var version = "dev"

// Exit codes: usage errors are 2, as with argparse; runtime failures 1.
const (
	exitRuntime = 1
	exitUsage   = 2
)

// options is the whole command line.
type options struct {
	Timestamp bool             `short:"t" help:"Include timestamp on output."`
	PID       int64            `short:"p" name:"pid" placeholder:"PID" help:"Trace this PID only."`
	Attach    string           `enum:"auto,fentry,kprobe,tracepoint" default:"auto" placeholder:"MODE" help:"Attach mode: auto, fentry, kprobe or tracepoint. Auto tries them in that order (default: ${default})."`
	BTF       string           `name:"btf" type:"existingfile" placeholder:"FILE" help:"Kernel BTF to use when the kernel has none at /sys/kernel/btf/vmlinux (e.g. a BTFHub file)."`
	Check     bool             `help:"Report which attach modes work on this kernel, then exit."`
	Verbose   bool             `short:"v" help:"Say which attach mode was chosen and why others failed; show libbpf's log."`
	Version   kong.VersionFlag `help:"Print the version and exit."`

	pidSet bool
}

// Help is shown after the description in --help.
func (o *options) Help() string {
	return `examples:

    ./tcpv4connect           # trace all TCP IPv4 connect()s
    ./tcpv4connect -t        # include timestamps
    ./tcpv4connect -p 181    # only trace PID 181
    ./tcpv4connect --attach tracepoint   # on kernels without kprobes`
}

// Validate checks values that kong's types cannot.
func (o *options) Validate() error {
	if o.pidSet && (o.PID <= 0 || o.PID > 1<<22) {
		return fmt.Errorf("invalid PID %d: give the positive process ID to trace", o.PID)
	}
	return nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var opts options
	code, err := parse(&opts, args, stdout, stderr)
	if err != nil || code >= 0 {
		return code
	}
	if opts.Check {
		return check(&opts, stdout, stderr)
	}
	return trace(&opts, stdout, stderr)
}

// parse fills opts. It returns code >= 0 when the program should exit now
// (help, version, or a usage error), and -1 to go on.
func parse(opts *options, args []string, stdout, stderr io.Writer) (int, error) {
	exitCode := -1
	parser, err := kong.New(opts,
		kong.Name("tcpv4connect"),
		kong.Description("Trace TCP IPv4 connects"),
		kong.Vars{"version": version},
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { exitCode = c }),
	)
	if err != nil {
		fmt.Fprintf(stderr, "tcpv4connect: internal error: %v\n", err)
		return exitRuntime, err
	}
	// Validate runs inside Parse, so note first whether -p was given.
	opts.pidSet = flagGiven(args, "-p", "--pid")
	_, err = parser.Parse(args)
	if exitCode >= 0 { // --help or --version
		return exitCode, nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "tcpv4connect: error: %v (see --help)\n", err)
		return exitUsage, err
	}
	return -1, nil
}

func trace(opts *options, stdout, stderr io.Writer) int {
	if err := tracer.Preflight(opts.BTF); err != nil {
		fmt.Fprintf(stderr, "tcpv4connect: %v\n", err)
		return exitRuntime
	}
	cfg := tracer.Config{
		Mode:    tracer.Mode(opts.Attach),
		PID:     uint32(opts.PID),
		IPv4:    true,
		BTFPath: opts.BTF,
		V4Func:  os.Getenv("TCPV4CONNECT_TEST_V4FUNC"),
	}
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
		reportOpenError(stderr, err)
		return exitRuntime
	}
	defer t.Close()
	if opts.Verbose {
		for _, a := range t.Tried {
			fmt.Fprintf(stderr, "tcpv4connect: attach mode %s failed: %v\n", a.Mode, a.Err)
		}
		fmt.Fprintf(stderr, "tcpv4connect: using attach mode %s\n", t.Mode())
	}

	f := format.NewV4Connect(opts.Timestamp)
	// The header is the signal that tracing has begun.
	if _, err := io.WriteString(stdout, f.Header()); err != nil {
		return 0
	}
	t.Start()
	st, err := stream.Run(ctx, t, stdout, stream.Options{
		Format: f.Row,
		Errors: stderr,
		Drain:  time.Second,
	})
	if errors.Is(err, stream.ErrOutputClosed) {
		return 0
	}
	if st.Lost > 0 {
		fmt.Fprintf(stderr, "tcpv4connect: lost %d events in total (perf buffer full)\n", st.Lost)
	}
	if st.Malformed > 0 {
		fmt.Fprintf(stderr, "tcpv4connect: %d malformed events\n", st.Malformed)
	}
	return 0
}

func reportOpenError(stderr io.Writer, err error) {
	var nm *tracer.NoModeError
	if errors.As(err, &nm) {
		if len(nm.Attempts) == 1 {
			a := nm.Attempts[0]
			fmt.Fprintf(stderr, "tcpv4connect: attach mode %s failed: %v\n", a.Mode, a.Err)
			return
		}
		fmt.Fprintln(stderr, "tcpv4connect: no attach mode works on this kernel:")
		for _, a := range nm.Attempts {
			fmt.Fprintf(stderr, "  %s: %v\n", a.Mode, a.Err)
		}
		return
	}
	fmt.Fprintf(stderr, "tcpv4connect: %v\n", err)
}

// check tries each mode in turn and says which work.
func check(opts *options, stdout, stderr io.Writer) int {
	if err := tracer.Preflight(opts.BTF); err != nil {
		fmt.Fprintf(stderr, "tcpv4connect: %v\n", err)
		return exitRuntime
	}
	ok := 0
	for _, m := range tracer.Modes {
		t, err := tracer.Open(tracer.Config{Mode: m, IPv4: true, BTFPath: opts.BTF})
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
		return exitRuntime
	}
	return 0
}

// flagGiven reports whether any of names appears in args, as "-p 1",
// "-p1", "--pid 1" or "--pid=1", before a "--".
func flagGiven(args []string, short, long string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == short || a == long || (len(a) > len(short) && a[:len(short)] == short && a[1] != '-') ||
			(len(a) > len(long) && a[:len(long)+1] == long+"=") {
			return true
		}
	}
	return false
}
