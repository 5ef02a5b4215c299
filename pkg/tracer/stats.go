package tracer

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	bpf "github.com/aquasecurity/libbpfgo"
)

// Slots of the BPF stats map, as STAT_* in c/tcpconnect.h.
const (
	statKprobeEntry  = 0
	statKretprobe    = 1
	statOutputFail   = 2
	statInflightFull = 3
	statOutcomeFull  = 4
	statCountFull    = 5
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
	// InflightFull counts connects the kprobe could not store for its
	// kretprobe (kprobe mode): not reported.
	InflightFull uint64
	// OutcomeFull counts connects whose handshake could not be tracked
	// (-O, or -L in tracepoint mode): not reported.
	OutcomeFull uint64
	// CountFull counts connects count mode could not count: its table
	// was full.
	CountFull uint64
}

// Stats reads the BPF programs' own counters.
func (t *Tracer) Stats() (KernelStats, error) {
	var ks KernelStats
	m, err := t.statsMap()
	if err != nil {
		return ks, err
	}
	for _, f := range []struct {
		slot uint32
		dst  *uint64
	}{
		{statKprobeEntry, &ks.KprobeEntries},
		{statKretprobe, &ks.Kretprobes},
		{statOutputFail, &ks.OutputFailures},
		{statInflightFull, &ks.InflightFull},
		{statOutcomeFull, &ks.OutcomeFull},
		{statCountFull, &ks.CountFull},
	} {
		n, err := stat(m, f.slot)
		if err != nil {
			return ks, err
		}
		*f.dst = n
	}
	return ks, nil
}

// statsMap is the BPF programs' counters (STAT_* slots).
func (t *Tracer) statsMap() (*bpf.BPFMap, error) {
	m, err := t.mod.GetMap(mapStats)
	if err != nil {
		return nil, fmt.Errorf("stats map: %w", err)
	}
	return m, nil
}

// stat reads one slot of the stats map.
func stat(m *bpf.BPFMap, slot uint32) (uint64, error) {
	b, err := m.GetValue(unsafe.Pointer(&slot))
	if err != nil {
		return 0, fmt.Errorf("read stats slot %d: %w", slot, err)
	}
	return binary.LittleEndian.Uint64(b), nil
}

// Pending returns how many traced connects are still waiting for their
// handshake to end (-O, or -L in tracepoint mode): read at exit, they are
// connects that were made but not reported.
func (t *Tracer) Pending() (uint64, error) {
	if !t.Outcome {
		return 0, nil
	}
	m, err := t.mod.GetMap(mapSynSent)
	if err != nil {
		return 0, fmt.Errorf("syn_sent map: %w", err)
	}
	var n uint64
	it := m.Iterator()
	for it.Next() {
		n++
	}
	if err := it.Err(); err != nil {
		return n, fmt.Errorf("syn_sent: iterate: %w", err)
	}
	return n, nil
}

// Dropped returns how many samples the BPF programs could not write to the
// perf buffer (stream.Dropper).
// It is read after every poll: one slot, one system call.
func (t *Tracer) Dropped() (uint64, error) {
	m, err := t.statsMap()
	if err != nil {
		return 0, err
	}
	return stat(m, statOutputFail)
}
