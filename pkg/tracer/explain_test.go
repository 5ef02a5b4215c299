package tracer

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
)

// TestExplain: each attach error gets the hint that fits its mode and
// errno, and keeps the original error.
func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		mode Mode
		err  error
		want string
	}{
		{ModeFentry, syscall.EPERM, "kernel refused fentry/fexit"},
		{ModeFentry, errENOTSUPP, "no BPF trampoline"},
		{ModeFentry, fmt.Errorf("attach fexit: %w", syscall.ESRCH), "not in the kernel's BTF"},
		{ModeTracepoint, syscall.ENOENT, "not found in this kernel"},
		{ModeTracepoint, syscall.ESRCH, "not found in this kernel"},
		{ModeTracepoint, syscall.EINVAL, ""},
	} {
		got := explain(tc.mode, tc.err).Error()
		if !strings.HasPrefix(got, tc.err.Error()) {
			t.Errorf("%s %v: %q lost the original error", tc.mode, tc.err, got)
		}
		if tc.want == "" && got != tc.err.Error() || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s %v: %q, want a hint containing %q", tc.mode, tc.err, got, tc.want)
		}
	}
}
