package format

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// FuzzSanitize: whatever bytes a process name holds, Sanitize returns
// valid UTF-8 made of printable characters only, one '?' per bad byte, and
// leaves printable names alone; a row built from it is one printable line.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"curl", "\x1b[2J\x1b]0;x\x07", "\xff\xfe\xc3(", "a\u202eb", "caf\u00e9", "\x00\x7f\t\n\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := Sanitize(b)
		if !utf8.ValidString(s) {
			t.Fatalf("Sanitize(%q) = %q: invalid UTF-8", b, s)
		}
		for _, r := range s {
			if !unicode.IsPrint(r) {
				t.Fatalf("Sanitize(%q) = %q: unprintable %U", b, s, r)
			}
		}
		if len(s) < utf8.RuneCount(b) || utf8.RuneCountInString(s) > len(b) {
			t.Fatalf("Sanitize(%q) = %q: characters lost or invented", b, s)
		}
		if utf8.Valid(b) && !strings.ContainsFunc(string(b), func(r rune) bool { return !unicode.IsPrint(r) }) && s != string(b) {
			t.Fatalf("printable %q changed to %q", b, s)
		}
		var e event.Event
		e.Family = event.AFInet
		copy(e.Comm[:], b)
		row := v4Text(true).Row(&e)
		if strings.Count(row, "\n") != 1 || !strings.HasSuffix(row, "\n") {
			t.Fatalf("row %q is not one line", row)
		}
		for _, r := range strings.TrimSuffix(row, "\n") {
			if !unicode.IsPrint(r) {
				t.Fatalf("row %q: unprintable %U", row, r)
			}
		}
	})
}
