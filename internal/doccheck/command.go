package doccheck

import (
	"bytes"
	"io"
	"testing"
)

// Runner is a command's entry point: args, stdout, stderr, exit code.
type Runner func(args []string, stdout, stderr io.Writer) int

// CheckManPage fails t unless the command's generated page has the title
// line `.TH TITLE 8` and an OPTIONS entry and an example for every flag
// its --help lists, with every section of bcc's pages. It does not render
// the page: it also runs in the test VMs, which have no man.
func CheckManPage(t *testing.T, run Runner, title string) {
	t.Helper()
	var page, help, errb bytes.Buffer
	if code := run([]string{"--generate=man"}, &page, &errb); code != 0 {
		t.Fatalf("--generate=man exited %d: %s", code, errb.String())
	}
	if code := run([]string{"--help"}, &help, &errb); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	if th := ".TH " + title + " 8 "; !bytes.Contains(page.Bytes(), []byte(th)) {
		t.Errorf("no %q line", th)
	}
	for _, gap := range ManPageGaps(help.String(), page.String()) {
		t.Error(gap)
	}
}
