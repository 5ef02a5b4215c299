package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string   // the one line's start (usage errors)
		stdout []string // what stdout holds (help, version)
	}{
		{args: []string{"-P", "0"}, code: 2, stderr: usage},
		{args: []string{"-P", "65536"}, code: 2, stderr: usage},
		{args: []string{"-P", "80,abc"}, code: 2, stderr: usage},
		{args: []string{"-P", strings.Repeat("1,", 64) + "1"}, code: 2, stderr: usage},
		{args: []string{"-u", "root"}, code: 2, stderr: usage},
		{args: []string{"-u", "-1"}, code: 2, stderr: usage},
		{args: []string{"-p", "abc"}, code: 2, stderr: usage},
		{args: []string{"-p", "0"}, code: 2, stderr: usage},
		{args: []string{"-4", "-6"}, code: 2, stderr: usage},
		{args: []string{"-c", "-j"}, code: 2, stderr: usage},
		{args: []string{"-c", "-O"}, code: 2, stderr: usage},
		{args: []string{"--cgroup", "/nonexistent/cgroup"}, code: 2, stderr: usage},
		{args: []string{"--cgroup", "/proc"}, code: 2, stderr: usage},
		{args: []string{"--duration", "soon"}, code: 2, stderr: usage},
		{args: []string{"--duration=0"}, code: 2, stderr: usage + "invalid --duration 0s: give a positive duration"},
		{args: []string{"--duration=0s"}, code: 2, stderr: usage + "invalid --duration 0s: give a positive duration"},
		{args: []string{"--duration=-1s"}, code: 2, stderr: usage + "invalid --duration -1s: give a positive duration"},
		{args: []string{"--attach", "tracepoint", "-x"}, code: 2, stderr: usage + "-x/--failed with --attach tracepoint: "},
		{args: []string{"--attach", "uprobe"}, code: 2, stderr: usage},
		{args: []string{"--btf", "/nonexistent.btf"}, code: 2, stderr: usage},
		{args: []string{"--btf", garbage}, code: 2, stderr: "tcpconnect: --btf " + garbage + ": not a BTF file ("},
		{args: []string{"--btf", garbage, "--check"}, code: 2, stderr: "tcpconnect: --btf " + garbage + ": not a BTF file ("},
		{args: []string{"--bogus"}, code: 2, stderr: usage},
		{args: []string{"extra-arg"}, code: 2, stderr: usage},
		{args: []string{"-h"}, stdout: []string{
			"Trace TCP connects",
			"--ipv4", "--ipv6", "--lport", "--print-uid", "--uid=UID", "--port=PORTS", "--count", "--json",
			"--failed", "--outcome", "--cgroup=PATH", "--duration=D", "--attach=MODE", "--btf=FILE", "--check",
			// one example per flag
			"./tcpconnect -t ", "./tcpconnect -p ", "./tcpconnect -P ", "./tcpconnect -4 ", "./tcpconnect -6 ",
			"./tcpconnect -L ", "./tcpconnect -U ", "./tcpconnect -u ", "./tcpconnect -c ", "./tcpconnect -j ",
			"./tcpconnect -x ", "./tcpconnect -O ", "./tcpconnect --cgroup ", "./tcpconnect --duration ",
			"./tcpconnect --attach ", "./tcpconnect --btf ", "./tcpconnect --check ", "./tcpconnect -v ",
			"./tcpconnect --version ",
		}},
		{args: []string{"--version"}, stdout: []string{"tcpconnect " + version + "\nlibbpf v1.", "\ngo1."}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, stderr.String())
			}
			if tc.code == 2 {
				msg := stderr.String()
				if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, tc.stderr) {
					t.Errorf("stderr %q: want one line starting %q", msg, tc.stderr)
				}
				if stdout.Len() != 0 {
					t.Errorf("stdout %q, want nothing", stdout.String())
				}
				return
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
		})
	}
}
