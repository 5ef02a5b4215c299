package doccheck

import (
	"strings"
	"testing"
)

const help = `Usage: x [flags]

examples:

    ./x --btf f   # not a flag line

Flags:
  -h, --help           Show context-sensitive help.
  -t, --timestamp      Include TIME(s) on output: see
                       --wrapped, which is not a flag.
      --cgroup=PATH    Trace only processes in this cgroup.
`

func TestHelpFlags(t *testing.T) {
	if got := strings.Join(HelpFlags(help), " "); got != "help timestamp cgroup" {
		t.Errorf("HelpFlags = %q", got)
	}
}

func TestManPageGaps(t *testing.T) {
	page := ".SH NAME\nx\n.SH OPTIONS\n.TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nhelp\n.TP\n\\fB\\-\\-cgroup\\fR \\fIPATH\\fR\nc\n.SH EXAMPLES\n.TP\n\\fB# x \\-t\\fR\n"
	got := strings.Join(ManPageGaps(help, page), "; ")
	for _, want := range []string{"--timestamp has no OPTIONS entry", "--cgroup has no example", "no FIELDS section"} {
		if !strings.Contains(got, want) {
			t.Errorf("gaps %q lack %q", got, want)
		}
	}
	for _, unwanted := range []string{"--help has no", "--timestamp has no example", "--cgroup has no OPTIONS"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("gaps %q include %q", got, unwanted)
		}
	}
}
