package tracer

import (
	"os"
	"strings"
	"testing"
)

// TestTracefsErrorWording: an unreadable tracefs is not "not mounted", and
// the capability it names is the one that reading needs.
func TestTracefsErrorWording(t *testing.T) {
	e := &TracefsError{Dir: "/sys/kernel/tracing", Unreadable: true, Err: os.ErrPermission}
	if s := e.Error(); strings.Contains(s, "not mounted") || !strings.Contains(s, "CAP_DAC_READ_SEARCH") || strings.Contains(s, "CAP_SYS_ADMIN") {
		t.Errorf("unreadable tracefs: %q", s)
	}
	e = &TracefsError{Dir: "/sys/kernel/tracing"}
	if s := e.Error(); !strings.Contains(s, "not mounted") {
		t.Errorf("missing tracefs: %q", s)
	}
}
