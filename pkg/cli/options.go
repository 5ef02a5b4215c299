// Package cli holds what the tcpv4connect and tcpconnect commands share:
// the flags both take, their checks, and the run loop that opens the
// tracer and prints events, counts or JSON.
package cli

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"golang.org/x/sys/unix"

	"github.com/tcpv4connect/tcpv4connect/pkg/metrics"
	"github.com/tcpv4connect/tcpv4connect/pkg/tracer"
)

// Options are the flags both commands take. A command embeds it (with the
// kong tag `embed:""`) and calls its Validate from its own.
type Options struct {
	Timestamp bool           `short:"t" help:"${timestamp_help}"`
	PID       string         `short:"p" name:"pid" placeholder:"PID" help:"Trace this PID only."`
	Port      string         `short:"P" name:"port" placeholder:"PORTS" help:"Comma-separated list of destination ports to trace (at most 64)."`
	LPort     bool           `short:"L" name:"lport" help:"Include LPORT on output (in tracepoint mode the row waits for the handshake's end, when the port is known)."`
	PrintUID  bool           `short:"U" name:"print-uid" help:"Include UID on output."`
	Parent    bool           `name:"parent" help:"Include PPID and PCOMM on output: the caller's parent, recorded at the connect (JSON always has ppid and pcomm)."`
	UID       string         `short:"u" name:"uid" placeholder:"UID" help:"Trace this UID only."`
	Count     bool           `short:"c" name:"count" help:"Count connects per src ip and dest ip/port, in the kernel; print the table at exit."`
	JSON      bool           `short:"j" name:"json" help:"Print one JSON object per line (schema: docs/tcpconnect.md)."`
	Failed    bool           `short:"x" name:"failed" help:"Also report connects that tcp_v4_connect/tcp_v6_connect rejected, with an ERR column. Needs the fentry or kprobe attach mode: tracepoint cannot see the return value."`
	Outcome   bool           `short:"O" name:"outcome" help:"Report each connect when its handshake ends, with OUTCOME (ESTABLISHED, ECONNREFUSED, ETIMEDOUT, ...) and LAT(ms) from SYN to result."`
	Cgroup    string         `name:"cgroup" placeholder:"PATH" complete:"dirs" help:"Trace only processes in this cgroup v2 directory or below it."`
	Duration  *time.Duration `name:"duration" placeholder:"D" help:"Stop after this long (e.g. 10s, 5m); count mode prints its table then."`
	Quiet     bool           `short:"q" name:"quiet" help:"Print no rows: with --metrics, the series are the output. The exit report still goes to stderr."`

	Metrics          string `name:"metrics" placeholder:"ADDR" help:"Serve OpenMetrics (Prometheus) series at http://ADDR/metrics, e.g. 127.0.0.1:9464, or :9464 for 127.0.0.1: connects by family and outcome, handshake latency (-O), every loss counter, build info. Loopback only, unless --metrics-public."`
	MetricsLabels    string `name:"metrics-labels" placeholder:"LABELS" help:"Opt-in labels of the connect series, comma-separated: dport, comm, cgroup. Each multiplies the series; past --metrics-max-series, new label sets are counted under \"other\"."`
	MetricsMaxSeries int    `name:"metrics-max-series" default:"1000" placeholder:"N" help:"The cap on connect series with opt-in labels (default: ${default})."`
	MetricsPublic    bool   `name:"metrics-public" help:"Allow --metrics on an address that is not loopback (e.g. 0.0.0.0:9464): the series are then served to the network."`

	Attach  string           `enum:"auto,fentry,kprobe,tracepoint" default:"auto" placeholder:"MODE" help:"Attach mode: auto, fentry, kprobe or tracepoint. Auto tries them in that order (default: ${default})."`
	BTF     string           `name:"btf" type:"existingfile" placeholder:"FILE" help:"Kernel BTF to use when the kernel has none at /sys/kernel/btf/vmlinux (e.g. a BTFHub file)."`
	Check   bool             `help:"Report which attach modes work on this kernel, then exit."`
	Verbose bool             `short:"v" help:"Say which attach mode was chosen and why others failed; show libbpf's log."`
	Version kong.VersionFlag `help:"Print the version and exit."`

	// The man page and shell completions, generated from this model at
	// build time (the Makefile); hidden, as only packagers need them.
	Generate     string `name:"generate" hidden:"" placeholder:"KIND" help:"Print the man page (man) or a completion script (bash, zsh, fish), then exit."`
	GenerateName string `name:"generate-name" hidden:"" placeholder:"NAME" help:"The name the program is installed under, for --generate (default: its own)."`
	GenerateAlso string `name:"generate-see-also" hidden:"" placeholder:"NAME" help:"The other command's installed name, for the man page's SEE ALSO (--generate man)."`

	pid   uint32
	ports []uint16
	uid   *uint32
	// metricsAddr is where --metrics listens; metricsLabels its labels.
	metricsAddr   string
	metricsLabels []string
}

// Validate checks and converts the values that kong's types cannot.
func (o *Options) Validate() error {
	o.pid, o.ports, o.uid = 0, nil, nil
	if o.PID != "" {
		n, err := strconv.ParseUint(o.PID, 10, 32)
		if err != nil || n == 0 || n > 1<<22 {
			return fmt.Errorf("invalid PID %q: give the positive process ID to trace", o.PID)
		}
		o.pid = uint32(n)
	}
	if o.Port != "" {
		ports, err := ParsePorts(o.Port)
		if err != nil {
			return err
		}
		o.ports = ports
	}
	if o.UID != "" {
		n, err := strconv.ParseUint(o.UID, 10, 32)
		if err != nil || n == 1<<32-1 {
			return fmt.Errorf("invalid UID %q: give a numeric user ID", o.UID)
		}
		u := uint32(n)
		o.uid = &u
	}
	if o.Count {
		for _, f := range []struct {
			set  bool
			name string
		}{{o.JSON, "-j/--json"}, {o.Failed, "-x/--failed"}, {o.Outcome, "-O/--outcome"}, {o.Parent, "--parent"}} {
			if f.set {
				return fmt.Errorf("-c/--count cannot be used with %s: count mode prints one table at exit, not per-connect records", f.name)
			}
		}
	}
	if o.Failed {
		if err := tracer.Mode(o.Attach).CanReportFailed(); err != nil {
			return fmt.Errorf("-x/--failed with --attach %s: %w", o.Attach, err)
		}
	}
	if o.Cgroup != "" {
		if err := checkCgroup(o.Cgroup); err != nil {
			return err
		}
	}
	if err := o.validateMetrics(); err != nil {
		return err
	}
	if o.Duration != nil && *o.Duration <= 0 {
		return fmt.Errorf("invalid --duration %s: give a positive duration such as 10s (without --duration the run lasts until Ctrl-C)", *o.Duration)
	}
	return nil
}

// MaxMetricsSeries bounds --metrics-max-series: a Prometheus server copes
// with it per target, and a typo of a zero too many is caught.
const MaxMetricsSeries = 100000

// validateMetrics checks --metrics and the flags that only go with it.
func (o *Options) validateMetrics() error {
	o.metricsAddr, o.metricsLabels = "", nil
	if o.Metrics == "" {
		for _, f := range []struct {
			set  bool
			name string
		}{
			{o.Quiet, "-q/--quiet"}, {o.MetricsLabels != "", "--metrics-labels"},
			{o.MetricsPublic, "--metrics-public"}, {o.MetricsMaxSeries != metrics.DefaultMaxSeries, "--metrics-max-series"},
		} {
			if f.set {
				return fmt.Errorf("%s needs --metrics ADDR: without it there is nothing for it to change", f.name)
			}
		}
		return nil
	}
	if o.Count {
		return fmt.Errorf("--metrics cannot be used with -c/--count: the series are counted from the event stream, which count mode does not have")
	}
	addr, err := metrics.ParseAddr(o.Metrics, o.MetricsPublic)
	if err != nil {
		return fmt.Errorf("--metrics: %w", err)
	}
	if o.MetricsLabels != "" {
		for _, l := range strings.Split(o.MetricsLabels, ",") {
			o.metricsLabels = append(o.metricsLabels, strings.TrimSpace(l))
		}
		if err := metrics.CheckLabels(o.metricsLabels); err != nil {
			return fmt.Errorf("--metrics-labels %s: %w", o.MetricsLabels, err)
		}
	}
	if o.MetricsMaxSeries < 1 || o.MetricsMaxSeries > MaxMetricsSeries {
		return fmt.Errorf("invalid --metrics-max-series %d: give 1 to %d", o.MetricsMaxSeries, MaxMetricsSeries)
	}
	o.metricsAddr = addr
	return nil
}

// ParsePorts parses -P's comma-separated list of destination ports.
func ParsePorts(s string) ([]uint16, error) {
	var ports []uint16
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("invalid port %q in -P %s: ports are numbers from 1 to 65535", p, s)
		}
		ports = append(ports, uint16(n))
	}
	if len(ports) > tracer.MaxPorts {
		return nil, fmt.Errorf("too many ports in -P: %d, at most %d", len(ports), tracer.MaxPorts)
	}
	return ports, nil
}

// flagPathError says that a flag's path cannot be used, naming the path
// once (an *os.PathError would name it again).
func flagPathError(flag, path string, err error) error {
	if u := errors.Unwrap(err); u != nil {
		err = u
	}
	return fmt.Errorf("%s %s: %w", flag, path, err)
}

func checkCgroup(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return flagPathError("--cgroup", path, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--cgroup %s: not a directory", path)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fmt.Errorf("--cgroup %s: %w", path, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("--cgroup %s: not a cgroup v2 directory (cgroup2 is often mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified)", path)
	}
	return nil
}
