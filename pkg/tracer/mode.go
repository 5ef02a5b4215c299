// Package tracer loads the embedded BPF object, attaches it in one of the
// attach modes, and streams raw samples from its perf buffer.
package tracer

import "fmt"

// Mode is an attach mode: which kernel hook reports connects.
type Mode string

// Attach modes, in the order auto tries them.
const (
	ModeAuto       Mode = "auto"
	ModeFentry     Mode = "fentry"     // fexit on tcp_v{4,6}_connect: BPF trampoline, cheapest
	ModeKprobe     Mode = "kprobe"     // kprobe + kretprobe, as bcc does
	ModeTracepoint Mode = "tracepoint" // sock/inet_sock_set_state CLOSE->SYN_SENT
)

// Modes lists the concrete modes in the order auto tries them.
var Modes = []Mode{ModeFentry, ModeKprobe, ModeTracepoint}

// ParseMode checks a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeAuto, ModeFentry, ModeKprobe, ModeTracepoint:
		return m, nil
	}
	return "", fmt.Errorf("unknown attach mode %q: use auto, fentry, kprobe or tracepoint", s)
}

// KnowsReturn reports whether the mode sees tcp_v{4,6}_connect's return
// value; the tracepoint fires inside the function, before it returns.
func (m Mode) KnowsReturn() bool { return m == ModeFentry || m == ModeKprobe }
