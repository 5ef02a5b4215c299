package tracer

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// tracefsDir is where libbpf looks up tracepoint ids when debugfs is not
// mounted.
const tracefsDir = "/sys/kernel/tracing"

// withTracefs runs attach with tracefs available. Minimal systems (and
// this project's CI machines) may not mount it; then it is mounted for the
// attach only and detached again at once: the attached tracepoint does not
// need it, and the system is left as it was found.
func withTracefs(attach func() error) error {
	for _, d := range []string{tracefsDir, "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(d + "/events"); err == nil {
			return attach()
		}
	}
	if err := unix.Mount("nodev", tracefsDir, "tracefs", 0, ""); err != nil {
		return fmt.Errorf("tracefs is not mounted and mounting it failed (%v; that needs CAP_SYS_ADMIN): mount -t tracefs nodev %s", err, tracefsDir)
	}
	err := attach()
	if uerr := unix.Unmount(tracefsDir, unix.MNT_DETACH); uerr != nil {
		err = errors.Join(err, fmt.Errorf("unmount %s: %w", tracefsDir, uerr))
	}
	return err
}
