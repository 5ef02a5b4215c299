package e2e

import (
	"io"
	"strings"
	"testing"
)

// UsageCase is one command line for RunUsage: a usage error (Code 2, one
// line on stderr starting Stderr, nothing on stdout) or a success whose
// stdout holds each of Stdout.
type UsageCase struct {
	Args   []string
	Code   int
	Stderr string
	Stdout []string
}

// RunUsage runs each case through a command's in-process entry point.
func RunUsage(t *testing.T, run func(args []string, stdout, stderr io.Writer) int, cases []UsageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(strings.Join(tc.Args, " "), func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(tc.Args, &stdout, &stderr)
			if code != tc.Code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.Code, stderr.String())
			}
			if tc.Code == 2 {
				msg := stderr.String()
				if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, tc.Stderr) {
					t.Errorf("stderr %q: want one line starting %q", msg, tc.Stderr)
				}
				if stdout.Len() != 0 {
					t.Errorf("stdout %q, want nothing", stdout.String())
				}
				return
			}
			for _, want := range tc.Stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
		})
	}
}
