package format

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// reference reads the blocks of bcc's example output (a verbatim copy in
// testdata, see testdata/README.md), the project's reference: the header
// and rows printed after each command.
func reference(t *testing.T) map[string][]string {
	t.Helper()
	path := filepath.Join("testdata", "tcpv4connect_example.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("reference output: %v", err)
	}
	defer f.Close()
	blocks := map[string][]string{}
	cmd, collecting := "", false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "# ./tcpv4connect"):
			cmd = strings.TrimSpace(strings.TrimPrefix(l, "# ./tcpv4connect"))
			collecting = cmd != "-h"
		case l == "":
			collecting = false
		case collecting:
			blocks[cmd] = append(blocks[cmd], l)
		}
	}
	if len(blocks[""]) != 4 || len(blocks["-t"]) != 7 {
		t.Fatalf("could not find both example blocks in %s: %q", path, blocks)
	}
	return blocks
}

// eventFromRow builds the event that bcc printed as row (without TIME).
func eventFromRow(t *testing.T, row string) event.Event {
	t.Helper()
	f := strings.Fields(row)
	pid, _ := strconv.Atoi(f[0])
	port, _ := strconv.Atoi(f[4])
	e := event.Event{PID: uint32(pid), Family: event.AFInet, Dport: uint16(port), Kind: event.KindConnect}
	copy(e.Comm[:], f[1])
	for i, a := range []string{f[2], f[3]} {
		var b [4]byte
		for j, p := range strings.Split(a, ".") {
			n, _ := strconv.Atoi(p)
			b[j] = byte(n)
		}
		if i == 0 {
			copy(e.Saddr[:], b[:])
		} else {
			copy(e.Daddr[:], b[:])
		}
	}
	return e
}

func TestV4ConnectMatchesReference(t *testing.T) {
	blocks := reference(t)
	f := v4Text(false)
	if got := f.Header(); got != blocks[""][0]+"\n" {
		t.Errorf("header\n got %q\nwant %q", got, blocks[""][0]+"\n")
	}
	for _, want := range blocks[""][1:] {
		e := eventFromRow(t, want)
		if got := f.Row(&e); got != want+"\n" {
			t.Errorf("row\n got %q\nwant %q", got, want+"\n")
		}
	}
}

func TestV4ConnectTimestampsMatchReference(t *testing.T) {
	blocks := reference(t)
	f := v4Text(true)
	if got := f.Header(); got != blocks["-t"][0]+"\n" {
		t.Errorf("header\n got %q\nwant %q", got, blocks["-t"][0]+"\n")
	}
	// Each row's TIME(s) is read from the file. The formatter counts from
	// the first event it prints, so an event at the example's time zero
	// (its first row, 31.871, before it) starts the clock.
	timeOf := func(row string) float64 {
		secs, err := strconv.ParseFloat(strings.TrimSpace(row[:9]), 64)
		if err != nil {
			t.Fatal(err)
		}
		return secs
	}
	const t0 = uint64(5_000_123_456_789)
	zero := t0 - uint64(timeOf(blocks["-t"][1])*1e9)
	first := eventFromRow(t, blocks["-t"][1][9:])
	first.TsNs = zero
	if got := f.Row(&first); !strings.HasPrefix(got, "0.000    ") {
		t.Errorf("first row %q: want TIME(s) 0.000", got)
	}
	for _, want := range blocks["-t"][1:] {
		e := eventFromRow(t, want[9:])
		e.TsNs = zero + uint64(timeOf(want)*1e9)
		if got := f.Row(&e); got != want+"\n" {
			t.Errorf("row\n got %q\nwant %q", got, want+"\n")
		}
	}
}

func TestRowTruncatesAndSanitizesComm(t *testing.T) {
	f := v4Text(false)
	e := event.Event{PID: 42, Family: event.AFInet, Dport: 443}
	copy(e.Comm[:], "a\x1b[31mlong\tname\xff")
	copy(e.Saddr[:], []byte{10, 0, 0, 1})
	copy(e.Daddr[:], []byte{10, 0, 0, 2})
	want := "42     a?[31mlong?n 10.0.0.1         10.0.0.2         443 \n"
	if got := f.Row(&e); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"curl":             "curl",
		"caf\u00e9":        "caf\u00e9",
		"\x1b]0;pwned\x07": "?]0;pwned?",
		"a\x00b":           "a?b",
		"\xff\xfe":         "??",
		"x\u202ey":         "x???y", // bidi override, 3 bytes
		"\x7f":             "?",
	} {
		if got := Sanitize([]byte(in)); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

// v4Text is the formatter tcpv4connect runs with, without options but -t.
func v4Text(timestamps bool) *Text {
	return NewText(TextOptions{Layout: LayoutTCPV4Connect, Timestamps: timestamps})
}
