package tracer

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// Slots of the BPF stats map, as STAT_* in c/tcpconnect.h.
const (
	statKprobeEntry = 0
	statKretprobe   = 1
	statOutputFail  = 2
)

// KernelStats are counters the BPF programs keep about themselves.
type KernelStats struct {
	// KprobeEntries and Kretprobes count connects stored by the kprobe
	// and found again by the kretprobe: the difference is kretprobe
	// misses, on every kernel.
	KprobeEntries, Kretprobes uint64
	// OutputFailures counts samples bpf_perf_event_output could not
	// write (ring full): lost events, including those perf has not yet
	// reported with a loss record.
	OutputFailures uint64
}

// Stats reads the BPF programs' own counters.
func (t *Tracer) Stats() (KernelStats, error) {
	var ks KernelStats
	m, err := t.mod.GetMap("stats")
	if err != nil {
		return ks, fmt.Errorf("stats map: %w", err)
	}
	for slot, dst := range map[uint32]*uint64{
		statKprobeEntry: &ks.KprobeEntries,
		statKretprobe:   &ks.Kretprobes,
		statOutputFail:  &ks.OutputFailures,
	} {
		key := slot
		b, err := m.GetValue(unsafe.Pointer(&key))
		if err != nil {
			return ks, fmt.Errorf("read stats slot %d: %w", slot, err)
		}
		*dst = binary.LittleEndian.Uint64(b)
	}
	return ks, nil
}
