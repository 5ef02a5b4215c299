package tracer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"unsafe"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// Counts reads the in-kernel connect counters that count mode (Config.Count)
// fills, sorted as bcc prints them: IPv4 before IPv6, then by count, most
// first (ties by address and port, so the order is stable).
func (t *Tracer) Counts() ([]event.Count, error) {
	if t.mod == nil {
		return nil, errors.New("counts: tracer is closed")
	}
	m, err := t.mod.GetMap(mapCounts)
	if err != nil {
		return nil, fmt.Errorf("counts map: %w", err)
	}
	var out []event.Count
	it := m.Iterator()
	for it.Next() {
		key := it.Key()
		val, err := m.GetValue(unsafe.Pointer(&key[0]))
		if err != nil {
			// Deleted between the iteration and the lookup: nothing
			// deletes from this map, but be safe.
			continue
		}
		if len(val) < 8 {
			return nil, fmt.Errorf("counts: value of %d bytes, want 8", len(val))
		}
		c, err := event.DecodeCount(key, binary.LittleEndian.Uint64(val))
		if err != nil {
			return nil, fmt.Errorf("counts: %w", err)
		}
		out = append(out, c)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("counts: iterate: %w", err)
	}
	SortCounts(out)
	return out, nil
}

// SortCounts orders counts as Counts returns them.
func SortCounts(c []event.Count) {
	sort.SliceStable(c, func(i, j int) bool {
		a, b := c[i], c[j]
		if a.Family != b.Family {
			return a.Family == event.AFInet
		}
		if a.N != b.N {
			return a.N > b.N
		}
		if x := a.Saddr.Compare(b.Saddr); x != 0 {
			return x < 0
		}
		if x := a.Daddr.Compare(b.Daddr); x != 0 {
			return x < 0
		}
		return a.Dport < b.Dport
	})
}
