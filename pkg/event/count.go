package event

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Count is one entry of the in-kernel connect counters (count mode).
type Count struct {
	Family uint16
	Saddr  netip.Addr
	Daddr  netip.Addr
	Dport  uint16
	N      uint64
}

// CountKeySize is sizeof(struct count_key) in c/tcpconnect.h.
const CountKeySize = 40

// DecodeCount builds a Count from a raw struct count_key and its value.
func DecodeCount(key []byte, n uint64) (Count, error) {
	if len(key) != CountKeySize {
		return Count{}, fmt.Errorf("malformed count key: %d bytes, want %d", len(key), CountKeySize)
	}
	le := binary.LittleEndian
	c := Count{Family: uint16(le.Uint32(key[32:])), Dport: uint16(le.Uint32(key[36:])), N: n}
	switch c.Family {
	case AFInet:
		c.Saddr = netip.AddrFrom4([4]byte(key[0:4]))
		c.Daddr = netip.AddrFrom4([4]byte(key[16:20]))
	case AFInet6:
		c.Saddr = netip.AddrFrom16([16]byte(key[0:16]))
		c.Daddr = netip.AddrFrom16([16]byte(key[16:32]))
	default:
		return Count{}, fmt.Errorf("malformed count key: address family %d", c.Family)
	}
	return c, nil
}
