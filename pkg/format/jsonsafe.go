package format

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// terminalSafeJSON escapes, as \uXXXX, every character of marshalled JSON
// that a terminal would act on rather than show: encoding/json already
// escapes C0 controls, but not DEL, C1 controls or format characters such
// as bidi overrides (U+202E), which a process name may hold. The result is
// the same JSON value, made of printable ASCII and printable characters.
// Outside strings json.Marshal writes printable ASCII only, so every
// escape lands inside a string.
func terminalSafeJSON(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if printable(r) {
			sb.Write(b[:n])
		} else if r == utf8.RuneError && n == 1 {
			sb.WriteString(`\ufffd`) // json.Marshal never writes invalid UTF-8
		} else if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&sb, `\u%04x\u%04x`, r1, r2)
		} else {
			fmt.Fprintf(&sb, `\u%04x`, r)
		}
		b = b[n:]
	}
	return sb.String()
}
