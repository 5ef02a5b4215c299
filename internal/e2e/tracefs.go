package e2e

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// EnsureTracefs mounts tracefs at /sys/kernel/tracing for the test if no
// tracefs is visible, and detaches it again when the test ends.
func EnsureTracefs(t testing.TB) {
	t.Helper()
	for _, d := range []string{"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"} {
		if _, err := os.Stat(d); err == nil {
			return
		}
	}
	if err := unix.Mount("nodev", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
		t.Fatalf("mount tracefs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount("/sys/kernel/tracing", unix.MNT_DETACH) })
}
