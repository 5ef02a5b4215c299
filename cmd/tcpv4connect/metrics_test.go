package main

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestMetricsStorm is TestStorm with --metrics scraped every 100 ms from
// before the storm to the end: no scrape fails, no counter ever goes
// down, the row stream's accounting stays exact (rows + lost + misses ==
// made), and the series account for every connect too (connects counted
// + lost == made, with as many counted as rows shown).
func TestMetricsStorm(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.ClosedPort(t)
	spec := e2e.StormSpec{Port: port, Threads: 2 * runtime.NumCPU(), Max: 20000, Duration: 8 * time.Second, Comm: "e2e-mstorm"}
	storm := e2e.StartStorm(t, spec)
	addr := "127.0.0.1:" + strconv.Itoa(e2e.FreePort(t))
	tr := startStormTracer(t, storm.PID, "1", "--metrics", addr)

	// The scraper: every 100 ms until told to stop.
	var (
		mu       sync.Mutex
		scrapes  int
		failures []string
		prev     = map[string]float64{}
		wentDown []string
	)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			fams, err := e2e.TryScrape(addr)
			mu.Lock()
			scrapes++
			if err != nil {
				failures = append(failures, err.Error())
			}
			for _, name := range []string{"tcpconnect_connects_total", "tcpconnect_lost_total"} {
				if f := fams[name]; f != nil {
					for _, m := range f.GetMetric() {
						k, v := name+"{"+e2e.Labels(m)+"}", m.GetCounter().GetValue()
						if v < prev[k] {
							wentDown = append(wentDown, k)
						}
						prev[k] = v
					}
				}
			}
			mu.Unlock()
		}
	}()

	res := storm.Run(t)
	close(tr.gate) // start reading
	time.Sleep(2 * time.Second)
	sentinels := storm.Sentinels(t)
	made := res.Made + sentinels
	// The stream has read everything once the series account for every
	// connect (the BPF side counts each failed perf write at once).
	var counted, lost, misses float64
	deadline := time.Now().Add(60 * time.Second)
	for {
		fams := e2e.Scrape(t, addr)
		counted, lost = e2e.Sum(fams, "tcpconnect_connects_total"), e2e.Sum(fams, "tcpconnect_lost_total")
		misses = 0
		if f := fams["tcpconnect_lost_total"]; f != nil {
			for _, m := range f.GetMetric() {
				if e2e.Labels(m) == "reason=kretprobe_miss" {
					misses = m.GetCounter().GetValue()
				}
			}
		}
		if counted+lost >= float64(made) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	<-stopped
	rows, stderr, exitLost := tr.stop(t)
	exitMisses := 0
	if n, known, ok := parseMisses(stderr); ok && known {
		exitMisses = n
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("storm: %d connects in %.2fs by %d threads, %d scrapes every 100 ms; rows %d, exit report lost %d; series: counted %v, lost %v",
		made, res.Secs, spec.Threads, scrapes, rows, exitLost, counted, lost)
	if len(failures) > 0 {
		t.Errorf("%d of %d scrapes failed, e.g. %s", len(failures), scrapes, failures[0])
	}
	if len(wentDown) > 0 {
		t.Errorf("counters went down between scrapes: %s", strings.Join(wentDown, ", "))
	}
	if scrapes < 10 {
		t.Errorf("only %d scrapes during the storm", scrapes)
	}
	if rows+exitLost+exitMisses != made {
		t.Errorf("rows: shown %d + lost %d + kretprobe misses %d = %d, want connects made %d; stderr:\n%s",
			rows, exitLost, exitMisses, rows+exitLost+exitMisses, made, lastLines(stderr, 5))
	}
	// The live kretprobe_miss series is entries less returns, held at its
	// highest: a connect in flight at a scrape counts (README, "Running
	// it on every host"). It may exceed the exit report's exact count by
	// at most the threads connecting at once; every other series is exact.
	if misses < float64(exitMisses) || misses > float64(exitMisses+spec.Threads) {
		t.Errorf("series kretprobe_miss %v, want the exit report's %d plus at most the %d threads in flight", misses, exitMisses, spec.Threads)
	}
	if exact := counted + lost - misses + float64(exitMisses); exact != float64(made) {
		t.Errorf("series: counted %v + lost %v - live misses %v + exit misses %d = %v, want connects made %d",
			counted, lost, misses, exitMisses, exact, made)
	}
	if counted != float64(rows) {
		t.Errorf("series count %v connects, the rows show %d", counted, rows)
	}
	if exitLost == 0 {
		t.Errorf("no loss although %d connects met a stalled reader: the storm did not exceed capacity", made)
	}
}
