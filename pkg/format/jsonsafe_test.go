package format

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
)

// TestJSONTerminalSafe: what a process name holds comes out escaped in
// JSON (printable characters only), and decodes back to the same string.
func TestJSONTerminalSafe(t *testing.T) {
	for _, s := range []string{"curl", "\x1b[31m\x07", "a\u202eb", "\x7f\u0085", "\u2028\u2029", "caf\u00e9 \U0001F600", "\U000E0001", "\ufffd"} {
		b, err := json.Marshal(map[string]string{"comm": s})
		if err != nil {
			t.Fatal(err)
		}
		out := terminalSafeJSON(b)
		for _, r := range out {
			if !unicode.IsPrint(r) {
				t.Errorf("%q: unprintable %U in %q", s, r, out)
			}
		}
		var back map[string]string
		if err := json.Unmarshal([]byte(out), &back); err != nil || back["comm"] != s {
			t.Errorf("%q: %s decodes to %q, %v", s, out, back["comm"], err)
		}
		if s == "curl" && !strings.Contains(out, `"curl"`) {
			t.Errorf("printable name changed: %s", out)
		}
	}
}
