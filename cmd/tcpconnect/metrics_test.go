package main

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestMetricsPrometheus: a real Prometheus server scrapes --metrics every
// second while connects of known kinds are made; its HTTP API then gives
// exactly what was made, per family and outcome, a latency histogram
// whose count is the completed handshakes, and no loss.
func TestMetricsPrometheus(t *testing.T) {
	e2e.RequireKernel(t)
	open, open6, closed := e2e.Listen(t, "127.0.0.1"), e2e.Listen(t, "::1"), e2e.ClosedPort(t)
	addr := "127.0.0.1:" + strconv.Itoa(e2e.FreePort(t))
	prom := e2e.StartPrometheus(t, addr)
	ports := strconv.Itoa(open) + "," + strconv.Itoa(open6) + "," + strconv.Itoa(closed)
	tr := start(t, "-O", "--metrics", addr, "-P", ports)

	const v4ok, v4refused, v6ok = 5, 3, 4
	var conns []e2e.Connect
	for i := 0; i < v4ok; i++ {
		conns = append(conns, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: open, Comm: "e2e-prom"})
	}
	for i := 0; i < v4refused; i++ {
		conns = append(conns, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: closed, Comm: "e2e-prom"})
	}
	for i := 0; i < v6ok; i++ {
		conns = append(conns, e2e.Connect{Kind: "v6", Addr: "::1", Port: open6, Comm: "e2e-prom"})
	}
	pid := e2e.Connects(t, conns...)
	const made = v4ok + v4refused + v6ok
	waitRows(t, tr, cols{}, pid, made, 10*time.Second)
	// Every row printed was counted first: a scrape that begins now
	// sees them all.
	prom.WaitScrapedAfter(t, time.Now())

	got := prom.Query(t, `tcpconnect_connects_total{job="tcpconnect"}`)
	want := map[string]float64{
		"family=ipv4,outcome=established":               v4ok,
		"errno=ECONNREFUSED,family=ipv4,outcome=failed": v4refused,
		"family=ipv6,outcome=established":               v6ok,
	}
	t.Logf("tcpconnect_connects_total: %v", got)
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("tcpconnect_connects_total{%s} = %v, want %v", k, got[k], v)
		}
	}
	hist := prom.Query(t, `sum(tcpconnect_handshake_latency_seconds_count{outcome="established"})`)
	t.Logf("completed handshakes in the latency histogram: %v", hist)
	if hist[""] != v4ok+v6ok {
		t.Errorf("latency histogram count %v, want the %d completed handshakes", hist, v4ok+v6ok)
	}
	all := prom.Query(t, `sum(tcpconnect_handshake_latency_seconds_count)`)
	if all[""] != made {
		t.Errorf("latency histogram, every outcome: %v, want %d", all, made)
	}
	lost := prom.Query(t, `sum(tcpconnect_lost_total)`)
	if lost[""] != 0 {
		t.Errorf("lost %v, want 0", lost)
	}
	build := prom.Query(t, `tcpconnect_build_info`)
	if len(build) != 1 {
		t.Fatalf("build info %v, want one series", build)
	}
	for k := range build {
		if !strings.Contains(k, "command=tcpconnect") || !strings.Contains(k, "kernel=") {
			t.Errorf("build info %s", k)
		}
		if m := e2e.Attach(); m != "auto" && !strings.Contains(k, "attach="+m+",") {
			t.Errorf("build info %s, want attach=%s", k, m)
		}
	}
	if rows := len(e2e.RowsOf(parseRows(t, tr.Lines(), cols{}), pid)); rows != made {
		t.Errorf("%d rows, want %d", rows, made)
	}
	if code := tr.Stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; stderr:\n%s", code, tr.Stderr())
	}
}

// TestMetricsTakenPort: --metrics on a port another socket holds exits 2
// with one line naming the address, before anything is attached (no
// banner).
func TestMetricsTakenPort(t *testing.T) {
	e2e.RequireKernel(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	var stdout, stderr strings.Builder
	cmd := exec.Command(e2e.TCPConnectBin(), "--attach", e2e.Attach(), "--metrics", addr)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if code := e2e.ExitCode(err); code != 2 {
		t.Errorf("exit %d (%v), want 2", code, err)
	}
	want := "tcpconnect: error: --metrics " + addr + ": address already in use\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q: nothing may be printed (nor attached)", stdout.String())
	}
}

// TestMetricsShutdown: at SIGINT, SIGTERM or SIGHUP the run ends with exit
// 0 and the metrics port is free again at once (the listener is closed,
// nothing is left behind); -q prints no rows, but the series count the
// connects.
func TestMetricsShutdown(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.Listen(t, "127.0.0.1")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			addr := "127.0.0.1:" + strconv.Itoa(e2e.FreePort(t))
			// -q prints nothing at all: the first scrape that
			// answers shows the probes are attached (the server
			// starts serving after that).
			tr := e2e.StartQuietTracer(t, func() error { _, err := e2e.TryScrape(addr); return err },
				e2e.TCPConnectBin(), "--attach", e2e.Attach(), "-q", "--metrics", addr, "-P", strconv.Itoa(port))
			pid := e2e.Connects(t, e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-quiet"})
			if n := waitSeries(t, addr, "tcpconnect_connects_total", 1); n != 1 {
				t.Errorf("tcpconnect_connects_total %v, want 1", n)
			}
			if code := tr.Stop(sig); code != 0 {
				t.Errorf("exit %d after %v, want 0; stderr:\n%s", code, sig, tr.Stderr())
			}
			if l := tr.Lines(); len(l) != 0 {
				t.Errorf("-q printed rows (pid %d):\n%s", pid, strings.Join(l, "\n"))
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("after exit, %s is still taken: %v", addr, err)
			}
			ln.Close()
		})
	}
}

// waitSeries waits until the sum of family name's samples at addr is at
// least n, and returns it.
func waitSeries(t *testing.T, addr, name string, n float64) float64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sum := e2e.Sum(e2e.Scrape(t, addr), name)
		if sum >= n || time.Now().After(deadline) {
			return sum
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMetricsSeriesCap: 5,000 distinct destination ports with
// --metrics-labels dport: the connect series stop at the cap (1,000 by
// default), the rest fold into dport="other", the folded counter says how
// many, and every connect is counted once: counted + lost == made.
func TestMetricsSeriesCap(t *testing.T) {
	e2e.RequireKernel(t)
	const n, limit = 5000, 1000
	h := e2e.StartPorts(t, n, 20000, "e2e-ports")
	addr := "127.0.0.1:" + strconv.Itoa(e2e.FreePort(t))
	tr := e2e.StartQuietTracer(t, func() error { _, err := e2e.TryScrape(addr); return err },
		e2e.TCPConnectBin(), "--attach", e2e.Attach(), "-q", "--metrics", addr, "--metrics-labels", "dport", "-p", strconv.Itoa(h.PID))
	h.Go(t)
	fams := waitAccounted(t, addr, h.Made)
	if code := tr.Stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, tr.Stderr())
	}
	counted, lost := e2e.Sum(fams, "tcpconnect_connects_total"), e2e.Sum(fams, "tcpconnect_lost_total")
	var series, labelled int
	var other float64
	for _, m := range fams["tcpconnect_connects_total"].GetMetric() {
		series++
		if strings.Contains(e2e.Labels(m), "dport=other") {
			other += m.GetCounter().GetValue()
			continue
		}
		labelled++
		if v := m.GetCounter().GetValue(); v != 1 {
			t.Errorf("%s = %v: each port was connected to once", e2e.Labels(m), v)
		}
	}
	folded := e2e.Sum(fams, "tcpconnect_metrics_folded_total")
	t.Logf("%s mode: made %d, counted %v (lost %v) in %d series: %d with their own dport, %v connects in dport=\"other\", folded counter %v",
		e2e.Attach(), h.Made, counted, lost, series, labelled, other, folded)
	if counted+lost != float64(h.Made) {
		t.Errorf("counted %v + lost %v, want the %d connects made", counted, lost, h.Made)
	}
	if want := min(limit, int(counted)); labelled != want || series > limit+1 {
		t.Errorf("%d series with a dport of their own (want %d), %d in all (want at most %d)", labelled, want, series, limit+1)
	}
	if other != counted-float64(labelled) || folded != other {
		t.Errorf("dport=\"other\" holds %v, folded counter %v; want both %v", other, folded, counted-float64(labelled))
	}
	if m := fams["tcpconnect_metrics_series_max"]; m == nil || m.GetMetric()[0].GetGauge().GetValue() != limit {
		t.Errorf("tcpconnect_metrics_series_max: %v, want %d", m, limit)
	}
}

// waitAccounted scrapes addr until connects counted plus lost reach made
// (or 60 s pass), and returns the last scrape.
func waitAccounted(t *testing.T, addr string, made int) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		fams := e2e.Scrape(t, addr)
		if e2e.Sum(fams, "tcpconnect_connects_total")+e2e.Sum(fams, "tcpconnect_lost_total") >= float64(made) || time.Now().After(deadline) {
			return fams
		}
		time.Sleep(100 * time.Millisecond)
	}
}
