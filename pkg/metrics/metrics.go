// Package metrics keeps the series that --metrics serves: connects by
// family and outcome, handshake latency, every loss counter of the exit
// report, and build info. Connects are counted from the event stream, one
// by one, never sampled; loss counters are read when scraped.
package metrics

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
	"github.com/tcpv4connect/tcpv4connect/pkg/format"
)

// Namespace prefixes every series of both commands, so that one dashboard
// serves either.
const Namespace = "tcpconnect"

// The opt-in labels of --metrics-labels.
const (
	LabelDport  = "dport"  // destination port: up to 65,535 values
	LabelComm   = "comm"   // the caller's name: as many as programs that connect
	LabelCgroup = "cgroup" // the caller's cgroup v2 id: one per service or container
)

// OptionalLabels returns the names --metrics-labels accepts, in the order
// the series carry them.
func OptionalLabels() []string { return []string{LabelDport, LabelComm, LabelCgroup} }

// Other is the value every opt-in label takes in the series that holds
// what the cap kept out.
const Other = "other"

// DefaultMaxSeries is the default cap on the connect series.
const DefaultMaxSeries = 1000

// Outcome label values.
const (
	OutcomeSynSent     = "syn_sent"    // the SYN went out; no result followed (no -O)
	OutcomeRejected    = "rejected"    // tcp_v{4,6}_connect returned an error (-x)
	OutcomeEstablished = "established" // the handshake completed
	OutcomeFailed      = "failed"      // the handshake ended with an errno
	OutcomeClosed      = "closed"      // the socket left SYN_SENT without an error
)

// Config says which series a Set keeps.
type Config struct {
	// Labels are the opt-in labels (OptionalLabels), in any order.
	Labels []string
	// MaxSeries caps the connect series that carry opt-in labels: past
	// it, a new label set is counted in the Other series instead.
	MaxSeries int
	// Errno adds the errno label (-x, -O).
	Errno bool
	// Latency keeps the handshake latency histogram (-O).
	Latency bool
	// Command, Version, Attach and Kernel are build info.
	Command, Version, Attach, Kernel string
}

// key is one connect series: its label values.
type key struct {
	family, outcome, errno string
	dport, comm, cgroup    string
}

// Set is a prometheus.Collector. Observe may be called from one goroutine
// while another scrapes.
type Set struct {
	cfg                   Config
	losses                func() map[string]uint64
	dport, comm, cgroup   bool
	connectsDesc          *prometheus.Desc
	foldedDesc, lostDesc  *prometheus.Desc
	buildDesc, seriesDesc *prometheus.Desc
	latency               *prometheus.HistogramVec

	mu       sync.Mutex // guards the fields below
	connects map[key]uint64
	labelled int    // series with opt-in labels, the Other one excepted
	folded   uint64 // connects counted in the Other series for the cap
	// lost keeps each reason's highest value: a counter never goes
	// down (kretprobe_miss, read live, can dip; see docs).
	lost map[string]uint64
}

// LatencyBuckets are the handshake latency histogram's upper bounds, in
// seconds: from a loopback handshake (tens of µs) to a SYN retried for the
// default 127 s.
func LatencyBuckets() []float64 {
	return []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
		0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 130}
}

// New returns a Set for cfg; it fails on an unknown or repeated label.
func New(cfg Config) (*Set, error) {
	if err := CheckLabels(cfg.Labels); err != nil {
		return nil, err
	}
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = DefaultMaxSeries
	}
	s := &Set{cfg: cfg, connects: map[key]uint64{}, lost: map[string]uint64{}}
	names := []string{"family", "outcome"}
	if cfg.Errno {
		names = append(names, "errno")
	}
	for _, l := range OptionalLabels() {
		for _, want := range cfg.Labels {
			if l != want {
				continue
			}
			names = append(names, l)
			switch l {
			case LabelDport:
				s.dport = true
			case LabelComm:
				s.comm = true
			case LabelCgroup:
				s.cgroup = true
			}
		}
	}
	s.connectsDesc = prometheus.NewDesc(Namespace+"_connects_total",
		"Connects traced, by address family and outcome: syn_sent (no result followed), rejected (-x), established, failed, closed (-O).", names, nil)
	s.foldedDesc = prometheus.NewDesc(Namespace+"_metrics_folded_total",
		"Connects counted in the series whose opt-in labels are \"other\", because the series cap (--metrics-max-series) was reached.", nil, nil)
	s.seriesDesc = prometheus.NewDesc(Namespace+"_metrics_series_max",
		"The cap on connect series with opt-in labels (--metrics-max-series).", nil, nil)
	s.lostDesc = prometheus.NewDesc(Namespace+"_lost_total",
		"Connects traced but not counted here, by reason (the JSON lost reasons; see the exit report).", []string{"reason"}, nil)
	s.buildDesc = prometheus.NewDesc(Namespace+"_build_info",
		"Always 1: the command, its version, the attach mode in use and the kernel release.", []string{"command", "version", "attach", "kernel"}, nil)
	if cfg.Latency {
		s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "handshake_latency_seconds",
			Help:      "SYN_SENT to the handshake's result (-O), by address family and outcome.",
			Buckets:   LatencyBuckets(),
		}, []string{"family", "outcome"})
	}
	return s, nil
}

// SetLosses sets the function that returns the loss counters by reason
// (the JSON lost reasons), read at each scrape. Call it before serving.
func (s *Set) SetLosses(f func() map[string]uint64) { s.losses = f }

// CheckLabels checks --metrics-labels' names.
func CheckLabels(labels []string) error {
	seen := map[string]bool{}
	for _, l := range labels {
		known := false
		for _, o := range OptionalLabels() {
			known = known || l == o
		}
		if !known {
			return fmt.Errorf("unknown label %q: use dport, comm or cgroup", l)
		}
		if seen[l] {
			return fmt.Errorf("label %q given twice", l)
		}
		seen[l] = true
	}
	return nil
}

// Classify returns an event's outcome label and errno name ("" for none).
func Classify(e *event.Event) (outcome, errno string) {
	if e.Kind == event.KindOutcome {
		switch o := e.Outcome(); o {
		case event.OutcomeEstablished:
			return OutcomeEstablished, ""
		case event.OutcomeClosed:
			return OutcomeClosed, ""
		default:
			return OutcomeFailed, o
		}
	}
	if ret, ok := e.ConnectRet(); ok && ret != 0 {
		return OutcomeRejected, event.ErrnoName(ret)
	}
	return OutcomeSynSent, ""
}

// Observe counts one event.
func (s *Set) Observe(e *event.Event) {
	k := key{family: "ipv4"}
	if e.Family == event.AFInet6 {
		k.family = "ipv6"
	}
	var errno string
	k.outcome, errno = Classify(e)
	if s.cfg.Errno {
		k.errno = errno
	}
	if s.latency != nil && e.Kind == event.KindOutcome {
		s.latency.WithLabelValues(k.family, k.outcome).Observe(float64(e.LatNs) / 1e9)
	}
	if s.dport {
		k.dport = strconv.Itoa(int(e.Dport))
	}
	if s.comm {
		k.comm = format.Sanitize(e.CommBytes())
	}
	if s.cgroup {
		k.cgroup = strconv.FormatUint(e.CgroupID, 10)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.connects[k]; !ok && (s.dport || s.comm || s.cgroup) {
		if s.labelled >= s.cfg.MaxSeries {
			s.folded++
			k = s.fold(k)
		} else {
			s.labelled++
		}
	}
	s.connects[k]++
}

// fold sets every opt-in label to Other.
func (s *Set) fold(k key) key {
	if s.dport {
		k.dport = Other
	}
	if s.comm {
		k.comm = Other
	}
	if s.cgroup {
		k.cgroup = Other
	}
	return k
}

// Describe implements prometheus.Collector.
func (s *Set) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.connectsDesc, s.foldedDesc, s.seriesDesc, s.lostDesc, s.buildDesc} {
		ch <- d
	}
	if s.latency != nil {
		s.latency.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (s *Set) Collect(ch chan<- prometheus.Metric) {
	var losses map[string]uint64
	if s.losses != nil {
		losses = s.losses() // outside mu: it may wait for a poll
	}
	// Built under mu, sent after: a slow scrape must not hold up Observe.
	s.mu.Lock()
	out := make([]prometheus.Metric, 0, len(s.connects)+len(losses))
	for k, n := range s.connects {
		out = append(out, prometheus.MustNewConstMetric(s.connectsDesc, prometheus.CounterValue, float64(n), s.values(k)...))
	}
	for reason, n := range losses {
		if n < s.lost[reason] {
			n = s.lost[reason]
		}
		s.lost[reason] = n
		out = append(out, prometheus.MustNewConstMetric(s.lostDesc, prometheus.CounterValue, float64(n), reason))
	}
	folded := s.folded
	s.mu.Unlock()
	for _, m := range out {
		ch <- m
	}
	ch <- prometheus.MustNewConstMetric(s.foldedDesc, prometheus.CounterValue, float64(folded))
	ch <- prometheus.MustNewConstMetric(s.seriesDesc, prometheus.GaugeValue, float64(s.cfg.MaxSeries))
	ch <- prometheus.MustNewConstMetric(s.buildDesc, prometheus.GaugeValue, 1, s.cfg.Command, s.cfg.Version, s.cfg.Attach, s.cfg.Kernel)
	if s.latency != nil {
		s.latency.Collect(ch)
	}
}

// values are k's label values, in the order of the connects series'
// label names.
func (s *Set) values(k key) []string {
	v := []string{k.family, k.outcome}
	if s.cfg.Errno {
		v = append(v, k.errno)
	}
	if s.dport {
		v = append(v, k.dport)
	}
	if s.comm {
		v = append(v, k.comm)
	}
	if s.cgroup {
		v = append(v, k.cgroup)
	}
	return v
}
