package main

import (
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/internal/e2e"
)

var (
	anyMissesRe = regexp.MustCompile(`tcpv4connect: (\d+) kretprobe misses`)
	inflightRe  = regexp.MustCompile(`tcpv4connect: (\d+) connects not reported \(the kprobe's in-flight map was full\)`)
)

// TestInflightMapFull: in kprobe mode, 64 threads connect at once while the
// map that carries each connect from kprobe to kretprobe holds only 8. The
// map evicts the oldest entries (so a missed kretprobe cannot leave stale
// entries behind for good); each evicted connect is counted with the
// misses, so shown + lost + misses + not stored == made.
func TestInflightMapFull(t *testing.T) {
	e2e.RequireKernel(t)
	if e2e.Attach() != "kprobe" {
		t.Skipf("the in-flight map exists only in kprobe mode (mode under test: %s)", e2e.Attach())
	}
	port := e2e.ClosedPort(t)
	spec := e2e.StormSpec{Port: port, Threads: 64, Max: 5000, Duration: 5 * time.Second, Comm: "e2e-inflight"}
	storm := e2e.StartStorm(t, spec)
	tr := e2e.StartTracerEnv(t, []string{"TCPV4CONNECT_TEST_MAP_ENTRIES=inflight_v4=8"}, e2e.Bin(),
		"--attach", "kprobe", "-p", strconv.Itoa(storm.PID))
	res := storm.Run(t)
	sentinels := storm.Sentinels(t)
	time.Sleep(time.Second)
	if code := tr.Stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, tr.Stderr())
	}
	shown := 0
	prefix := strconv.Itoa(storm.PID) + " "
	for _, l := range tr.Lines() {
		if strings.HasPrefix(l, prefix) {
			shown++
		}
	}
	stderr := tr.Stderr()
	num := func(re *regexp.Regexp) int {
		if m := re.FindStringSubmatch(stderr); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
		return 0
	}
	lost, misses, full := num(lostTotal), num(anyMissesRe), num(inflightRe)
	made := res.Made + sentinels
	t.Logf("%d connects by %d threads: shown %d, lost %d, misses (evictions included) %d, not stored %d", made, spec.Threads, shown, lost, misses, full)
	if shown+lost+misses+full != made {
		t.Errorf("shown %d + lost %d + misses %d + not stored %d = %d, want the %d connects made; stderr:\n%s",
			shown, lost, misses, full, shown+lost+misses+full, made, stderr)
	}
}
