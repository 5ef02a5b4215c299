package main

// The exit report (issue 9): quiet when nothing was lost, one line per
// non-zero counter on stderr, and in JSON mode "lost" records with a
// reason that add up with the rows to every connect made.

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

// TestExitReportQuiet: a run that lost nothing ends with nothing on
// stderr, in every attach mode; with -v the report is there, zeros and
// all.
func TestExitReportQuiet(t *testing.T) {
	port := e2e.Listen(t, "127.0.0.1")
	c := e2e.Connect{Kind: "block", Addr: "127.0.0.1", Port: port, Comm: "e2e-quiet"}
	for _, verbose := range []bool{false, true} {
		t.Run("verbose="+strconv.FormatBool(verbose), func(t *testing.T) {
			h := e2e.StartHelper(t, c)
			args := []string{"-p", strconv.Itoa(h.PID)}
			if verbose {
				args = append(args, "-v")
			}
			tr := start(t, args...)
			h.Run(t)
			waitRows(t, tr, cols{}, h.PID, 1, 10*time.Second)
			if code := tr.Stop(syscall.SIGINT); code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
			stderr := tr.Stderr()
			if !verbose {
				if stderr != "" {
					t.Errorf("stderr %q, want nothing: nothing was lost", stderr)
				}
				return
			}
			for _, want := range []string{"tcpconnect: 0 events lost in total (", "tcpconnect: 0 malformed events ("} {
				if !strings.Contains(stderr, want) {
					t.Errorf("-v: no %q line in the exit report; stderr:\n%s", want, lastLines(stderr, 6))
				}
			}
			if strings.Contains(stderr, "using attach mode kprobe\n") && !strings.Contains(stderr, "tcpconnect: 0 kretprobe misses (") {
				t.Errorf("-v in kprobe mode: no kretprobe miss line; stderr:\n%s", lastLines(stderr, 6))
			}
		})
	}
}

var lostTotalRe = regexp.MustCompile(`(?m)^tcpconnect: (\d+) events lost in total \(perf buffer full`)

// TestJSONLostRecords: a connect storm against a one-page perf buffer and a
// stalled reader, in JSON mode. Every "lost" record names its reason; the
// perf_buffer_full ones add up to the total the exit report prints on
// stderr; and connect records + lost records = connects made, exactly.
func TestJSONLostRecords(t *testing.T) {
	e2e.RequireKernel(t)
	port := e2e.ClosedPort(t)
	storm := e2e.StartStorm(t, e2e.StormSpec{Port: port, Threads: 4, Max: 5000, Duration: 8 * time.Second, Comm: "e2e-jlost"})
	cmd := exec.Command(e2e.TCPConnectBin(), "--attach", e2e.Attach(), "-4", "-j", "-p", strconv.Itoa(storm.PID))
	cmd.Env = append(os.Environ(), "TCPV4CONNECT_TEST_PERF_PAGES=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	rd := bufio.NewReaderSize(out, 1<<20)
	if l, err := rd.ReadString('\n'); err != nil || !strings.Contains(l, `"type":"start"`) {
		t.Fatalf("first line %q, %v; stderr:\n%s", l, err, stderr.String())
	}
	res := storm.Run(t) // nobody reads stdout meanwhile
	type tally struct {
		connects int
		lost     map[string]uint64
		bad      []string
	}
	got := make(chan tally, 1)
	go func() {
		ta := tally{lost: map[string]uint64{}}
		for {
			l, err := rd.ReadString('\n')
			if l != "" {
				var r struct {
					Type   string
					PID    int
					Count  uint64
					Reason *string
				}
				switch {
				case json.Unmarshal([]byte(l), &r) != nil:
					ta.bad = append(ta.bad, l)
				case r.Type == "connect" && r.PID == storm.PID:
					ta.connects++
				case r.Type == "lost" && (r.Reason == nil || *r.Reason == ""):
					ta.bad = append(ta.bad, l)
				case r.Type == "lost":
					ta.lost[*r.Reason] += r.Count
				}
			}
			if err != nil {
				got <- ta
				return
			}
		}
	}()
	time.Sleep(2 * time.Second)
	sentinels := storm.Sentinels(t)
	time.Sleep(time.Second)
	_ = cmd.Process.Signal(syscall.SIGINT)
	ta := <-got
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v; stderr:\n%s", err, lastLines(stderr.String(), 5))
	}
	made := res.Made + sentinels
	var lost uint64
	for _, n := range ta.lost {
		lost += n
	}
	t.Logf("%d connects: %d records, lost %v", made, ta.connects, ta.lost)
	if len(ta.bad) > 0 {
		t.Errorf("records that are not JSON or lost records without a reason: %q", ta.bad)
	}
	m := lostTotalRe.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no loss total in the exit report; stderr:\n%s", lastLines(stderr.String(), 5))
	}
	if total, _ := strconv.ParseUint(m[1], 10, 64); total != ta.lost["perf_buffer_full"] || total == 0 {
		t.Errorf("stderr total %d, perf_buffer_full records add up to %d: want equal and non-zero", total, ta.lost["perf_buffer_full"])
	}
	if uint64(ta.connects)+lost != uint64(made) {
		t.Errorf("connect records %d + lost %d = %d, want the %d connects made", ta.connects, lost, uint64(ta.connects)+lost, made)
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
