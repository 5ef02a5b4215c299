package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/pkg/format"
)

// fuzzRoot is a command's options struct, as the commands declare theirs.
type fuzzRoot struct {
	Options `embed:""`
}

func (r *fuzzRoot) Validate() error { return r.Options.Validate() }

// FuzzParse: the flag parser never panics, whatever the arguments, and
// answers 0 (help, version), 2 (usage error) or -1 (go on, with checked
// values). Arguments are NUL-separated in the input. The seed corpus is in
// testdata/fuzz/FuzzParse and runs with plain go test.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "-h", "--help", "--version", "-t", "-p\x00181", "-p181", "--pid=181", "--pid\x00-5",
		"-p\x0099999999999999999999", "--attach\x00tracepoint", "--attach=uprobe", "--btf\x00/nonexistent",
		"--check\x00-v", "-tv", "--\x00-p", "-p", "--bogus", "extra", "-p\x00\x00", "--pid=0x10",
		"--duration\x001s", "--duration=-1s", "--attach\x00auto\x00--attach\x00kprobe", "-\x00--", "\xff\xfe",
		"-P\x0080,443", "-P\x00,", "-P\x000", "-u\x004294967295", "-c\x00-j", "-x\x00--attach=tracepoint",
		"--cgroup\x00/proc", "-LUtjxO", "-P" + strings.Repeat("1,", 70) + "1",
	} {
		f.Add(s)
	}
	cmd := Command{Name: "fuzz", Description: "fuzz", Version: "v", Layout: format.LayoutTCPV4Connect}
	f.Fuzz(func(t *testing.T, s string) {
		var args []string
		if s != "" {
			args = strings.Split(s, "\x00")
		}
		var r fuzzRoot
		switch _, code := parse(cmd, &r, args, io.Discard, io.Discard); code {
		case 0, ExitUsage:
		case -1:
			o := &r.Options
			if o.PID != "" && (o.pid == 0 || o.pid > 1<<22) {
				t.Fatalf("%q: accepted PID %q as %d", args, o.PID, o.pid)
			}
			if len(o.ports) > 64 || (o.Port != "" && len(o.ports) == 0) {
				t.Fatalf("%q: ports %v from %q", args, o.ports, o.Port)
			}
			for _, p := range o.ports {
				if p == 0 {
					t.Fatalf("%q: port 0 accepted", args)
				}
			}
			if o.Duration != nil && *o.Duration <= 0 {
				t.Fatalf("%q: duration %v accepted", args, *o.Duration)
			}
		default:
			t.Fatalf("%q: code %d, want 0, 2 or -1", args, code)
		}
	})
}

// FuzzParsePorts: -P's parser never panics and returns 1..64 ports, none
// of them 0, or an error.
func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"80", "80,443", "", ",", "0", "65536", " 22 ", "1,2,3", "-1", "+5", strings.Repeat("9,", 64) + "9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ports, err := ParsePorts(s)
		if err != nil {
			return
		}
		if len(ports) == 0 || len(ports) > 64 {
			t.Fatalf("%q: %d ports", s, len(ports))
		}
		for _, p := range ports {
			if p == 0 {
				t.Fatalf("%q: port 0", s)
			}
		}
	})
}
