package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/pkg/format"
)

func report(l Losses, verbose bool) string {
	var b strings.Builder
	Report(&b, "tcpv4connect", l, verbose)
	return b.String()
}

// TestReportQuietByDefault: a run that lost nothing prints nothing at exit,
// in every mode, kprobe mode included (it used to print "0 kretprobe
// misses" at every exit).
func TestReportQuietByDefault(t *testing.T) {
	for _, l := range []Losses{{}, {KprobeMode: true}, {CountMode: true, KprobeMode: true}, {OutcomeMode: true}} {
		if got := report(l, false); got != "" {
			t.Errorf("%+v: report %q, want nothing", l, got)
		}
	}
}

// TestReportLines: each non-zero counter is one line "<cmd>: <n> <what>
// (<why>)", in a fixed order.
func TestReportLines(t *testing.T) {
	probe := uint64(9)
	l := Losses{PerfLost: 17, Malformed: 2, KprobeMode: true, KprobeMisses: 5, KprobeProbeMisses: &probe,
		OutcomeMapFull: 1, CountMapFull: 3, InflightFull: 4, PendingAtExit: 6}
	want := []string{
		"tcpv4connect: 17 events lost in total (perf buffer full: the reader fell behind)",
		"tcpv4connect: 2 malformed events (samples that did not decode: BPF object and program out of step?)",
		"tcpv4connect: 5 kretprobe misses (more threads inside the probed function at once than the kretprobe has instances; the kernel's count for the probes, all processes: 9)",
		"tcpv4connect: 1 connects not reported (the handshake tracker's map was full)",
		"tcpv4connect: 3 connects not counted (the count table was full)",
		"tcpv4connect: 4 connects not reported (the kprobe's in-flight map was full)",
		"tcpv4connect: 6 connects still in SYN_SENT at exit (not reported: their handshake had not ended)",
	}
	if got := report(l, false); got != strings.Join(want, "\n")+"\n" {
		t.Errorf("report:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	// Only the non-zero ones.
	if got := report(Losses{Malformed: 1}, false); got != want[1][:len("tcpv4connect: ")]+"1"+want[1][len("tcpv4connect: 2"):]+"\n" {
		t.Errorf("report of one counter: %q", got)
	}
}

// TestReportVerbose: -v prints every line that applies to the run, zeros
// included, and no line that cannot apply.
func TestReportVerbose(t *testing.T) {
	cases := []struct {
		l    Losses
		want []string
	}{
		{Losses{}, []string{"0 events lost in total", "0 malformed events"}},
		{Losses{KprobeMode: true}, []string{"0 events lost in total", "0 malformed events", "0 kretprobe misses", "0 connects not reported"}},
		{Losses{OutcomeMode: true}, []string{"0 events lost in total", "0 malformed events", "0 connects not reported", "0 connects still in SYN_SENT at exit"}},
		{Losses{CountMode: true}, []string{"0 connects not counted"}},
	}
	for _, c := range cases {
		got := strings.Split(strings.TrimSuffix(report(c.l, true), "\n"), "\n")
		if len(got) != len(c.want) {
			t.Errorf("%+v: -v report:\n%s\nwant %d lines", c.l, strings.Join(got, "\n"), len(c.want))
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], "tcpv4connect: "+c.want[i]+" (") {
				t.Errorf("%+v: line %q, want %q", c.l, got[i], c.want[i])
			}
		}
	}
}

// TestReportUnknownMisses: a miss count the kernel cannot give is always
// said, -v or not.
func TestReportUnknownMisses(t *testing.T) {
	got := report(Losses{KprobeMode: true, KprobeMissesUnknown: "old kernel"}, false)
	if got != "tcpv4connect: kretprobe misses unknown (old kernel)\n" {
		t.Errorf("report %q", got)
	}
}

// TestRecords: in JSON mode each non-zero counter is one "lost" record
// with its reason, except the perf buffer's, which the stream reports
// in-band where the gap is.
func TestRecords(t *testing.T) {
	f := format.NewJSON("tracepoint", 0)
	if got := Records(f, Losses{PerfLost: 3}); got != "" {
		t.Errorf("perf losses reported twice: %q", got)
	}
	got := Records(f, Losses{PerfLost: 3, Malformed: 2, KprobeMode: true, KprobeMisses: 4, PendingAtExit: 1})
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	want := []struct {
		reason string
		n      float64
	}{{"malformed", 2}, {"kretprobe_miss", 4}, {"pending_at_exit", 1}}
	if len(lines) != len(want) {
		t.Fatalf("records:\n%s\nwant %d", got, len(want))
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if m["type"] != "lost" || m["reason"] != want[i].reason || m["count"] != want[i].n || m["schema_version"] != 1.0 {
			t.Errorf("record %v, want lost %s %v", m, want[i].reason, want[i].n)
		}
	}
}
