package tracer

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// TestSortCounts: bcc's order: the IPv4 table, then IPv6, each by count,
// most first; ties by address and port so that the output is stable.
func TestSortCounts(t *testing.T) {
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	c := []event.Count{
		{Family: event.AFInet6, Saddr: a("::1"), Daddr: a("::1"), Dport: 1, N: 100},
		{Family: event.AFInet, Saddr: a("10.0.0.2"), Daddr: a("10.0.0.9"), Dport: 80, N: 5},
		{Family: event.AFInet, Saddr: a("10.0.0.1"), Daddr: a("10.0.0.9"), Dport: 80, N: 5},
		{Family: event.AFInet, Saddr: a("10.0.0.1"), Daddr: a("10.0.0.9"), Dport: 443, N: 7},
		{Family: event.AFInet6, Saddr: a("::1"), Daddr: a("::2"), Dport: 1, N: 3},
	}
	SortCounts(c)
	want := []string{"10.0.0.1:443", "10.0.0.1:80", "10.0.0.2:80", "::1:1/100", "::1:1/3"}
	for i, x := range c {
		got := x.Saddr.String() + ":" + strconv.Itoa(int(x.Dport))
		if x.Family == event.AFInet6 {
			got += "/" + strconv.Itoa(int(x.N))
		}
		if got != want[i] {
			t.Errorf("%d: %s, want %s (%+v)", i, got, want[i], c)
		}
	}
}
