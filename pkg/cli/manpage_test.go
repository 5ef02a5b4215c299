package cli

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/tcpv4connect/tcpv4connect/internal/doccheck"
	"github.com/tcpv4connect/tcpv4connect/pkg/event"
	"github.com/tcpv4connect/tcpv4connect/pkg/format"
)

// docRoot is a command line like the commands': the shared flags and one of
// its own.
type docRoot struct {
	Options `embed:""`
	Extra   bool `short:"4" help:"A flag of this command only."`
}

func (docRoot) Help() string {
	return "examples:\n\n    ./doc -4   # the extra flag\n"
}

func docModel(t *testing.T) *kong.Application {
	t.Helper()
	var r docRoot
	p, code := parse(Command{Name: "doc", Description: "Doc test"}, &r, nil, &bytes.Buffer{}, &bytes.Buffer{})
	if code != -1 {
		t.Fatalf("parse: exit %d", code)
	}
	return p.Model
}

func manPage(t *testing.T, layout format.Layout) string {
	t.Helper()
	var b bytes.Buffer
	cmd := Command{Name: "doc", Description: "Doc test", Layout: layout}
	if err := writeManPage(&b, cmd, docModel(t), manDoc{name: "doc", version: "1.0", date: "2026-01-01"}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// fieldsSection is the page's FIELDS section.
func fieldsSection(page string) string {
	s := page[strings.Index(page, ".SH FIELDS"):]
	return s[:strings.Index(s, ".SH OVERHEAD")]
}

// TestManPageFlags: every flag of the model has its OPTIONS entry and its
// SYNOPSIS term; the hidden generator flags have neither.
func TestManPageFlags(t *testing.T) {
	page := manPage(t, format.LayoutTCPConnect)
	opts := page[strings.Index(page, ".SH OPTIONS"):strings.Index(page, ".SH EXAMPLES")]
	syn := page[strings.Index(page, ".SH SYNOPSIS"):strings.Index(page, ".SH DESCRIPTION")]
	n := 0
	for _, f := range docModel(t).Flags {
		entry := `\fB` + roffText("--"+f.Name) + `\fR`
		if f.Hidden {
			if strings.Contains(page, entry) {
				t.Errorf("hidden --%s is in the page", f.Name)
			}
			continue
		}
		n++
		if !strings.Contains(opts, ".TP\n") || !strings.Contains(opts, entry) {
			t.Errorf("--%s has no OPTIONS entry", f.Name)
		}
		if f.Help == "" {
			t.Errorf("--%s has no help text", f.Name)
		}
		if !strings.Contains(syn, synopsisTerm(f)) {
			t.Errorf("--%s is not in the SYNOPSIS", f.Name)
		}
	}
	if n < 15 {
		t.Errorf("only %d flags documented", n)
	}
	if !strings.Contains(page, `\fB# doc \-4\fR`) {
		t.Errorf("the example from Help is missing")
	}
}

// TestManPageFields: every column either layout can print, every count
// table column, every JSON field and every lost reason has a FIELDS entry.
func TestManPageFields(t *testing.T) {
	for _, layout := range []format.Layout{format.LayoutTCPV4Connect, format.LayoutTCPConnect} {
		fields := fieldsSection(manPage(t, layout))
		header := format.NewText(format.TextOptions{Layout: layout, Timestamps: true, UID: true, LPort: true, Outcome: true, Parent: true}).Header()
		header += format.NewText(format.TextOptions{Layout: layout, Failed: true}).Header()
		header += format.CountTable([]event.Count{})
		for _, col := range strings.Fields(header) {
			if !strings.Contains(fields, ".TP\n"+bold(col)+"\n") {
				t.Errorf("layout %d: column %s has no FIELDS entry", layout, col)
			}
		}
	}
	fields := fieldsSection(manPage(t, format.LayoutTCPConnect))
	for _, rec := range []any{format.StartRecord{}, format.Record{}, format.LostRecord{}} {
		ty := reflect.TypeOf(rec)
		for i := 0; i < ty.NumField(); i++ {
			name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(fields, ".TP\n"+bold(name)+"\n") {
				t.Errorf("JSON field %s (%s) has no FIELDS entry", name, ty.Name())
			}
		}
	}
	for _, r := range []string{format.ReasonPerfBufferFull, format.ReasonMalformed, format.ReasonKretprobeMiss,
		format.ReasonOutcomeMapFull, format.ReasonCountMapFull, format.ReasonInflightFull, format.ReasonPendingAtExit} {
		if !strings.Contains(fields, ".TP\n"+bold(r)+"\n") {
			t.Errorf("lost reason %s has no FIELDS entry", r)
		}
	}
}

func TestRoffText(t *testing.T) {
	for in, want := range map[string]string{
		"--attach":         `\-\-attach`,
		`a\b`:              `a\eb`,
		".starts a macro":  `\&.starts a macro`,
		"x\n'quote\nplain": "x\n\\&'quote\nplain",
	} {
		if got := roffText(in); got != want {
			t.Errorf("roffText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestManPageRenders: man -l renders both layouts' pages without a groff
// warning, with every section.
func TestManPageRenders(t *testing.T) {
	needShell(t, "man")
	for _, layout := range []format.Layout{format.LayoutTCPV4Connect, format.LayoutTCPConnect} {
		warnings, text, err := doccheck.RenderWarnings([]byte(manPage(t, layout)))
		if err != nil {
			t.Fatal(err)
		}
		if warnings != "" {
			t.Errorf("man -l warns:\n%s", warnings)
		}
		for _, want := range []string{"DOC(8)", "SYNOPSIS", "REQUIREMENTS", "--attach MODE", "FIELDS", "perf_buffer_full", "EXIT STATUS", "SEE ALSO"} {
			if !strings.Contains(text, want) {
				t.Errorf("rendered page lacks %q", want)
			}
		}
	}
}

// TestSeeAlsoSibling: the other command appears under its installed name
// (the .deb's tcpconnect-libbpfgo), first, and no page is listed twice or
// points at the page itself.
func TestSeeAlsoSibling(t *testing.T) {
	for _, tc := range []struct{ self, sibling, first string }{
		{"tcpv4connect", "tcpconnect-libbpfgo", `.BR tcpconnect\-libbpfgo (8)`},
		{"tcpconnect-libbpfgo", "tcpv4connect", `.BR tcpv4connect (8)`},
		{"tcpv4connect", "tcpconnect", `.BR tcpconnect (8)`},
	} {
		got := seeAlso(tc.self, tc.sibling)
		if len(got) == 0 || got[0] != tc.first {
			t.Errorf("%s: SEE ALSO starts %q, want %q", tc.self, got, tc.first)
		}
		seen := map[string]bool{}
		for _, l := range got {
			if seen[l] || l == `.BR `+roffText(tc.self)+` (8)` {
				t.Errorf("%s: %q listed twice or names the page itself", tc.self, l)
			}
			seen[l] = true
		}
	}
}
