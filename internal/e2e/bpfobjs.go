package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Counting kernel objects without bpftool (the VM guests have none): BPF
// program, map and link ids come from the BPF_*_GET_NEXT_ID commands, and
// which process holds which object from /proc/*/fdinfo. Kprobe events come
// from tracefs.

// ObjKind is a kind of BPF object.
type ObjKind string

// Object kinds.
const (
	KindProg ObjKind = "prog"
	KindMap  ObjKind = "map"
	KindLink ObjKind = "link"
)

var nextIDCmd = map[ObjKind]uintptr{KindProg: unix.BPF_PROG_GET_NEXT_ID, KindMap: unix.BPF_MAP_GET_NEXT_ID, KindLink: unix.BPF_LINK_GET_NEXT_ID}

// BPFIDs lists the ids of every object of one kind in the kernel.
func BPFIDs(kind ObjKind) ([]uint32, error) {
	var ids []uint32
	var attr struct {
		StartID, NextID, OpenFlags uint32
	}
	for {
		_, _, errno := unix.Syscall(unix.SYS_BPF, nextIDCmd[kind], uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		if errno == unix.ENOENT {
			return ids, nil
		}
		if errno == unix.EINVAL && kind == KindLink {
			return nil, nil // kernel before 5.8: no link ids
		}
		if errno != 0 {
			return ids, fmt.Errorf("bpf %s get_next_id: %w", kind, errno)
		}
		ids = append(ids, attr.NextID)
		attr.StartID = attr.NextID
	}
}

// Snapshot is what the kernel holds at one moment.
type Snapshot struct {
	IDs map[ObjKind][]uint32
	// KprobeEvents are the lines of tracefs kprobe_events (legacy kprobes,
	// as libbpf creates them when the kernel has no kprobe PMU).
	KprobeEvents []string
	// KprobeDirs are the entries of tracefs events/kprobes.
	KprobeDirs []string
}

// TracefsDirs are where tracefs may be mounted.
var TracefsDirs = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// Take records the objects now in the kernel.
func Take() (Snapshot, error) {
	s := Snapshot{IDs: map[ObjKind][]uint32{}}
	for _, k := range []ObjKind{KindProg, KindMap, KindLink} {
		ids, err := BPFIDs(k)
		if err != nil {
			return s, err
		}
		s.IDs[k] = ids
	}
	for _, d := range TracefsDirs {
		if b, err := os.ReadFile(filepath.Join(d, "kprobe_events")); err == nil {
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if l != "" {
					s.KprobeEvents = append(s.KprobeEvents, l)
				}
			}
			if ents, err := os.ReadDir(filepath.Join(d, "events", "kprobes")); err == nil {
				for _, e := range ents {
					if e.IsDir() {
						s.KprobeDirs = append(s.KprobeDirs, e.Name())
					}
				}
			}
			break
		}
	}
	return s, nil
}

// Counts is a one-line summary, for logs.
func (s Snapshot) Counts() string {
	return fmt.Sprintf("progs=%d maps=%d links=%d kprobe_events=%d events/kprobes=%d",
		len(s.IDs[KindProg]), len(s.IDs[KindMap]), len(s.IDs[KindLink]), len(s.KprobeEvents), len(s.KprobeDirs))
}

// Held is what one process holds open, read from /proc/PID/fdinfo.
type Held struct {
	IDs        map[ObjKind][]uint32
	PerfEvents int // anon_inode:[perf_event] fds (kprobe/tracepoint attachments)
}

var fdinfoKey = map[string]ObjKind{"prog_id:": KindProg, "map_id:": KindMap, "link_id:": KindLink}

// HeldBy lists the BPF objects and perf events that process pid holds.
// A link's program counts as held too.
func HeldBy(pid int) (Held, error) {
	h := Held{IDs: map[ObjKind][]uint32{}}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return h, err
	}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || !strings.HasPrefix(target, "anon_inode:") {
			continue
		}
		if target == "anon_inode:[perf_event]" {
			h.PerfEvents++
			continue
		}
		f, err := os.Open(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) != 2 {
				continue
			}
			if k, ok := fdinfoKey[fields[0]]; ok {
				if id, err := strconv.ParseUint(fields[1], 10, 32); err == nil && !slices.Contains(h.IDs[k], uint32(id)) {
					h.IDs[k] = append(h.IDs[k], uint32(id))
				}
			}
		}
		f.Close()
	}
	return h, nil
}

// heldByAll merges what every live process holds.
func heldByAll() map[ObjKind]map[uint32]bool {
	all := map[ObjKind]map[uint32]bool{KindProg: {}, KindMap: {}, KindLink: {}}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		h, err := HeldBy(pid)
		if err != nil {
			continue
		}
		for k, ids := range h.IDs {
			for _, id := range ids {
				all[k][id] = true
			}
		}
	}
	return all
}

// libbpf names legacy kprobe events libbpf_<pid>_<func>_0x<off>_<n>.
var libbpfEvent = regexp.MustCompile(`libbpf_(\d+)_`)

// Leaks compares the kernel now with the baseline and lists what was left
// behind. It is exact even while other processes load BPF objects of their
// own: a leak is
//   - a program or link that did not exist at the baseline and that no live
//     process holds (through an fd, or a link's program): nothing can ever
//     free it;
//   - any object listed in gone (e.g. what a tracer held before it exited)
//     that still exists;
//   - a kprobe event of a libbpf process that is no longer alive.
func Leaks(base Snapshot, gone Held) ([]string, error) {
	now, err := Take()
	if err != nil {
		return nil, err
	}
	var leaks []string
	held := heldByAll()
	for _, k := range []ObjKind{KindProg, KindLink} {
		old := set(base.IDs[k])
		for _, id := range now.IDs[k] {
			if !old[id] && !held[k][id] {
				leaks = append(leaks, fmt.Sprintf("%s %d created since the baseline, held by no process", k, id))
			}
		}
	}
	for k, ids := range gone.IDs {
		exists := set(now.IDs[k])
		for _, id := range ids {
			if exists[id] {
				leaks = append(leaks, fmt.Sprintf("%s %d of the stopped tracer still exists", k, id))
			}
		}
	}
	for _, l := range append(append([]string(nil), now.KprobeEvents...), now.KprobeDirs...) {
		if m := libbpfEvent.FindStringSubmatch(l); m != nil {
			if _, err := os.Stat("/proc/" + m[1]); err != nil {
				leaks = append(leaks, fmt.Sprintf("kprobe event of dead process %s: %s", m[1], l))
			}
		}
	}
	sort.Strings(leaks)
	return leaks, nil
}

// RequireNoLeaks waits up to timeout (the kernel frees some objects
// asynchronously, after an RCU grace period) for Leaks to come back empty,
// and fails the test with what is left otherwise.
func RequireNoLeaks(t testing.TB, base Snapshot, gone Held, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		leaks, err := Leaks(base, gone)
		if err != nil {
			t.Fatal(err)
		}
		if len(leaks) == 0 {
			return
		}
		if time.Now().After(deadline) {
			now, _ := Take()
			t.Fatalf("left behind after %v:\n  %s\nbaseline: %s\nnow:      %s", timeout,
				strings.Join(leaks, "\n  "), base.Counts(), now.Counts())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func set(ids []uint32) map[uint32]bool {
	m := make(map[uint32]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
