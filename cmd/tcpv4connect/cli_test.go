package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestBadInput runs the built binary: every bad input exits 2 with one line
// on stderr, before anything touches the kernel (so no root is needed).
func TestBadInput(t *testing.T) {
	if e2e.Bin() == "" {
		t.Skip(e2e.EnvBin + " is not set (run `make test`)")
	}
	for _, args := range [][]string{
		{"-p", "abc"},
		{"-p", "0"},
		{"-p", "-5"},
		{"--pid=99999999999"},
		{"--bogus"},
		{"-z"}, // unknown short flag (-x is --failed now)
		{"-x", "--attach", "tracepoint"},
		{"-P", "65536"},
		{"-u", "nobody"},
		{"-c", "-j"},
		{"--cgroup", "/nonexistent"},
		{"--attach", "uprobe"},
		{"extra-arg"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(e2e.Bin(), args...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if code := e2e.ExitCode(err); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "tcpv4connect: error: ") {
				t.Errorf("stderr %q: want one line starting with 'tcpv4connect: error: '", msg)
			}
			if strings.Contains(msg, "goroutine") || stdout.Len() != 0 {
				t.Errorf("unexpected output: stdout %q stderr %q", stdout.String(), msg)
			}
		})
	}
}

// TestHelp: -h shows the description, every flag and the examples, exit 0.
func TestHelp(t *testing.T) {
	if e2e.Bin() == "" {
		t.Skip(e2e.EnvBin + " is not set (run `make test`)")
	}
	out, err := exec.Command(e2e.Bin(), "-h").Output()
	if err != nil {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{
		"Trace TCP IPv4 connects", "--timestamp", "--pid=PID", "--attach=MODE", "--verbose", "--version", "--btf=FILE",
		"./tcpv4connect           # trace all TCP IPv4 connect()s",
		"./tcpv4connect -t        # include timestamps",
		"./tcpv4connect -p 181    # only trace PID 181",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}
