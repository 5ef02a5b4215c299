package main

import (
	"bytes"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/internal/doccheck"
)

// TestManPage: the generated page has an OPTIONS entry and an example for
// every flag --help lists, and every section of bcc's pages. (Rendering is
// tested in pkg/cli and, on the installed page, by scripts/deb-check.sh:
// this test also runs in the VMs, which have no man.)
func TestManPage(t *testing.T) {
	var page, help, errb bytes.Buffer
	if code := run([]string{"--generate=man"}, &page, &errb); code != 0 {
		t.Fatalf("--generate=man exited %d: %s", code, errb.String())
	}
	if code := run([]string{"--help"}, &help, &errb); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	if !bytes.Contains(page.Bytes(), []byte(".TH TCPV4CONNECT 8 ")) {
		t.Errorf("no .TH TCPV4CONNECT 8 line")
	}
	for _, gap := range doccheck.ManPageGaps(help.String(), page.String()) {
		t.Error(gap)
	}
}
