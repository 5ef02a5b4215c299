package cli

import (
	"os"
	"runtime"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// TuneRuntime sets the Go runtime up for a tracer: one goroutine reads
// the rings, and everything else (signals, a scrape) is rare. Call it
// first in main, before anything large is touched (bench/experiments/
// memory.md and adaptive-wakeup.md have the figures).
//
//   - THP off: on kernels with THP "always" a touched 2 MiB region of the
//     Go heap or of libbpf's BTF parse may become one huge page, which
//     moved the peak in 2 MiB steps.
//   - GC at 50%: the heap stays closer to the live data (a batch of
//     events).
//   - One P, unless GOMAXPROCS says otherwise: each wake-up of the reader
//     from its blocking epoll_wait then costs the runtime less scheduler
//     traffic (no idle P to hand off to and spin up), 40% fewer system
//     calls per wake-up at 100 connects/s on the host.
func TuneRuntime() {
	_ = unix.Prctl(unix.PR_SET_THP_DISABLE, 1, 0, 0, 0)
	debug.SetGCPercent(50)
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
