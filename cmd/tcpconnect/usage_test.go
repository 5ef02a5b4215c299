package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestUsage runs the command in process (run takes its writers): every
// malformed command line exits 2 with one line on stderr naming the
// problem, before anything touches the kernel (so no root is needed);
// -h and --version exit 0 with what a user looks for.
func TestUsage(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.btf")
	if err := os.WriteFile(garbage, []byte("definitely not BTF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	usage := "tcpconnect: error: "
	e2e.RunUsage(t, run, []e2e.UsageCase{
		{Args: []string{"-P", "0"}, Code: 2, Stderr: usage},
		{Args: []string{"-P", "65536"}, Code: 2, Stderr: usage},
		{Args: []string{"-P", "80,abc"}, Code: 2, Stderr: usage},
		{Args: []string{"-P", strings.Repeat("1,", 64) + "1"}, Code: 2, Stderr: usage},
		{Args: []string{"-u", "root"}, Code: 2, Stderr: usage},
		{Args: []string{"-u", "-1"}, Code: 2, Stderr: usage},
		{Args: []string{"-p", "abc"}, Code: 2, Stderr: usage},
		{Args: []string{"-p", "0"}, Code: 2, Stderr: usage},
		{Args: []string{"-4", "-6"}, Code: 2, Stderr: usage},
		{Args: []string{"-c", "-j"}, Code: 2, Stderr: usage},
		{Args: []string{"-c", "-O"}, Code: 2, Stderr: usage},
		{Args: []string{"--cgroup", "/nonexistent/cgroup"}, Code: 2, Stderr: usage},
		{Args: []string{"--cgroup", "/proc"}, Code: 2, Stderr: usage},
		{Args: []string{"--duration", "soon"}, Code: 2, Stderr: usage},
		{Args: []string{"--duration=0"}, Code: 2, Stderr: usage + "invalid --duration 0s: give a positive duration"},
		{Args: []string{"--duration=0s"}, Code: 2, Stderr: usage + "invalid --duration 0s: give a positive duration"},
		{Args: []string{"--duration=-1s"}, Code: 2, Stderr: usage + "invalid --duration -1s: give a positive duration"},
		{Args: []string{"--attach", "tracepoint", "-x"}, Code: 2, Stderr: usage + "-x/--failed with --attach tracepoint: "},
		{Args: []string{"--attach", "uprobe"}, Code: 2, Stderr: usage},
		{Args: []string{"--btf", "/nonexistent.btf"}, Code: 2, Stderr: usage},
		{Args: []string{"--btf", garbage}, Code: 2, Stderr: "tcpconnect: --btf " + garbage + ": not a BTF file ("},
		{Args: []string{"--btf", garbage, "--check"}, Code: 2, Stderr: "tcpconnect: --btf " + garbage + ": not a BTF file ("},
		{Args: []string{"-c", "--parent"}, Code: 2, Stderr: usage + "-c/--count cannot be used with --parent"},
		{Args: []string{"--metrics", "127.0.0.1"}, Code: 2, Stderr: usage + `--metrics: malformed address "127.0.0.1"`},
		{Args: []string{"--metrics", "127.0.0.1:99999"}, Code: 2, Stderr: usage + `--metrics: malformed address "127.0.0.1:99999"`},
		{Args: []string{"--metrics", "127.0.0.1:http"}, Code: 2, Stderr: usage + `--metrics: malformed address "127.0.0.1:http"`},
		{Args: []string{"--metrics", "metrics.example:9464"}, Code: 2, Stderr: usage + `--metrics: malformed address "metrics.example:9464"`},
		{Args: []string{"--metrics", "0.0.0.0:9464"}, Code: 2, Stderr: usage + "--metrics: 0.0.0.0:9464 is not a loopback address"},
		{Args: []string{"--metrics", "[::]:9464"}, Code: 2, Stderr: usage + "--metrics: [::]:9464 is not a loopback address"},
		{Args: []string{"--metrics", "192.0.2.1:9464"}, Code: 2, Stderr: usage + "--metrics: 192.0.2.1:9464 is not a loopback address"},
		{Args: []string{"--metrics", ":9464", "-c"}, Code: 2, Stderr: usage + "--metrics cannot be used with -c/--count"},
		{Args: []string{"--metrics", ":9464", "--metrics-labels", "pid"}, Code: 2, Stderr: usage + `--metrics-labels pid: unknown label "pid"`},
		{Args: []string{"--metrics", ":9464", "--metrics-labels", "dport,dport"}, Code: 2, Stderr: usage + `--metrics-labels dport,dport: label "dport" given twice`},
		{Args: []string{"--metrics", ":9464", "--metrics-max-series", "0"}, Code: 2, Stderr: usage + "invalid --metrics-max-series 0"},
		{Args: []string{"-q"}, Code: 2, Stderr: usage + "-q/--quiet needs --metrics ADDR"},
		{Args: []string{"--metrics-labels", "dport"}, Code: 2, Stderr: usage + "--metrics-labels needs --metrics ADDR"},
		{Args: []string{"--metrics-public"}, Code: 2, Stderr: usage + "--metrics-public needs --metrics ADDR"},
		{Args: []string{"--bogus"}, Code: 2, Stderr: usage},
		{Args: []string{"extra-arg"}, Code: 2, Stderr: usage},
		{Args: []string{"-h"}, Stdout: []string{
			"Trace TCP connects",
			"--ipv4", "--ipv6", "--lport", "--print-uid", "--uid=UID", "--port=PORTS", "--count", "--json",
			"--failed", "--outcome", "--cgroup=PATH", "--duration=D", "--attach=MODE", "--btf=FILE", "--check",
			// one example per flag
			"./tcpconnect -t ", "./tcpconnect -p ", "./tcpconnect -P ", "./tcpconnect -4 ", "./tcpconnect -6 ",
			"./tcpconnect -L ", "./tcpconnect -U ", "./tcpconnect -u ", "./tcpconnect -c ", "./tcpconnect -j ",
			"./tcpconnect -x ", "./tcpconnect -O ", "./tcpconnect --cgroup ", "./tcpconnect --duration ",
			"./tcpconnect --attach ", "./tcpconnect --btf ", "./tcpconnect --check ", "./tcpconnect -v ",
			"./tcpconnect --version ", "./tcpconnect --parent ", "./tcpconnect --metrics ",
		}},
		{Args: []string{"--version"}, Stdout: []string{"tcpconnect " + version + "\nlibbpf v1.", "\ngo1."}},
	})
}
