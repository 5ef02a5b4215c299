package main

import (
	"testing"

	"github.com/tcpv4connect/tcpv4connect/internal/doccheck"
)

// TestManPage: the generated page documents every flag --help lists, with
// bcc's sections. (Rendering is tested in pkg/cli and, on the installed
// page, by scripts/deb-check.sh.)
func TestManPage(t *testing.T) { doccheck.CheckManPage(t, run, "TCPCONNECT") }
