package tracer

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// privilegeHint names the capability a process without full root lacks
// when the kernel refused it something that CAP_BPF and CAP_PERFMON do not
// cover; "" when that is not the reason.
func privilegeHint(err error) string {
	// libbpfgo formats some errnos (kprobe attach) with %v: match the text.
	msg := strings.ToLower(err.Error())
	if !errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EPERM) &&
		!strings.Contains(msg, "permission denied") && !strings.Contains(msg, "operation not permitted") {
		return ""
	}
	eff, cerr := effectiveCaps()
	if cerr != nil {
		return ""
	}
	has := func(c uint) bool { return eff&(1<<c) != 0 }
	// (An unreadable tracefs has its own message: TracefsError.)
	var missing []string
	// Debian and Ubuntu kernels add perf_event_paranoid level 3, at which
	// opening any perf event (a kprobe, a tracepoint, the perf buffer)
	// needs CAP_SYS_ADMIN, whatever CAP_PERFMON says.
	if b, err := os.ReadFile("/proc/sys/kernel/perf_event_paranoid"); err == nil && !has(unix.CAP_SYS_ADMIN) {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 2 {
			missing = append(missing, fmt.Sprintf("missing CAP_SYS_ADMIN: kernel.perf_event_paranoid is %d, "+
				"which keeps perf events (kprobes, tracepoints, the perf buffer) from anyone without CAP_SYS_ADMIN; "+
				"or set it to 2 (sysctl kernel.perf_event_paranoid=2)", n))
		}
	}
	// Before 5.11 the kernel charges BPF maps to RLIMIT_MEMLOCK; libbpf
	// raises the limit when it may, which needs CAP_SYS_RESOURCE.
	if !KernelAtLeast(5, 11) && !has(unix.CAP_SYS_RESOURCE) {
		var rl unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl) == nil && rl.Cur != unix.RLIM_INFINITY {
			missing = append(missing, fmt.Sprintf("missing CAP_SYS_RESOURCE: kernels before 5.11 charge BPF maps to "+
				"the locked-memory limit (now %d KiB), which only CAP_SYS_RESOURCE may raise; or raise it first (ulimit -l)", rl.Cur>>10))
		}
	}
	if !has(unix.CAP_SYS_ADMIN) && !(has(unix.CAP_BPF) && has(unix.CAP_PERFMON)) {
		missing = append(missing, "missing CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)")
	}
	if len(missing) == 0 {
		return ""
	}
	return strings.Join(missing, "; ") + ": run as root, or grant what is missing"
}
