package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

func connect(family uint16, dport uint16, comm string) *event.Event {
	e := &event.Event{Kind: event.KindConnect, Family: family, Dport: dport}
	copy(e.Comm[:], comm)
	return e
}

// gather returns the Set's families by name.
func gather(t *testing.T, s *Set) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(s); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func labels(m *dto.Metric) string {
	var b []string
	for _, l := range m.GetLabel() {
		b = append(b, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(b, ",")
}

// TestClassify: each kind of event gets its outcome and errno.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		e              event.Event
		outcome, errno string
	}{
		{event.Event{Kind: event.KindConnect}, OutcomeSynSent, ""},
		{event.Event{Kind: event.KindConnect, Flags: event.FlagRetKnown}, OutcomeSynSent, ""},
		{event.Event{Kind: event.KindConnect, Flags: event.FlagRetKnown, Ret: -99}, OutcomeRejected, "EADDRNOTAVAIL"},
		{event.Event{Kind: event.KindOutcome, Flags: event.FlagEstablished}, OutcomeEstablished, ""},
		{event.Event{Kind: event.KindOutcome, Ret: -111}, OutcomeFailed, "ECONNREFUSED"},
		{event.Event{Kind: event.KindOutcome}, OutcomeClosed, ""},
	} {
		o, e := Classify(&tc.e)
		if o != tc.outcome || e != tc.errno {
			t.Errorf("%+v: %s %s, want %s %s", tc.e, o, e, tc.outcome, tc.errno)
		}
	}
}

// TestCounts: connects are counted per family and outcome, with errno
// when asked; the latency histogram counts outcome events; loss counters
// come from the function given and never go down.
func TestCounts(t *testing.T) {
	s, err := New(Config{Errno: true, Latency: true, Command: "tcpconnect", Version: "1", Attach: "tracepoint", Kernel: "6.1"})
	if err != nil {
		t.Fatal(err)
	}
	lost := map[string]uint64{"perf_buffer_full": 5, "kretprobe_miss": 3}
	s.SetLosses(func() map[string]uint64 { return lost })
	for i := 0; i < 3; i++ {
		s.Observe(connect(event.AFInet, 80, "curl"))
	}
	s.Observe(connect(event.AFInet6, 80, "curl"))
	s.Observe(&event.Event{Kind: event.KindOutcome, Family: event.AFInet, Flags: event.FlagEstablished, LatNs: 2_000_000})
	s.Observe(&event.Event{Kind: event.KindOutcome, Family: event.AFInet, Ret: -111, LatNs: 50_000})
	f := gather(t, s)
	want := map[string]float64{
		"errno=,family=ipv4,outcome=syn_sent":           3,
		"errno=,family=ipv6,outcome=syn_sent":           1,
		"errno=,family=ipv4,outcome=established":        1,
		"errno=ECONNREFUSED,family=ipv4,outcome=failed": 1,
	}
	got := map[string]float64{}
	for _, m := range f[Namespace+"_connects_total"].GetMetric() {
		got[labels(m)] = m.GetCounter().GetValue()
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	var hist uint64
	for _, m := range f[Namespace+"_handshake_latency_seconds"].GetMetric() {
		hist += m.GetHistogram().GetSampleCount()
	}
	if hist != 2 {
		t.Errorf("latency histogram counts %d, want the 2 outcome events", hist)
	}
	lost["kretprobe_miss"] = 1 // a live reading that dipped
	f = gather(t, s)
	for _, m := range f[Namespace+"_lost_total"].GetMetric() {
		if labels(m) == "reason=kretprobe_miss" && m.GetCounter().GetValue() != 3 {
			t.Errorf("kretprobe_miss went down to %v: a counter keeps its highest value", m.GetCounter().GetValue())
		}
	}
	problems, err := testutil.CollectAndLint(s)
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %+v", err, problems)
	}
	if b := f[Namespace+"_build_info"].GetMetric()[0]; labels(b) != "attach=tracepoint,command=tcpconnect,kernel=6.1,version=1" {
		t.Errorf("build info %s", labels(b))
	}
}

// TestCap: past MaxSeries, new label sets are counted in the "other"
// series and the folded counter says how many; every connect is counted
// once.
func TestCap(t *testing.T) {
	s, err := New(Config{Labels: []string{LabelComm, LabelDport}, MaxSeries: 10})
	if err != nil {
		t.Fatal(err)
	}
	const ports = 25
	for p := 1; p <= ports; p++ {
		s.Observe(connect(event.AFInet, uint16(p), "c\x1b"))
		s.Observe(connect(event.AFInet, uint16(p), "c\x1b"))
	}
	f := gather(t, s)
	series, total, other := 0, 0.0, 0.0
	for _, m := range f[Namespace+"_connects_total"].GetMetric() {
		series++
		total += m.GetCounter().GetValue()
		if strings.Contains(labels(m), "dport=other") {
			if labels(m) != "comm=other,dport=other,family=ipv4,outcome=syn_sent" {
				t.Errorf("fold series %s: every opt-in label must be other", labels(m))
			}
			other += m.GetCounter().GetValue()
		} else if !strings.Contains(labels(m), "comm=c?") {
			t.Errorf("series %s: comm not sanitized", labels(m))
		}
	}
	if series != 11 || total != 2*ports || other != 2*(ports-10) {
		t.Errorf("%d series, %v connects, %v in other; want 11, %d, %d", series, total, other, 2*ports, 2*(ports-10))
	}
	if n := f[Namespace+"_metrics_folded_total"].GetMetric()[0].GetCounter().GetValue(); n != other {
		t.Errorf("folded %v, want %v", n, other)
	}
}

func TestCheckLabels(t *testing.T) {
	if err := CheckLabels([]string{"cgroup", "comm", "dport"}); err != nil {
		t.Error(err)
	}
	for _, bad := range [][]string{{"pid"}, {""}, {"dport", "dport"}} {
		if CheckLabels(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestParseAddr: the binding rules.
func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in     string
		public bool
		want   string // "" for an error
	}{
		{":9464", false, "127.0.0.1:9464"},
		{"localhost:9464", false, "127.0.0.1:9464"},
		{"127.0.0.1:9464", false, "127.0.0.1:9464"},
		{"127.1.2.3:9464", false, "127.1.2.3:9464"},
		{"[::1]:9464", false, "[::1]:9464"},
		{"0.0.0.0:9464", false, ""},
		{"0.0.0.0:9464", true, "0.0.0.0:9464"},
		{"[::]:9464", false, ""},
		{"[::]:9464", true, "[::]:9464"},
		{"192.0.2.1:9464", false, ""},
		{"127.0.0.1", false, ""},
		{"127.0.0.1:0", false, ""},
		{"127.0.0.1:65536", false, ""},
		{"127.0.0.1:http", false, ""},
		{"host.example:9464", true, ""},
		{"[fe80::1%lo]:9464", true, ""},
	} {
		got, err := ParseAddr(tc.in, tc.public)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ParseAddr(%q, %v) = %q, %v; want %q", tc.in, tc.public, got, err, tc.want)
		}
	}
}
