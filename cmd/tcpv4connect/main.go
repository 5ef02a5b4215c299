// Command tcpv4connect traces active TCP IPv4 connects, printing one line
// per connect in the format of bcc's tcpv4connect.
package main

import (
	"io"
	"os"

	"github.com/tcpv4connect/tcpv4connect/pkg/cli"
	"github.com/tcpv4connect/tcpv4connect/pkg/format"
)

// version is set by the Makefile at link time.
var version = "dev"

// options is the whole command line: the flags shared with tcpconnect.
type options struct {
	cli.Options `embed:""`
}

// Help is shown after the description in --help: one example per flag.
func (o *options) Help() string {
	return `examples:

    ./tcpv4connect           # trace all TCP IPv4 connect()s
    ./tcpv4connect -t        # include timestamps
    ./tcpv4connect -p 181    # only trace PID 181
    ./tcpv4connect -P 80,443 # only trace ports 80 and 443
    ./tcpv4connect -L        # include LPORT
    ./tcpv4connect -U        # include UID
    ./tcpv4connect --parent  # include the parent's PID and name (PPID, PCOMM)
    ./tcpv4connect -u 1000   # only trace UID 1000
    ./tcpv4connect -c        # count connects per src ip and dest ip/port
    ./tcpv4connect -j        # one JSON object per line
    ./tcpv4connect -x        # also show connects that failed at once, with ERR
    ./tcpv4connect -O        # show each handshake's outcome and latency
    ./tcpv4connect --cgroup /sys/fs/cgroup/system.slice/nginx.service   # one service
    ./tcpv4connect --duration 10s   # stop after 10 seconds
    ./tcpv4connect --attach tracepoint   # on kernels without kprobes
    ./tcpv4connect --btf /path/vmlinux.btf   # on kernels without BTF
    ./tcpv4connect --metrics 127.0.0.1:9464 -q   # serve Prometheus metrics at /metrics, no rows
    ./tcpv4connect --metrics :9464 --metrics-labels dport --metrics-max-series 500   # per-port series, at most 500
    ./tcpv4connect --metrics 0.0.0.0:9464 --metrics-public   # serve them to the network, on purpose
    ./tcpv4connect --check   # which attach modes work here
    ./tcpv4connect -v        # say which attach mode is used
    ./tcpv4connect --version # print the version`
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
		Name:        "tcpv4connect",
		Description: "Trace TCP IPv4 connects",
		Manual: `This tool traces active TCP IPv4 connections (the kernel's
tcp_v4_connect: a connect() syscall on an AF_INET stream socket, or an
AF_INET6 one to a v4-mapped address) and prints one line per connect: the
process ID and name of the caller, the source and destination addresses
and the destination port. Passive connections (accept()) are not traced.

It is a drop-in replacement for bcc's tcpv4connect example: the same
flags, the same columns and, without the flags bcc lacks, byte-identical
output. The header is printed once the probes are attached, so a script
can take it as the signal that tracing has begun. In every attach mode
only connects that sent a SYN are shown, unless -x asks for rejected ones
too. For IPv6 as well, use tcpconnect(8).`,
		Version:  version,
		Layout:   format.LayoutTCPV4Connect,
		Families: func() (bool, bool) { return true, false },
		// bcc's example: the first -t row of an agent that connects
		// every minute reads 31.871.
		TimeSinceStart: true,
	}
	return cli.Run(cmd, &opts, &opts.Options, args, stdout, stderr)
}
