package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/internal/doccheck"
)

// TestManPage: the generated page has an OPTIONS entry and an example for
// every flag --help lists, every section of bcc's pages, and man renders
// it without a warning.
func TestManPage(t *testing.T) {
	page := generated(t, "man")
	var help bytes.Buffer
	if code := run([]string{"--help"}, &help, &bytes.Buffer{}); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, gap := range doccheck.ManPageGaps(help.String(), page) {
		t.Error(gap)
	}
	if _, err := exec.LookPath("man"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("man is not installed (scripts/setup.sh --pkg installs it)")
	}
	warnings, text, err := doccheck.RenderWarnings([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if warnings != "" {
		t.Errorf("man -l warns:\n%s", warnings)
	}
	for _, want := range []string{"TCPCONNECT(8)", "--attach MODE", "EXIT STATUS", "perf_buffer_full"} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
}

// generated runs the hidden --generate flag.
func generated(t *testing.T, kind string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run([]string{"--generate=" + kind}, &out, &errb); code != 0 {
		t.Fatalf("--generate=%s exited %d: %s", kind, code, errb.String())
	}
	return out.String()
}
