package tracer

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// TracefsError says why the tracefs tracepoint cannot attach. The
// tracepoint mode tries a raw tracepoint first, which needs no tracefs; the
// host's tracefs is never mounted or unmounted by the tracer.
type TracefsError struct {
	Dir        string
	Unreadable bool // mounted, but this process may not read it
	Err        error
}

func (e *TracefsError) Error() string {
	if e.Unreadable {
		return fmt.Sprintf("tracefs at %s is mounted but not readable (%v): reading it needs CAP_DAC_READ_SEARCH", e.Dir, e.Err)
	}
	return fmt.Sprintf("tracefs is not mounted (mount -t tracefs nodev %s)", e.Dir)
}

func (e *TracefsError) Unwrap() error { return e.Err }

// tracefsReady checks that libbpf can look up a tracepoint's id.
func tracefsReady() error {
	for _, d := range tracefsDirs {
		var st unix.Statfs_t
		if err := unix.Statfs(d, &st); err != nil || st.Type != unix.TRACEFS_MAGIC {
			continue
		}
		if _, err := os.Stat(d + "/events"); err != nil {
			if errors.Is(err, os.ErrPermission) {
				return &TracefsError{Dir: d, Unreadable: true, Err: err}
			}
			continue
		}
		return nil
	}
	return &TracefsError{Dir: tracefsDirs[0], Err: unix.ENOENT}
}
