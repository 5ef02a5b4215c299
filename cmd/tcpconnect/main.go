// Command tcpconnect traces active TCP connects, IPv4 and IPv6, printing
// one line per connect in the format of bcc's tcpconnect.
package main

import (
	"io"
	"os"

	"github.com/tcpv4connect/tcpv4connect/pkg/cli"
	"github.com/tcpv4connect/tcpv4connect/pkg/format"
)

// version is set by the Makefile at link time.
var version = "dev"

// options is the whole command line.
type options struct {
	cli.Options `embed:""`
	IPv4        bool `short:"4" name:"ipv4" xor:"family" help:"Trace IPv4 family only (nothing is attached to tcp_v6_connect)."`
	IPv6        bool `short:"6" name:"ipv6" xor:"family" help:"Trace IPv6 family only."`
}

// Help is shown after the description in --help: one example per flag.
func (o *options) Help() string {
	return `examples:

    ./tcpconnect           # trace all TCP connect()s
    ./tcpconnect -t        # include timestamps
    ./tcpconnect -p 181    # only trace PID 181
    ./tcpconnect -P 80     # only trace port 80
    ./tcpconnect -P 80,81  # only trace port 80 and 81
    ./tcpconnect -4        # only trace IPv4 family
    ./tcpconnect -6        # only trace IPv6 family
    ./tcpconnect -L        # include LPORT while printing outputs
    ./tcpconnect -U        # include UID
    ./tcpconnect --parent  # include the parent's PID and name (PPID, PCOMM)
    ./tcpconnect -u 1000   # only trace UID 1000
    ./tcpconnect -c        # count connects per src ip and dest ip/port
    ./tcpconnect -j        # one JSON object per line
    ./tcpconnect -x        # also show connects that failed at once, with ERR
    ./tcpconnect -O        # show each handshake's outcome and latency
    ./tcpconnect --cgroup /sys/fs/cgroup/system.slice/nginx.service   # one service
    ./tcpconnect --duration 10s -c   # count for 10 seconds, then print
    ./tcpconnect --attach tracepoint # on kernels without kprobes
    ./tcpconnect --btf /path/vmlinux.btf   # on kernels without BTF
    ./tcpconnect --metrics 127.0.0.1:9464 -q   # serve Prometheus metrics at /metrics, no rows
    ./tcpconnect --metrics :9464 --metrics-labels dport --metrics-max-series 500   # per-port series, at most 500
    ./tcpconnect --metrics 0.0.0.0:9464 --metrics-public   # serve them to the network, on purpose
    ./tcpconnect --check   # which attach modes work here
    ./tcpconnect -v        # say which attach mode is used
    ./tcpconnect --version # print the version`
}

// Validate checks values that kong's types cannot.
func (o *options) Validate() error { return o.Options.Validate() }

func main() {
	cli.TuneRuntime()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var opts options
	cmd := cli.Command{
		Name:        "tcpconnect",
		Description: "Trace TCP connects",
		Manual: `This tool traces active TCP connections, IPv4 and IPv6 (the
kernel's tcp_v4_connect and tcp_v6_connect), and prints one line per
connect: the process ID and name of the caller, the IP version, the source
and destination addresses and the destination port. Passive connections
(accept()) are not traced; see tcpaccept-bpfcc(8).

It is a drop-in replacement for bcc's tools/tcpconnect.py: the same flags
(but -d, DNS correlation), the same columns and, without the flags bcc
lacks, byte-identical output. It adds JSON lines (-j), connects the kernel
rejected (-x), handshake outcomes and latency (-O), the parent process
recorded at the connect (--parent), cgroup filtering in the kernel
(--cgroup), a run duration (--duration) and, as a service on every host,
OpenMetrics series for Prometheus (--metrics, with -q for no rows; the
systemd unit tcpconnect-metrics.service runs it). An AF_INET6 socket that
connects to a v4-mapped address is shown once, as IPv4, as bcc does.`,
		Version: version,
		Layout:  format.LayoutTCPConnect,
		Banner:  true,
		Families: func() (bool, bool) {
			if !opts.IPv4 && !opts.IPv6 {
				return true, true
			}
			return opts.IPv4, opts.IPv6
		},
	}
	return cli.Run(cmd, &opts, &opts.Options, args, stdout, stderr)
}
