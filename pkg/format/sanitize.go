package format

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// printable is the one rule both outputs share: a rune a terminal shows
// rather than acts on. unicode.IsPrint excludes C0 and C1 controls, DEL
// and format characters such as bidi overrides (U+202E).
func printable(r rune) bool { return r != utf8.RuneError && unicode.IsPrint(r) }

// Sanitize makes a process name safe for a terminal, as ps does: every
// byte that is not part of a printable UTF-8 character (control bytes,
// escape sequences, invalid UTF-8, bidi overrides) becomes '?'.
func Sanitize(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if !printable(r) {
			sb.WriteByte('?')
			b = b[1:]
			continue
		}
		sb.WriteRune(r)
		b = b[n:]
	}
	return sb.String()
}
