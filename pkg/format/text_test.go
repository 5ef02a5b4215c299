package format

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// The expected strings below are bcc tools/tcpconnect.py's format strings
// applied by hand: header "%-7s %-12s %-2s %-16s %-16s %-6s" (or with
// "%-6s" LPORT after SADDR), preceded by "%-9s" TIME(s) and "%-6s" UID;
// rows "%-7d %-12.12s %-2d %-16s %-16s %-6d %s" whose last column (the
// DNS query) is empty, so every row ends with a space.

func ev(t *testing.T, pid uint32, comm, src, dst string, sport, dport uint16) event.Event {
	t.Helper()
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	e := event.Event{PID: pid, TID: pid, UID: 1000, Sport: sport, Dport: dport, Kind: event.KindConnect}
	copy(e.Comm[:], comm)
	if s.Is4() {
		e.Family = event.AFInet
		a, b := s.As4(), d.As4()
		copy(e.Saddr[:], a[:])
		copy(e.Daddr[:], b[:])
	} else {
		e.Family = event.AFInet6
		a, b := s.As16(), d.As16()
		copy(e.Saddr[:], a[:])
		copy(e.Daddr[:], b[:])
	}
	return e
}

func TestTCPConnectHeaders(t *testing.T) {
	for _, tc := range []struct {
		opt  TextOptions
		want string
	}{
		{TextOptions{}, "PID     COMM         IP SADDR            DADDR            DPORT \n"},
		{TextOptions{Timestamps: true}, "TIME(s)  PID     COMM         IP SADDR            DADDR            DPORT \n"},
		{TextOptions{UID: true}, "UID   PID     COMM         IP SADDR            DADDR            DPORT \n"},
		{TextOptions{Timestamps: true, UID: true, LPort: true}, "TIME(s)  UID   PID     COMM         IP SADDR            LPORT  DADDR            DPORT \n"},
		{TextOptions{Failed: true}, "PID     COMM         IP SADDR            DADDR            DPORT  ERR\n"},
		{TextOptions{Outcome: true}, "PID     COMM         IP SADDR            DADDR            DPORT  OUTCOME      LAT(ms)\n"},
	} {
		tc.opt.Layout = LayoutTCPConnect
		if got := NewText(tc.opt).Header(); got != tc.want {
			t.Errorf("%+v:\n got %q\nwant %q", tc.opt, got, tc.want)
		}
	}
	if Banner != "Tracing connect ... Hit Ctrl-C to end\n" {
		t.Errorf("banner %q", Banner)
	}
}

func TestTCPConnectRows(t *testing.T) {
	v4 := ev(t, 1479, "telnet", "127.0.0.1", "127.0.0.1", 50522, 23)
	v6 := ev(t, 2024, "curl", "fe80::1", "2001:db8::1234:5678", 40000, 443)
	long := ev(t, 4194304, "a-very-long-name", "10.0.0.1", "10.0.0.2", 1, 65535)
	for _, tc := range []struct {
		opt  TextOptions
		e    event.Event
		want string
	}{
		{TextOptions{}, v4, "1479    telnet       4  127.0.0.1        127.0.0.1        23     \n"},
		{TextOptions{}, v6, "2024    curl         6  fe80::1          2001:db8::1234:5678 443    \n"},
		{TextOptions{}, long, "4194304 a-very-long- 4  10.0.0.1         10.0.0.2         65535  \n"},
		{TextOptions{LPort: true}, v4, "1479    telnet       4  127.0.0.1        50522  127.0.0.1        23     \n"},
		{TextOptions{UID: true}, v4, "1000  1479    telnet       4  127.0.0.1        127.0.0.1        23     \n"},
		{TextOptions{Timestamps: true}, v4, "0.000    1479    telnet       4  127.0.0.1        127.0.0.1        23     \n"},
		{TextOptions{Failed: true}, v4, "1479    telnet       4  127.0.0.1        127.0.0.1        23     -\n"},
	} {
		tc.opt.Layout = LayoutTCPConnect
		if got := NewText(tc.opt).Row(&tc.e); got != tc.want {
			t.Errorf("%+v:\n got %q\nwant %q", tc.opt, got, tc.want)
		}
	}
}

func TestFailedAndOutcomeColumns(t *testing.T) {
	failed := ev(t, 7, "nc", "127.0.0.1", "127.0.0.1", 0, 80)
	failed.Ret, failed.Flags = -99, event.FlagRetKnown // EADDRNOTAVAIL
	est := ev(t, 7, "nc", "127.0.0.1", "127.0.0.1", 4000, 80)
	est.Kind, est.Flags, est.LatNs = event.KindOutcome, event.FlagEstablished, 1_234_567
	refused := est
	refused.Flags, refused.Ret, refused.LatNs = 0, -111, 50_000
	timedOut := est
	timedOut.Flags, timedOut.Ret, timedOut.LatNs = event.FlagRetKnown, -110, 3_001_000_000
	closed := est
	closed.Flags, closed.Ret = 0, 0
	base := "7       nc           4  127.0.0.1        127.0.0.1        80     "
	for _, tc := range []struct {
		opt  TextOptions
		e    event.Event
		want string
	}{
		{TextOptions{Failed: true}, failed, base + "EADDRNOTAVAIL\n"},
		{TextOptions{Outcome: true}, est, base + "ESTABLISHED  1.235\n"},
		{TextOptions{Outcome: true}, refused, base + "ECONNREFUSED 0.050\n"},
		{TextOptions{Outcome: true}, timedOut, base + "ETIMEDOUT    3001.000\n"},
		{TextOptions{Outcome: true}, closed, base + "CLOSED       1.235\n"},
		{TextOptions{Outcome: true, Failed: true}, failed, base + "EADDRNOTAVAIL -\n"},
	} {
		tc.opt.Layout = LayoutTCPConnect
		if got := NewText(tc.opt).Row(&tc.e); got != tc.want {
			t.Errorf("%+v %+v:\n got %q\nwant %q", tc.opt, tc.e, got, tc.want)
		}
	}
}

// TestV4LayoutOptionalColumns: tcpv4connect's optional columns go where
// tcpconnect has them; without options it is the reference layout
// (reference_test.go).
func TestV4LayoutOptionalColumns(t *testing.T) {
	e := ev(t, 1469, "curl", "10.201.219.236", "54.245.105.25", 0, 80)
	f := NewText(TextOptions{Layout: LayoutTCPV4Connect, LPort: true, UID: true, Failed: true})
	if got, want := f.Header(), "UID   PID    COMM         SADDR            LPORT  DADDR            DPORT ERR\n"; got != want {
		t.Errorf("header\n got %q\nwant %q", got, want)
	}
	e.Sport = 43210
	if got, want := f.Row(&e), "1000  1469   curl         10.201.219.236   43210  54.245.105.25    80   -\n"; got != want {
		t.Errorf("row\n got %q\nwant %q", got, want)
	}
}

// TestCountTable: bcc prints a blank line, then "%-25s %-25s %-20s %-10s"
// and rows "%-25s %-25s %-20s %-10d".
func TestCountTable(t *testing.T) {
	got := CountTable([]event.Count{
		{Family: event.AFInet, Saddr: netip.MustParseAddr("10.0.0.1"), Daddr: netip.MustParseAddr("10.0.0.2"), Dport: 443, N: 12},
		{Family: event.AFInet6, Saddr: netip.MustParseAddr("::1"), Daddr: netip.MustParseAddr("::1"), Dport: 8080, N: 3},
	})
	want := "\n" +
		"LADDR                     RADDR                     RPORT                CONNECTS  \n" +
		"10.0.0.1                  10.0.0.2                  443                  12        \n" +
		"::1                       ::1                       8080                 3         \n"
	if got != want {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
	if got := CountTable(nil); !strings.HasPrefix(got, "\nLADDR") || strings.Count(got, "\n") != 2 {
		t.Errorf("empty table %q", got)
	}
}

// TestParentColumns: --parent puts PPID and PCOMM after COMM, as wide as
// PID and COMM, in both layouts; the other columns keep bcc's format.
func TestParentColumns(t *testing.T) {
	e := ev(t, 1479, "telnet", "127.0.0.1", "127.0.0.1", 50522, 23)
	e.PPID = 1200
	copy(e.PComm[:], "ba\x1bsh")
	for _, tc := range []struct {
		layout    Layout
		hdr, want string
	}{
		{LayoutTCPConnect,
			"PID     COMM         PPID    PCOMM        IP SADDR            DADDR            DPORT \n",
			"1479    telnet       1200    ba?sh        4  127.0.0.1        127.0.0.1        23     \n"},
		{LayoutTCPV4Connect,
			"PID    COMM         PPID   PCOMM        SADDR            DADDR            DPORT\n",
			"1479   telnet       1200   ba?sh        127.0.0.1        127.0.0.1        23  \n"},
	} {
		f := NewText(TextOptions{Layout: tc.layout, Parent: true})
		if got := f.Header(); got != tc.hdr {
			t.Errorf("layout %d header:\n got %q\nwant %q", tc.layout, got, tc.hdr)
		}
		if got := f.Row(&e); got != tc.want {
			t.Errorf("layout %d row:\n got %q\nwant %q", tc.layout, got, tc.want)
		}
	}
}
