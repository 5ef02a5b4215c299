package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// tool is one tracer the benchmark runs: ours in one attach mode, or a peer.
type tool struct {
	ID   string // ours-tracepoint, libbpf-tools, bcc, bpftrace, ...
	Name string // program, for the table
	Mode string // attach mode (kprobe, fentry, tracepoint)
	Argv []string
	// Ready matches the line (stdout or stderr) printed once the probes
	// are attached: our header, libbpf-tools' and bcc's header, bpftrace's
	// "Attaching N probes...".
	Ready *regexp.Regexp
	// Lost matches a loss report on stderr; its first group is the count.
	Lost *regexp.Regexp
	// LostTotal matches a final total (ours): used only when no
	// per-occurrence report was seen.
	LostTotal *regexp.Regexp
	Env       []string
}

var headerRE = regexp.MustCompile(`^\s*(TIME\S*\s+)?PID\s+COMM\s`)

// toolByID builds the command line of a tool. paths: ours, bt (the
// bpftrace script), tcpconnect (our tcpconnect, optional).
func toolByID(id string, paths map[string]string) (*tool, error) {
	switch {
	case strings.HasPrefix(id, "ours-"):
		return ours(id, "tcpv4connect", paths["ours"], strings.TrimPrefix(id, "ours-")), nil
	case strings.HasPrefix(id, "ourtcpconnect-"):
		return ours(id, "tcpconnect (ours)", paths["tcpconnect"], strings.TrimPrefix(id, "ourtcpconnect-")), nil
	case strings.HasPrefix(id, "ourmetrics-"):
		// Metrics mode as a host service runs it, with the rows kept so
		// that the run is counted like the others: what it costs over
		// ourtcpconnect-MODE is the per-event counting. A fixed
		// loopback port that tests and peers leave alone.
		return ours(id, "tcpconnect --metrics (ours)", paths["tcpconnect"], strings.TrimPrefix(id, "ourmetrics-"),
			"--metrics", "127.0.0.1:19464"), nil
	case id == "libbpf-tools":
		return &tool{
			ID: id, Name: "libbpf-tools tcpconnect", Mode: "kprobe",
			Argv:  []string{paths["libbpf-tools"]},
			Ready: headerRE,
			Lost:  regexp.MustCompile(`Lost (\d+) events on CPU`),
		}, nil
	case id == "tcpconnlat":
		// libbpf-tools' fentry tool (fexit on tcp_v4_connect where the
		// kernel allows it): the start-up anchor of our fentry mode. It
		// prints a row when the handshake completes.
		return &tool{
			ID: id, Name: "libbpf-tools tcpconnlat", Mode: "fentry",
			Argv:  []string{paths["tcpconnlat"]},
			Ready: headerRE,
			Lost:  regexp.MustCompile(`(?i)lost (\d+) events on CPU`),
		}, nil
	case id == "bcc":
		return &tool{
			ID: id, Name: "bcc tcpconnect", Mode: "kprobe",
			Argv:  []string{paths["bcc"]},
			Ready: headerRE,
			Lost:  regexp.MustCompile(`[Pp]ossibly lost (\d+) samples`),
			Env:   []string{"PYTHONUNBUFFERED=1"},
		}, nil
	case id == "bpftrace":
		return &tool{
			ID: id, Name: "bpftrace (tcpconnect-tp.bt)", Mode: "tracepoint",
			Argv:  withTracefs(paths["bpftrace"], paths["bt"]),
			Ready: regexp.MustCompile(`^Attaching \d+ probe`),
			Lost:  regexp.MustCompile(`Lost (\d+) events`),
		}, nil
	}
	return nil, fmt.Errorf("unknown tool %q (ours-MODE, ourtcpconnect-MODE, ourmetrics-MODE, libbpf-tools, tcpconnlat, bcc, bpftrace)", id)
}

// ours is one of our commands in an attach mode, with extra arguments.
func ours(id, name, bin, mode string, extra ...string) *tool {
	return &tool{
		ID: id, Name: name, Mode: mode,
		Argv:      append([]string{bin, "--attach", mode}, extra...),
		Ready:     headerRE,
		Lost:      regexp.MustCompile(`^Lost (\d+) events`),
		LostTotal: regexp.MustCompile(`(\d+) events lost in total`),
	}
}

// withTracefs runs argv with tracefs at /sys/kernel/tracing, which
// bpftrace's tracepoints need: where the host has none mounted, it is
// mounted in a private mount namespace of the tool's own, so the host is
// left as it was. unshare and sh exec in place: the PID measured is the
// tool's.
func withTracefs(argv ...string) []string {
	if _, err := os.Stat("/sys/kernel/tracing/events"); err == nil {
		return argv
	}
	return append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tracefs nodev /sys/kernel/tracing && exec "$0" "$@"`}, argv...)
}

func atoiU(s string) uint64 {
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}
