// Command benchdrv runs the tracer benchmark on the machine it runs on (the
// host, or inside a benchmark VM) and writes the raw measurements as JSON:
//
//	benchdrv run -env host -tools ours-tracepoint,bpftrace -out host.json
//	benchdrv report -md bench/RESULTS.md -json bench/results.json host.json vm-6.1.json
//
// For each repetition and each tool (order rotated per repetition) it starts
// the tool with its stdout on a pty, times exec -> ready line (start-up) and
// exec -> first reported connect (a canary connect every few ms), then runs
// bench/connloop unpaced with 1 and with all-vCPU connectors, counting the
// lines the tool prints for connloop, the losses it reports, its CPU time
// and the machine's busy CPU time; then reads VmHWM and stops it with
// SIGINT. A baseline run of connloop without a tracer precedes each
// repetition. Entry point: bench/run.sh.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchdrv run|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = cmdRun(os.Args[2:])
	case "report":
		err = cmdReport(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdrv:", err)
		os.Exit(1)
	}
}

// Results is one environment's raw measurements.
type Results struct {
	Env       string     `json:"env"`
	Kernel    string     `json:"kernel"`
	NCPU      int        `json:"ncpu"`
	Started   string     `json:"started"`
	Reps      int        `json:"reps"`
	DurSecs   float64    `json:"dur_secs"`
	Smoke     bool       `json:"smoke"`
	Tools     []toolInfo `json:"tools"`
	Start     []startRun `json:"start"`
	Load      []loadRun  `json:"load"`
	Capacity  []capacity `json:"capacity,omitempty"`
	Soak      *soak      `json:"soak,omitempty"`
	Failures  []string   `json:"failures,omitempty"`
	Conns     []int      `json:"conns"`
	WallSecs  float64    `json:"wall_secs"`
	Generator string     `json:"generator"`
}

type toolInfo struct {
	ID   string   `json:"id"`
	Name string   `json:"name"`
	Mode string   `json:"mode"`
	Argv []string `json:"argv"`
}

type startRun struct {
	Tool         string  `json:"tool"`
	Rep          int     `json:"rep"`
	ReadyMs      float64 `json:"ready_ms"`
	FirstEventMs float64 `json:"first_event_ms"`
	PeakRSSKiB   float64 `json:"peak_rss_kib"`
	SteadyRSSKiB float64 `json:"steady_rss_kib"` // VmRSS after the load runs
	// RssFile after the load runs: mapped file pages, almost all the
	// binary's own (clean, shared page cache). VmHWM less this is the
	// peak of what the process allocated.
	FileRSSKiB float64 `json:"file_rss_kib,omitempty"`
	Threads    int     `json:"threads"`
}

type loadRun struct {
	Tool         string  `json:"tool"` // "baseline" or a tool id
	Rep          int     `json:"rep"`
	Phase        string  `json:"phase"` // overhead, paced (the latency prober alone), capacity, soak
	Conns        int     `json:"conns"`
	TargetRate   float64 `json:"target_rate"`
	Attempts     uint64  `json:"attempts"`
	Connects     uint64  `json:"connects"`
	Errors       uint64  `json:"errors"`
	Secs         float64 `json:"secs"`
	Rate         float64 `json:"rate"`
	NsPerConnect float64 `json:"ns_per_connect"`
	SysCPUSecs   float64 `json:"sys_cpu_secs"`
	ToolCPUSecs  float64 `json:"tool_cpu_secs"`
	Reported     uint64  `json:"reported"`
	Lost         uint64  `json:"lost"`
	Missing      int64   `json:"missing"` // attempts - reported
	// LatMs: display latency of each prober connect (connect start to its
	// row read from the pty), ms; LatRate: the prober's rate.
	LatMs   []float64 `json:"lat_ms,omitempty"`
	LatRate float64   `json:"lat_rate,omitempty"`
}

type capacity struct {
	Tool        string  `json:"tool"`
	Conns       int     `json:"conns"`
	MaxRate     float64 `json:"max_rate"`      // highest rate generated with the tool attached
	MaxRateOK   bool    `json:"max_rate_ok"`   // every connect reported, lost == 0 at MaxRate
	Sustained   float64 `json:"sustained"`     // highest paced rate with exact counts
	AboveLost   uint64  `json:"above_lost"`    // at the first failing rate: loss reported
	AboveMiss   int64   `json:"above_missing"` // ... connects not reported
	AboveRate   float64 `json:"above_rate"`
	GeneratorOK bool    `json:"generator_bound"` // no failure found up to MaxRate
}

type soak struct {
	Tool      string       `json:"tool"`
	Rate      float64      `json:"target_rate"`
	Secs      float64      `json:"secs"`
	Samples   []soakSample `json:"samples"`
	Attempts  uint64       `json:"attempts"`
	Reported  uint64       `json:"reported"`
	Lost      uint64       `json:"lost"`
	RSSFlat   bool         `json:"rss_flat"`
	TaskFlat  bool         `json:"tasks_flat"`
	FDFlat    bool         `json:"fds_flat"`
	RSSFirst  float64      `json:"rss_first_kib"`
	RSSLast   float64      `json:"rss_last_kib"`
	RSSMax    float64      `json:"rss_max_kib"`
	TasksMin  int          `json:"tasks_min"`
	TasksMax  int          `json:"tasks_max"`
	FDsMin    int          `json:"fds_min"`
	FDsMax    int          `json:"fds_max"`
	CPUPerCon float64      `json:"tool_cpu_us_per_connect"`
}

type soakSample struct {
	T        float64 `json:"t"`
	RSSKiB   float64 `json:"rss_kib"`
	HWMKiB   float64 `json:"hwm_kib"`
	Tasks    int     `json:"tasks"`
	FDs      int     `json:"fds"`
	Attempts uint64  `json:"attempts"`
	Reported uint64  `json:"reported"`
	Lost     uint64  `json:"lost"`
}

type runner struct {
	latRates     []float64 // prober-alone rates per session
	topLat       float64   // prober rate during the all-connector run
	connloop     string
	dur          time.Duration
	quiet        time.Duration
	readyTimeout time.Duration
	canaryEvery  time.Duration
	canary       *canary
	res          *Results
	logf         func(string, ...any)
}

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var (
		env      = fs.String("env", "host", "environment name for the results")
		toolsArg = fs.String("tools", "ours-tracepoint,bpftrace", "comma-separated tool ids")
		ours     = fs.String("ours", "./tcpv4connect", "our tracer")
		tcpc     = fs.String("tcpconnect", "./tcpconnect", "our tcpconnect (tool ourtcpconnect-MODE)")
		connloop = fs.String("connloop", "build/bench/connloop", "the load generator")
		bt       = fs.String("bt", "bench/tcpconnect-tp.bt", "bpftrace script")
		libbpf   = fs.String("libbpf-tools", "/usr/sbin/tcpconnect", "libbpf-tools tcpconnect")
		connlat  = fs.String("tcpconnlat", "/usr/sbin/tcpconnlat", "libbpf-tools tcpconnlat (fentry)")
		latRates = fs.String("latrates", "1,100", "display latency and CPU per connect: prober-alone rates (connects/s), comma-separated")
		topLat   = fs.Float64("toplat", 20, "display latency at the top rate: prober rate during the all-connector run (0: none)")
		bccPath  = fs.String("bcc", "/usr/sbin/tcpconnect-bpfcc", "bcc tcpconnect")
		bpftrace = fs.String("bpftrace", "bpftrace", "bpftrace")
		reps     = fs.Int("reps", 5, "repetitions")
		dur      = fs.Duration("dur", 3*time.Second, "duration of each load run")
		connsArg = fs.String("conns", "", "connector counts (default: 1 and all vCPUs)")
		capDur   = fs.Duration("capdur", 0, "duration of each capacity step (0: no capacity search)")
		capSteps = fs.Int("capsteps", 5, "bisection steps of the capacity search")
		soakDur  = fs.Duration("soak", 0, "soak the first tool for this long instead (0: no soak)")
		soakFrac = fs.Float64("soak-frac", 0.7, "soak rate as a fraction of the unpaced all-vCPU baseline rate")
		quiet    = fs.Duration("quiet", 500*time.Millisecond, "drain: stop waiting when no line came for this long")
		readyTO  = fs.Duration("ready-timeout", 60*time.Second, "start-up timeout")
		canaryEv = fs.Duration("canary", 5*time.Millisecond, "canary connect interval while starting")
		out      = fs.String("out", "", "results file (default stdout)")
		smoke    = fs.Bool("smoke", false, "mark the results as a smoke run")
	)
	_ = fs.Parse(args)
	t0 := time.Now()
	paths := map[string]string{"ours": *ours, "tcpconnect": *tcpc, "bt": *bt,
		"libbpf-tools": *libbpf, "tcpconnlat": *connlat, "bcc": *bccPath, "bpftrace": *bpftrace}
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	res := &Results{Env: *env, Kernel: unix.ByteSliceToString(uts.Release[:]), NCPU: runtime.NumCPU(),
		Started: t0.UTC().Format(time.RFC3339), Reps: *reps, DurSecs: dur.Seconds(), Smoke: *smoke,
		Generator: "bench/connloop"}
	conns := []int{1}
	if runtime.NumCPU() > 1 {
		conns = append(conns, runtime.NumCPU())
	}
	if *connsArg != "" {
		conns = nil
		for _, f := range strings.Split(*connsArg, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 {
				return fmt.Errorf("bad -conns %q", *connsArg)
			}
			conns = append(conns, n)
		}
	}
	res.Conns = conns
	var lrates []float64
	for _, f := range strings.Split(*latRates, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		x, err := strconv.ParseFloat(f, 64)
		if err != nil || x <= 0 {
			return fmt.Errorf("bad -latrates %q", *latRates)
		}
		lrates = append(lrates, x)
	}
	var tools []*tool
	for _, id := range strings.Split(*toolsArg, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		t, err := toolByID(id, paths)
		if err != nil {
			return err
		}
		tools = append(tools, t)
		res.Tools = append(res.Tools, toolInfo{ID: t.ID, Name: t.Name, Mode: t.Mode, Argv: t.Argv})
	}
	c, err := newCanary()
	if err != nil {
		return fmt.Errorf("canary listener: %w", err)
	}
	r := &runner{connloop: *connloop, dur: *dur, quiet: *quiet, readyTimeout: *readyTO,
		canaryEvery: *canaryEv, canary: c, res: res, latRates: lrates, topLat: *topLat,
		logf: func(f string, a ...any) {
			fmt.Fprintf(os.Stderr, "[%6.1fs] "+f+"\n", append([]any{time.Since(t0).Seconds()}, a...)...)
		}}
	if *soakDur > 0 {
		if len(tools) == 0 {
			return fmt.Errorf("-soak needs a tool")
		}
		if err := r.soak(tools[0], conns[len(conns)-1], *soakDur, *soakFrac); err != nil {
			res.Failures = append(res.Failures, err.Error())
			r.logf("soak: %v", err)
		}
	} else {
		r.all(tools, conns, *reps, *capDur, *capSteps)
	}
	res.WallSecs = time.Since(t0).Seconds()
	b, _ := json.MarshalIndent(res, "", " ")
	if *out == "" {
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	}
	return os.WriteFile(*out, append(b, '\n'), 0o644)
}

func (r *runner) all(tools []*tool, conns []int, reps int, capDur time.Duration, capSteps int) {
	broken := map[string]bool{}
	for rep := 1; rep <= reps; rep++ {
		for _, c := range conns {
			lr, err := r.load(nil, c, 0, r.dur)
			if err != nil {
				r.fail("baseline: %v", err)
				continue
			}
			lr.Tool, lr.Rep, lr.Phase = "baseline", rep, "overhead"
			r.res.Load = append(r.res.Load, lr)
			r.logf("rep %d baseline c=%d: %.0f/s %.0f ns/connect", rep, c, lr.Rate, lr.NsPerConnect)
		}
		for i := range tools {
			t := tools[(i+rep-1)%len(tools)] // rotate the order
			if broken[t.ID] {
				continue
			}
			if err := r.session(t, rep, conns); err != nil {
				r.fail("%s rep %d: %v", t.ID, rep, err)
				broken[t.ID] = true
			}
		}
	}
	if capDur <= 0 {
		return
	}
	for _, t := range tools {
		if broken[t.ID] {
			continue
		}
		if err := r.capacity(t, conns[len(conns)-1], capDur, capSteps); err != nil {
			r.fail("%s capacity: %v", t.ID, err)
		}
	}
}

func (r *runner) fail(f string, a ...any) {
	msg := fmt.Sprintf(f, a...)
	r.res.Failures = append(r.res.Failures, msg)
	r.logf("FAILED %s", msg)
}

// begin starts t and waits until it is ready and has reported a canary.
func (r *runner) begin(t *tool, rep int) (*session, startRun, error) {
	s, err := startSession(t, "benchdrv")
	if err != nil {
		return nil, startRun{}, err
	}
	stopCanary := make(chan struct{})
	go r.canary.run(r.canaryEvery, stopCanary)
	defer close(stopCanary)
	if err := s.waitReady(r.readyTimeout); err != nil {
		_ = s.stop(5 * time.Second)
		return nil, startRun{}, err
	}
	select {
	case <-s.firstEv:
	case <-s.exited:
		return nil, startRun{}, fmt.Errorf("%s exited: %v\n%s", t.ID, s.exitErr, s.output())
	case <-time.After(r.readyTimeout):
		_ = s.stop(5 * time.Second)
		return nil, startRun{}, fmt.Errorf("%s reported no canary connect within %v\n%s", t.ID, r.readyTimeout, s.output())
	}
	sr := startRun{Tool: t.ID, Rep: rep,
		ReadyMs:      float64(s.readyAt.Load()) / 1e6,
		FirstEventMs: float64(s.firstEvAt.Load()) / 1e6}
	return s, sr, nil
}

// session runs one tool through one repetition.
func (r *runner) session(t *tool, rep int, conns []int) error {
	s, sr, err := r.begin(t, rep)
	if err != nil {
		return err
	}
	defer s.stop(30 * time.Second)
	for i, c := range conns {
		// At the top rate (all connectors), the prober also runs.
		var p *prober
		probed := make(chan struct{})
		if i == len(conns)-1 && r.topLat > 0 {
			p = &prober{}
			s.probe.Store(p)
			go func() { p.run(r.canary.sa, r.topLat, r.dur); close(probed) }()
		} else {
			close(probed)
		}
		lr, err := r.load(s, c, 0, r.dur)
		<-probed
		if err != nil {
			return err
		}
		if p != nil {
			p.wait(r.quiet)
			s.probe.Store(nil)
			lr.LatMs, lr.LatRate = p.lat, r.topLat
		}
		lr.Tool, lr.Rep, lr.Phase = t.ID, rep, "overhead"
		r.res.Load = append(r.res.Load, lr)
		p50, p99, n := p.quantilesOrZero()
		r.logf("rep %d %s c=%d: %.0f/s %.0f ns/connect, reported %d/%d, lost %d, tool cpu %.3fs, latency p50 %.1f p99 %.1f ms (n=%d)",
			rep, t.ID, c, lr.Rate, lr.NsPerConnect, lr.Reported, lr.Attempts, lr.Lost, lr.ToolCPUSecs, p50, p99, n)
	}
	for _, rate := range r.latRates {
		lr := r.paced(s, rate)
		lr.Tool, lr.Rep = t.ID, rep
		r.res.Load = append(r.res.Load, lr)
		p50, p99, _ := (&prober{lat: lr.LatMs}).quantiles()
		r.logf("rep %d %s paced %.0f/s: reported %d/%d, tool cpu %.1f us/connect, latency p50 %.1f p99 %.1f ms",
			rep, t.ID, rate, lr.Reported, lr.Attempts, lr.ToolCPUSecs*1e6/float64(max(lr.Attempts, 1)), p50, p99)
	}
	st := procStatus(s.pid(), "VmHWM", "VmRSS", "RssFile", "Threads")
	sr.PeakRSSKiB = st["VmHWM"]
	sr.SteadyRSSKiB = st["VmRSS"]
	sr.FileRSSKiB = st["RssFile"]
	sr.Threads = int(st["Threads"])
	r.res.Start = append(r.res.Start, sr)
	r.logf("rep %d %s: ready %.1f ms, first event %.1f ms, VmHWM %.1f MiB", rep, t.ID, sr.ReadyMs, sr.FirstEventMs, sr.PeakRSSKiB/1024)
	return s.stop(30 * time.Second)
}

// paced runs the latency prober alone at rate for the load duration: the
// tool's CPU per connect and its display latency at that rate.
func (r *runner) paced(s *session, rate float64) loadRun {
	p := &prober{}
	s.probe.Store(p)
	cpu0, t0 := procCPU(s.pid()), time.Now()
	p.run(r.canary.sa, rate, r.dur)
	p.wait(max(r.quiet, 500*time.Millisecond))
	secs := time.Since(t0).Seconds()
	s.probe.Store(nil)
	lr := loadRun{Phase: "paced", Conns: 1, TargetRate: rate, LatRate: rate, Attempts: p.sent.Load(),
		Connects: p.sent.Load(), Secs: secs, ToolCPUSecs: procCPU(s.pid()) - cpu0}
	lr.Rate = float64(lr.Attempts) / secs
	lr.LatMs = p.lat
	lr.Reported = uint64(len(p.lat))
	lr.Missing = int64(lr.Attempts) - int64(lr.Reported)
	return lr
}

type connloopOut struct {
	Connectors   int     `json:"connectors"`
	Connects     uint64  `json:"connects"`
	Errors       uint64  `json:"errors"`
	Attempts     uint64  `json:"attempts"`
	Secs         float64 `json:"secs"`
	Rate         float64 `json:"rate"`
	NsPerConnect float64 `json:"ns_per_connect"`
	FirstError   string  `json:"first_error"`
}

// load runs connloop once; with a session, counts what the tool reported.
func (r *runner) load(s *session, conns int, rate float64, dur time.Duration) (loadRun, error) {
	var ev0, lost0 uint64
	var cpu0 float64
	if s != nil {
		ev0, lost0, cpu0 = s.events.Load(), s.lostNow(), procCPU(s.pid())
	}
	sys0 := sysBusy()
	args := []string{"-c", strconv.Itoa(conns), "-d", dur.String()}
	if rate > 0 {
		args = append(args, "-rate", strconv.FormatFloat(rate, 'f', 0, 64))
	}
	outb, err := exec.Command(r.connloop, args...).Output()
	if err != nil {
		return loadRun{}, fmt.Errorf("connloop %v: %w", args, err)
	}
	var o connloopOut
	if err := json.Unmarshal(outb, &o); err != nil {
		return loadRun{}, fmt.Errorf("connloop output %q: %w", outb, err)
	}
	lr := loadRun{Conns: conns, TargetRate: rate, Attempts: o.Attempts, Connects: o.Connects, Errors: o.Errors,
		Secs: o.Secs, Rate: o.Rate, NsPerConnect: o.NsPerConnect}
	if s != nil {
		// Drain: until every connect is reported, or no line came for a while.
		last, lastChange := s.events.Load(), time.Now()
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
			cur := s.events.Load()
			if cur-ev0 >= o.Attempts {
				break
			}
			if cur != last {
				last, lastChange = cur, time.Now()
			} else if time.Since(lastChange) > r.quiet {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // late loss reports
		lr.ToolCPUSecs = procCPU(s.pid()) - cpu0
		lr.Reported = s.events.Load() - ev0
		lr.Lost = s.lostNow() - lost0
		lr.Missing = int64(lr.Attempts) - int64(lr.Reported)
	}
	lr.SysCPUSecs = sysBusy() - sys0
	return lr, nil
}

// capacity finds, in a fresh session, the highest paced rate at which the
// tool reports every connect with no loss.
func (r *runner) capacity(t *tool, conns int, dur time.Duration, steps int) error {
	s, _, err := r.begin(t, 0)
	if err != nil {
		return err
	}
	defer s.stop(30 * time.Second)
	ok := func(lr loadRun) bool { return lr.Lost == 0 && lr.Missing <= 0 }
	top, err := r.load(s, conns, 0, dur)
	if err != nil {
		return err
	}
	top.Tool, top.Phase = t.ID, "capacity"
	r.res.Load = append(r.res.Load, top)
	cp := capacity{Tool: t.ID, Conns: conns, MaxRate: top.Rate, MaxRateOK: ok(top)}
	r.logf("capacity %s c=%d unpaced: %.0f/s reported %d/%d lost %d", t.ID, conns, top.Rate, top.Reported, top.Attempts, top.Lost)
	if cp.MaxRateOK {
		cp.Sustained, cp.GeneratorOK = top.Rate, true
	} else {
		cp.AboveRate, cp.AboveLost, cp.AboveMiss = top.Rate, top.Lost, top.Missing
		lo, hi := 0.0, top.Rate
		for i := 0; i < steps; i++ {
			mid := (lo + hi) / 2
			if lo == 0 && i == 0 {
				mid = hi / 2
			}
			lr, err := r.load(s, conns, mid, dur)
			if err != nil {
				return err
			}
			lr.Tool, lr.Phase = t.ID, "capacity"
			r.res.Load = append(r.res.Load, lr)
			r.logf("capacity %s c=%d at %.0f/s: got %.0f/s reported %d/%d lost %d", t.ID, conns, mid, lr.Rate, lr.Reported, lr.Attempts, lr.Lost)
			if ok(lr) {
				lo = mid
				cp.Sustained = lr.Rate
			} else {
				hi = mid
				cp.AboveRate, cp.AboveLost, cp.AboveMiss = lr.Rate, lr.Lost, lr.Missing
			}
		}
	}
	r.res.Capacity = append(r.res.Capacity, cp)
	return nil
}

// soak runs t under a steady paced load for d, sampling its memory, task
// and fd counts every chunk.
func (r *runner) soak(t *tool, conns int, d time.Duration, frac float64) error {
	base, err := r.load(nil, conns, 0, 3*time.Second)
	if err != nil {
		return err
	}
	rate := base.Rate * frac
	s, _, err := r.begin(t, 0)
	if err != nil {
		return err
	}
	defer s.stop(30 * time.Second)
	sk := &soak{Tool: t.ID, Rate: rate}
	r.res.Soak = sk
	chunk := 10 * time.Second
	if d < chunk {
		chunk = d
	}
	start := time.Now()
	cpu0 := procCPU(s.pid())
	pid := s.pid()
	for time.Since(start) < d {
		lr, err := r.load(s, conns, rate, chunk)
		if err != nil {
			return err
		}
		lr.Tool, lr.Phase = t.ID, "soak"
		r.res.Load = append(r.res.Load, lr)
		st := procStatus(pid, "VmRSS", "VmHWM")
		smp := soakSample{T: time.Since(start).Seconds(), RSSKiB: st["VmRSS"], HWMKiB: st["VmHWM"],
			Tasks: countDir(fmt.Sprintf("/proc/%d/task", pid)), FDs: countDir(fmt.Sprintf("/proc/%d/fd", pid)),
			Attempts: lr.Attempts, Reported: lr.Reported, Lost: lr.Lost}
		sk.Samples = append(sk.Samples, smp)
		sk.Attempts += lr.Attempts
		sk.Reported += lr.Reported
		sk.Lost += lr.Lost
		r.logf("soak %s t=%.0fs: %.0f/s rss %.1f MiB tasks %d fds %d reported %d/%d lost %d",
			t.ID, smp.T, lr.Rate, smp.RSSKiB/1024, smp.Tasks, smp.FDs, lr.Reported, lr.Attempts, lr.Lost)
	}
	sk.Secs = time.Since(start).Seconds()
	if sk.Attempts > 0 {
		sk.CPUPerCon = (procCPU(pid) - cpu0) * 1e6 / float64(sk.Attempts)
	}
	summarizeSoak(sk)
	return nil
}

// summarizeSoak calls memory flat when, after the first sample (warm-up),
// RSS never grows by more than 10% or 2 MiB over its first value, and the
// task and fd counts flat when they never change after warm-up.
func summarizeSoak(sk *soak) {
	if len(sk.Samples) == 0 {
		return
	}
	first := sk.Samples[0]
	sk.RSSFirst, sk.RSSLast = first.RSSKiB, sk.Samples[len(sk.Samples)-1].RSSKiB
	sk.TasksMin, sk.TasksMax, sk.FDsMin, sk.FDsMax = first.Tasks, first.Tasks, first.FDs, first.FDs
	sk.RSSFlat, sk.TaskFlat, sk.FDFlat = true, true, true
	for _, s := range sk.Samples {
		sk.RSSMax = max(sk.RSSMax, s.RSSKiB)
		sk.TasksMin, sk.TasksMax = min(sk.TasksMin, s.Tasks), max(sk.TasksMax, s.Tasks)
		sk.FDsMin, sk.FDsMax = min(sk.FDsMin, s.FDs), max(sk.FDsMax, s.FDs)
		if s.RSSKiB > first.RSSKiB*1.1 && s.RSSKiB > first.RSSKiB+2048 {
			sk.RSSFlat = false
		}
	}
	sk.TaskFlat = sk.TasksMax == sk.TasksMin
	sk.FDFlat = sk.FDsMax == sk.FDsMin
}
