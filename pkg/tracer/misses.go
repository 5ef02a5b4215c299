package tracer

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Misses is how often the kernel skipped the kprobe mode's probes: a
// kretprobe misses when more threads are inside the probed function at once
// than it has instances for (maxactive), a kprobe when it fires while
// another kprobe runs on the same CPU. Each miss is a connect that was not
// reported, and that the perf buffer's loss count does not include.
type Misses struct {
	N     uint64
	Known bool   // false when the kernel does not say
	Why   string // when !Known: why not
	// Probe is the kernel's own miss count for the probes, from their
	// link info (6.7+), when it has one. It covers every process that
	// went through the probes, not only the traced ones.
	Probe *uint64
}

// String renders the exit report's wording.
func (m Misses) String() string {
	if !m.Known {
		return "kretprobe misses unknown: " + m.Why
	}
	s := fmt.Sprintf("%d kretprobe misses", m.N)
	if m.Probe != nil {
		s += fmt.Sprintf(" (the kernel's count for the probes, all processes: %d)", *m.Probe)
	}
	return s
}

// Offsets in struct bpf_link_info (include/uapi/linux/bpf.h).
const (
	linkInfoType       = 0
	linkInfoPerfType   = 16 // perf_event.type
	linkInfoKprobeMiss = 48 // perf_event.kprobe.missed, kernel 6.7+
)

// KprobeMisses returns how many connects the kprobe mode did not see
// because their kretprobe did not fire. The BPF programs count the
// connects the kprobe stored and the kretprobe found again: that works on
// every kernel and, like -p, counts only the traced connects. Should the
// counters be unreadable, the kernel's own count is used: each kprobe
// link's info (perf_event.kprobe.missed, kernel 6.7 and later), or for
// legacy tracefs kprobes kprobe_profile. It returns a zero, known count in
// the other modes, which have no kprobes. Read it after the load stops: a
// connect still inside tcp_v4_connect would count as a miss.
func (t *Tracer) KprobeMisses() Misses {
	if t.mode != ModeKprobe {
		return Misses{Known: true}
	}
	probe, linkErr := t.linkMisses()
	ks, err := t.Stats()
	if err == nil {
		if ks.KprobeEntries < ks.Kretprobes {
			return Misses{Why: fmt.Sprintf("inconsistent counters: %d entries, %d returns", ks.KprobeEntries, ks.Kretprobes)}
		}
		m := Misses{N: ks.KprobeEntries - ks.Kretprobes, Known: true}
		if linkErr == "" {
			m.Probe = &probe
		}
		return m
	}
	if linkErr == "" {
		return Misses{N: probe, Known: true}
	}
	// libbpf names legacy kprobes libbpf_<pid>_<func>_....
	if n, ok := legacyMissed(os.Getpid()); ok {
		return Misses{N: n, Known: true}
	}
	return Misses{Why: err.Error() + "; " + linkErr}
}

// linkMisses sums the kernel's miss counts of the kprobe links; the
// string says why there are none.
func (t *Tracer) linkMisses() (uint64, string) {
	var total uint64
	for _, l := range t.links {
		if l == nil {
			continue
		}
		n, ok, reason := linkMissed(l.FileDescriptor())
		if !ok {
			return 0, reason
		}
		total += n
	}
	return total, ""
}

// linkMissed returns the missed count of one kprobe link.
func linkMissed(fd int) (uint64, bool, string) {
	if fd < 0 {
		return 0, false, "no link"
	}
	var buf [256]byte // larger than any kernel's struct bpf_link_info; zeroed
	attr := struct {
		FD, InfoLen uint32
		Info        uint64
	}{uint32(fd), uint32(len(buf)), uint64(uintptr(unsafe.Pointer(&buf[0])))}
	_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_OBJ_GET_INFO_BY_FD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	if errno != 0 {
		// Kernels before 5.15 attach kprobes without a BPF link: the fd
		// is the perf event's, which has no BPF info.
		return 0, false, fmt.Sprintf("the kernel has no BPF link info for kprobes (%v); kernel 6.7 or later reports misses", errno)
	}
	return parseLinkMissed(buf[:], KernelAtLeast(6, 7))
}

// parseLinkMissed reads the missed count from a struct bpf_link_info;
// hasMissed says whether the kernel is recent enough to fill it in.
func parseLinkMissed(buf []byte, hasMissed bool) (uint64, bool, string) {
	le := binary.LittleEndian
	if le.Uint32(buf[linkInfoType:]) != unix.BPF_LINK_TYPE_PERF_EVENT {
		return 0, true, "" // not a kprobe (e.g. the outcome tracepoint)
	}
	switch le.Uint32(buf[linkInfoPerfType:]) {
	case unix.BPF_PERF_EVENT_KPROBE, unix.BPF_PERF_EVENT_KRETPROBE:
	case 0: // kernels before 6.6 fill no perf_event link info
		return 0, false, "the kernel's BPF link info has no kprobe details; kernel 6.7 or later reports misses"
	default:
		return 0, true, ""
	}
	// 6.6 has the kprobe details but not yet the missed field: its bytes
	// stay zero, which would read as "no misses".
	if !hasMissed {
		return 0, false, "the kernel's BPF link info has no missed count; kernel 6.7 or later reports it"
	}
	return le.Uint64(buf[linkInfoKprobeMiss:]), true, ""
}

// legacyMissed sums the nmissed column of kprobe_profile for the legacy
// kprobes this process created.
func legacyMissed(pid int) (uint64, bool) {
	prefix := "libbpf_" + strconv.Itoa(pid) + "_"
	for _, dir := range tracefsDirs {
		f, err := os.Open(dir + "/kprobe_profile")
		if err != nil {
			continue
		}
		defer f.Close()
		var total uint64
		found := false
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text()) // name hits nmissed
			if len(fields) != 3 || !strings.HasPrefix(fields[0], prefix) {
				continue
			}
			n, err := strconv.ParseUint(fields[2], 10, 64)
			if err != nil {
				continue
			}
			total += n
			found = true
		}
		return total, found
	}
	return 0, false
}
