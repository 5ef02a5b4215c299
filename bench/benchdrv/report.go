package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// row is one line of the results table.
type row struct {
	Env    string  `json:"env"`
	Figure string  `json:"figure"`
	Tool   string  `json:"tool"`
	Mode   string  `json:"mode"`
	Unit   string  `json:"unit"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
	Ratio  string  `json:"ratio,omitempty"`
	Goal   string  `json:"goal,omitempty"`
	Met    string  `json:"met,omitempty"` // met, missed, "" (no goal), n/a
}

type summary struct {
	Generated string     `json:"generated"`
	Rows      []row      `json:"rows"`
	Envs      []*Results `json:"envs"`
	Notes     []string   `json:"notes,omitempty"`
	// Before is the earlier run the report compares against (its rows
	// only; its raw measurements stay in its own file).
	Before *beforeRef `json:"before,omitempty"`
}

type beforeRef struct {
	Path      string `json:"path"`
	Generated string `json:"generated"`
	Rows      []row  `json:"rows"`
}

func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	md := fs.String("md", "bench/RESULTS.md", "markdown table to write")
	js := fs.String("json", "bench/results.json", "machine-readable results to write")
	notes := fs.String("notes", "", "markdown appended after the table (findings)")
	before := fs.String("before", "", "summary (results.json) of an earlier run: adds a before/after table")
	var extra stringList
	fs.Var(&extra, "note", "one-line note for the table (repeatable), e.g. why a peer could not run")
	_ = fs.Parse(args)
	var envs []*Results
	for _, f := range fs.Args() {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r Results
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		envs = append(envs, &r)
	}
	sum := summary{Generated: time.Now().UTC().Format(time.RFC3339), Envs: envs, Notes: extra}
	for _, e := range envs {
		sum.Rows = append(sum.Rows, rows(e)...)
	}
	if *before != "" {
		b, err := os.ReadFile(*before)
		if err != nil {
			return err
		}
		var prev summary
		if err := json.Unmarshal(b, &prev); err != nil {
			return fmt.Errorf("%s: %w", *before, err)
		}
		sum.Before = &beforeRef{Path: *before, Generated: prev.Generated, Rows: prev.Rows}
	}
	b, _ := json.MarshalIndent(sum, "", " ")
	if err := os.WriteFile(*js, append(b, '\n'), 0o644); err != nil {
		return err
	}
	var notesText string
	if *notes != "" {
		if b, err := os.ReadFile(*notes); err == nil {
			notesText = string(b)
		}
	}
	cs, err := charts(&sum, filepath.Dir(*md))
	if err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	return os.WriteFile(*md, []byte(markdown(&sum, notesText, chartLinks(cs))), 0o644)
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, "; ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func stats(xs []float64) (med, lo, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		med = s[n/2]
	} else {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}

func mk(e *Results, fig, toolID, unit string, xs []float64) row {
	med, lo, hi := stats(xs)
	r := row{Env: e.Env, Figure: fig, Tool: toolID, Unit: unit, Median: med, Min: lo, Max: hi, N: len(xs)}
	for _, t := range e.Tools {
		if t.ID == toolID {
			r.Mode = t.Mode
		}
	}
	return r
}

func isOurs(id string) bool {
	return strings.HasPrefix(id, "ours-") || strings.HasPrefix(id, "ourtcpconnect-") || strings.HasPrefix(id, "ourmetrics-")
}

func has(e *Results, id string) bool {
	for _, s := range e.Start {
		if s.Tool == id {
			return true
		}
	}
	return false
}

func goal(r *row, text string, ok bool) {
	r.Goal = text
	r.Met = "missed"
	if ok {
		r.Met = "met"
	}
}

// rows computes the table rows of one environment.
func rows(e *Results) []row {
	var out []row
	startOf := func(id string, f func(startRun) float64) []float64 {
		var xs []float64
		for _, s := range e.Start {
			if s.Tool == id {
				xs = append(xs, f(s))
			}
		}
		return xs
	}
	ready := map[string]float64{}
	for _, t := range e.Tools {
		xs := startOf(t.ID, func(s startRun) float64 { return s.ReadyMs })
		if len(xs) > 0 {
			ready[t.ID], _, _ = stats(xs)
		}
	}
	// 1. Start-up.
	for _, t := range e.Tools {
		xs := startOf(t.ID, func(s startRun) float64 { return s.ReadyMs })
		if len(xs) == 0 {
			continue
		}
		r := mk(e, "start-up: exec to ready line", t.ID, "ms", xs)
		var ratios []string
		if isOurs(t.ID) {
			if name, ref, ok := startAnchor(t.Mode, ready); ok {
				x := r.Median / ref
				ratios = append(ratios, fmt.Sprintf("%.2fx %s", x, name))
				goal(&r, "<= 1.2x "+name+" (same mode)", x <= 1.2)
			}
			if bc, ok := ready["bcc"]; ok {
				x := bc / r.Median
				ratios = append(ratios, fmt.Sprintf("bcc %.1fx slower", x))
				if r.Goal != "" {
					r.Goal += "; bcc >= 10x slower"
					if x < 10 {
						r.Met = "missed"
					}
				} else {
					goal(&r, "bcc >= 10x slower", x >= 10)
				}
			}
			for _, peer := range []string{"libbpf-tools", "tcpconnlat", "bpftrace"} {
				if v, ok := ready[peer]; ok && !strings.Contains(r.Goal, peer) {
					ratios = append(ratios, fmt.Sprintf("%.2fx %s", r.Median/v, peer))
				}
			}
		}
		r.Ratio = strings.Join(ratios, ", ")
		out = append(out, r)
	}
	for _, t := range e.Tools {
		xs := startOf(t.ID, func(s startRun) float64 { return s.FirstEventMs })
		if len(xs) == 0 {
			continue
		}
		out = append(out, mk(e, "start-up: exec to first connect reported", t.ID, "ms", xs))
	}
	// 2. Memory.
	for _, t := range e.Tools {
		xs := startOf(t.ID, func(s startRun) float64 { return s.PeakRSSKiB / 1024 })
		if len(xs) == 0 {
			continue
		}
		r := mk(e, "peak RSS (VmHWM) under load", t.ID, "MiB", xs)
		if isOurs(t.ID) {
			goal(&r, "<= 15 MiB, every repetition", r.Max <= 15)
			if _, lo, _ := stats(startOf("libbpf-tools", func(s startRun) float64 { return s.PeakRSSKiB / 1024 })); !math.IsNaN(lo) {
				m, _, _ := stats(startOf("libbpf-tools", func(s startRun) float64 { return s.PeakRSSKiB / 1024 }))
				r.Ratio = fmt.Sprintf("%.2fx libbpf-tools", r.Median/m)
			}
		}
		out = append(out, r)
		xs = startOf(t.ID, func(s startRun) float64 { return s.SteadyRSSKiB / 1024 })
		if len(xs) > 0 && xs[0] > 0 {
			r := mk(e, "steady RSS (VmRSS after the load runs)", t.ID, "MiB", xs)
			if isOurs(t.ID) {
				goal(&r, "<= 10 MiB, every repetition", r.Max <= 10)
			}
			out = append(out, r)
		}
		xs = startOf(t.ID, func(s startRun) float64 { return s.FileRSSKiB / 1024 })
		if len(xs) > 0 && xs[0] > 0 && (isOurs(t.ID) || t.ID == "libbpf-tools") {
			out = append(out, mk(e, "of which file pages (RssFile: the binary, clean)", t.ID, "MiB", xs))
			xs = startOf(t.ID, func(s startRun) float64 { return (s.PeakRSSKiB - s.FileRSSKiB) / 1024 })
			out = append(out, mk(e, "peak RSS less file pages (VmHWM - RssFile)", t.ID, "MiB", xs))
		}
	}
	// 3. Overhead, per connector count: per repetition, tool minus the
	// baseline of the same repetition.
	base := map[[2]int]loadRun{}
	for _, l := range e.Load {
		if l.Tool == "baseline" && l.Phase == "overhead" {
			base[[2]int{l.Rep, l.Conns}] = l
		}
	}
	perConn := func(l loadRun, secs float64) float64 {
		if l.Attempts == 0 {
			return math.NaN()
		}
		return secs * 1e6 / float64(l.Attempts)
	}
	added := map[string]float64{}  // tool/conns -> median added ns
	cpuMed := map[string]float64{} // tool/conns -> median tracer CPU us
	for _, c := range e.Conns {
		var bx []float64
		for _, l := range e.Load {
			if l.Tool == "baseline" && l.Phase == "overhead" && l.Conns == c {
				bx = append(bx, l.NsPerConnect)
			}
		}
		if len(bx) > 0 {
			r := mk(e, fmt.Sprintf("ns per connect, no tracer, %d connector(s)", c), "baseline", "ns", bx)
			out = append(out, r)
		}
		var bsys []float64
		for _, l := range e.Load {
			if l.Tool == "baseline" && l.Phase == "overhead" && l.Conns == c {
				bsys = append(bsys, perConn(l, l.SysCPUSecs))
			}
		}
		if len(bsys) > 0 {
			out = append(out, mk(e, fmt.Sprintf("system CPU us per connect, no tracer, %d connector(s)", c), "baseline", "us", bsys))
		}
		for _, t := range e.Tools {
			var ns, sys, tcpu []float64
			for _, l := range e.Load {
				if l.Tool != t.ID || l.Phase != "overhead" || l.Conns != c {
					continue
				}
				b, ok := base[[2]int{l.Rep, c}]
				if !ok {
					continue
				}
				ns = append(ns, l.NsPerConnect-b.NsPerConnect)
				sys = append(sys, perConn(l, l.SysCPUSecs)-perConn(b, b.SysCPUSecs))
				tcpu = append(tcpu, perConn(l, l.ToolCPUSecs))
			}
			if len(ns) == 0 {
				continue
			}
			r := mk(e, fmt.Sprintf("added ns per connect, %d connector(s)", c), t.ID, "ns", ns)
			added[fmt.Sprintf("%s/%d", t.ID, c)] = r.Median
			out = append(out, r)
			tr := mk(e, fmt.Sprintf("tracer process CPU us per connect, %d connector(s)", c), t.ID, "us", tcpu)
			cpuMed[fmt.Sprintf("%s/%d", t.ID, c)] = tr.Median
			out = append(out, tr)
			out = append(out, mk(e, fmt.Sprintf("added system CPU us per connect, %d connector(s)", c), t.ID, "us", sys))
		}
	}
	// Goals on overhead: ours in kprobe mode vs libbpf-tools (kprobe);
	// fentry strictly lower than kprobe.
	for i := range out {
		r := &out[i]
		if !strings.HasPrefix(r.Figure, "added ns per connect") {
			continue
		}
		var c int
		fmt.Sscanf(strings.TrimPrefix(r.Figure, "added ns per connect, "), "%d", &c)
		lb, okLB := added[fmt.Sprintf("libbpf-tools/%d", c)]
		kp, okKP := added[fmt.Sprintf("ours-kprobe/%d", c)]
		bt, okBT := added[fmt.Sprintf("bpftrace/%d", c)]
		switch {
		case r.Tool == "ours-kprobe" && okLB:
			r.Ratio = ratioStr(r.Median, lb, "libbpf-tools")
			goal(r, "<= libbpf-tools (same mode: kprobe)", r.Median <= lb)
		case r.Tool == "ours-fentry" && okKP:
			r.Ratio = ratioStr(r.Median, kp, "ours-kprobe")
			goal(r, "< ours-kprobe", r.Median < kp)
		case r.Tool == "ours-tracepoint" && okBT:
			r.Ratio = ratioStr(r.Median, bt, "bpftrace")
		case isOurs(r.Tool) && okLB:
			r.Ratio = ratioStr(r.Median, lb, "libbpf-tools")
		}
	}
	cpuGoals(e, out, cpuMed)
	out = append(out, pacedRows(e)...)
	out = append(out, latencyRows(e)...)
	// 4. Capacity at every connector count, from the unpaced runs.
	for _, c := range e.Conns {
		for _, t := range e.Tools {
			var rate []float64
			var lostRuns, missRuns, runs int
			var lost uint64
			var miss int64
			for _, l := range e.Load {
				if l.Tool != t.ID || l.Phase != "overhead" || l.Conns != c {
					continue
				}
				runs++
				rate = append(rate, l.Rate)
				if l.Lost > 0 {
					lostRuns++
					lost += l.Lost
				}
				if l.Missing > 0 {
					missRuns++
					miss += l.Missing
				}
			}
			if runs == 0 {
				continue
			}
			r := mk(e, fmt.Sprintf("max connect rate traced, %d connector(s)", c), t.ID, "connects/s", rate)
			switch {
			case lostRuns == 0 && missRuns == 0:
				r.Ratio = fmt.Sprintf("all reported in %d/%d runs, lost 0", runs, runs)
			case miss > int64(lost):
				r.Ratio = fmt.Sprintf("missing %d (lost reported %d) in %d/%d runs: some SILENTLY missing", miss, lost, missRuns, runs)
			default:
				r.Ratio = fmt.Sprintf("missing %d, all reported as lost (%d), in %d/%d runs", miss, lost, max(missRuns, lostRuns), runs)
			}
			if isOurs(t.ID) && c == e.Conns[len(e.Conns)-1] {
				goal(&r, "0 lost at the highest rate generated", lostRuns == 0 && missRuns == 0)
			}
			out = append(out, r)
		}
	}
	for _, cp := range e.Capacity {
		r := row{Env: e.Env, Figure: fmt.Sprintf("capacity: highest rate with every connect reported, %d connector(s)", cp.Conns),
			Tool: cp.Tool, Unit: "connects/s", Median: cp.Sustained, Min: cp.Sustained, Max: cp.Sustained, N: 1}
		for _, t := range e.Tools {
			if t.ID == cp.Tool {
				r.Mode = t.Mode
			}
		}
		if cp.GeneratorOK {
			r.Ratio = fmt.Sprintf(">= %.0f/s: the generator's limit with this tracer attached", cp.MaxRate)
		} else {
			kind := "reported as lost"
			if cp.AboveMiss > int64(cp.AboveLost) {
				kind = "SILENTLY missing"
			}
			r.Ratio = fmt.Sprintf("above it (%.0f/s): %d missing, %d lost reported: %s", cp.AboveRate, cp.AboveMiss, cp.AboveLost, kind)
		}
		out = append(out, r)
	}
	_ = has
	for i := range out {
		switch {
		case out[i].Goal == "":
		case e.Smoke:
			out[i].Met = "smoke-only"
		case emulatedForeign(e.Env):
			out[i].Met = "context"
		}
	}
	return out
}

// emulatedForeign tells an environment of another architecture than the
// host's, emulated instruction by instruction (the arm64 guest): its
// figures are context, never held against the goals.
func emulatedForeign(env string) bool { return strings.HasPrefix(env, "vm-arm64") }

// startAnchor is the peer our start-up is held against in mode: the
// fastest peer of the same attach mode (tcpconnlat for fentry,
// libbpf-tools tcpconnect for kprobe, the better of bpftrace and
// libbpf-tools for tracepoint).
func startAnchor(mode string, ready map[string]float64) (string, float64, bool) {
	var peers []string
	switch mode {
	case "fentry":
		peers = []string{"tcpconnlat"}
	case "kprobe":
		peers = []string{"libbpf-tools"}
	case "tracepoint":
		peers = []string{"bpftrace", "libbpf-tools"}
	}
	name, best := "", math.Inf(1)
	for _, p := range peers {
		if v, ok := ready[p]; ok && v < best {
			name, best = p, v
		}
	}
	return name, best, name != ""
}

// cpuGoals: the tracer's own CPU per connect at the top rates, ours in
// kprobe mode against libbpf-tools (the VM) and in tracepoint mode
// against bpftrace (where no kprobe peer runs: the host).
func cpuGoals(e *Results, out []row, cpuMed map[string]float64) {
	for i := range out {
		r := &out[i]
		if !strings.HasPrefix(r.Figure, "tracer process CPU us per connect, ") || !isOurs(r.Tool) {
			continue
		}
		var c int
		fmt.Sscanf(strings.TrimPrefix(r.Figure, "tracer process CPU us per connect, "), "%d", &c)
		lb, okLB := cpuMed[fmt.Sprintf("libbpf-tools/%d", c)]
		bt, okBT := cpuMed[fmt.Sprintf("bpftrace/%d", c)]
		// Metrics mode against the same command and mode without it:
		// what counting into the series costs per connect (issue 15).
		plain, okPlain := cpuMed[fmt.Sprintf("ourtcpconnect-%s/%d", strings.TrimPrefix(r.Tool, "ourmetrics-"), c)]
		switch {
		case strings.HasPrefix(r.Tool, "ourmetrics-") && okPlain:
			r.Ratio = fmt.Sprintf("%+.2f us vs without --metrics (%s)", r.Median-plain, ratioStr(r.Median, plain, "ourtcpconnect"))
		case r.Tool == "ours-kprobe" && okLB:
			r.Ratio = ratioStr(r.Median, lb, "libbpf-tools")
			goal(r, "<= 0.5x libbpf-tools", r.Median <= 0.5*lb)
		case r.Tool == "ours-tracepoint" && okBT && !okLB:
			r.Ratio = ratioStr(r.Median, bt, "bpftrace")
			goal(r, "<= 0.5x bpftrace", r.Median <= 0.5*bt)
		case okLB:
			r.Ratio = ratioStr(r.Median, lb, "libbpf-tools")
		case okBT:
			r.Ratio = ratioStr(r.Median, bt, "bpftrace")
		}
	}
}

// pacedRates lists the prober-alone rates of e, ascending.
func pacedRates(e *Results) []float64 {
	var rates []float64
	for _, l := range e.Load {
		if l.Phase == "paced" && !slices.Contains(rates, l.TargetRate) {
			rates = append(rates, l.TargetRate)
		}
	}
	sort.Float64s(rates)
	return rates
}

// pacedRows: the tracer's CPU per connect at the prober's fixed rates;
// at 100/s and above ours is held to half the peer's, like at the top rate.
func pacedRows(e *Results) []row {
	var out []row
	for _, rate := range pacedRates(e) {
		med := map[string]float64{}
		var rs []row
		for _, t := range e.Tools {
			var xs []float64
			for _, l := range e.Load {
				if l.Tool == t.ID && l.Phase == "paced" && l.TargetRate == rate && l.Attempts > 0 {
					xs = append(xs, l.ToolCPUSecs*1e6/float64(l.Attempts))
				}
			}
			if len(xs) == 0 {
				continue
			}
			r := mk(e, fmt.Sprintf("tracer process CPU us per connect, paced %g/s", rate), t.ID, "us", xs)
			med[t.ID] = r.Median
			rs = append(rs, r)
		}
		for i := range rs {
			r := &rs[i]
			if !isOurs(r.Tool) {
				continue
			}
			peer := "libbpf-tools"
			if _, ok := med[peer]; !ok {
				peer = "bpftrace"
			}
			ref, ok := med[peer]
			if !ok {
				continue
			}
			r.Ratio = ratioStr(r.Median, ref, peer)
			if rate >= 100 && (r.Tool == "ours-kprobe" || (r.Tool == "ours-tracepoint" && peer == "bpftrace")) {
				goal(r, "<= 0.5x "+peer, r.Median <= 0.5*ref)
			}
		}
		out = append(out, rs...)
	}
	return out
}

// latencyRows: display latency, connect to row on the pty, pooled over
// the repetitions, at each prober rate and at the top rate; the spread is
// the range of the per-repetition quantile.
func latencyRows(e *Results) []row {
	type level struct {
		name  string
		match func(loadRun) bool
	}
	var levels []level
	for _, rate := range pacedRates(e) {
		levels = append(levels, level{fmt.Sprintf("paced %g/s", rate), func(l loadRun) bool { return l.Phase == "paced" && l.TargetRate == rate }})
	}
	if n := len(e.Conns); n > 0 {
		c := e.Conns[n-1]
		levels = append(levels, level{fmt.Sprintf("top rate, %d connector(s)", c), func(l loadRun) bool {
			return l.Phase == "overhead" && l.Conns == c && l.LatRate > 0
		}})
	}
	var out []row
	for _, lv := range levels {
		for _, q := range []float64{0.5, 0.99} {
			for _, t := range e.Tools {
				var pooled, per []float64
				sent := 0
				for _, l := range e.Load {
					if l.Tool != t.ID || !lv.match(l) {
						continue
					}
					if len(l.LatMs) > 0 {
						per = append(per, quantile(l.LatMs, q))
					}
					pooled = append(pooled, l.LatMs...)
					if l.Phase == "paced" {
						sent += int(l.Attempts)
					}
				}
				if len(per) == 0 {
					continue
				}
				_, lo, hi := stats(per)
				r := row{Env: e.Env, Figure: fmt.Sprintf("display latency p%g, %s", q*100, lv.name), Tool: t.ID, Mode: t.Mode,
					Unit: "ms", Median: quantile(pooled, q), Min: lo, Max: hi, N: len(per)}
				r.Ratio = fmt.Sprintf("%d rows pooled", len(pooled))
				if sent > len(pooled) {
					r.Ratio += fmt.Sprintf(" (%d connects)", sent)
				}
				if isOurs(t.ID) && q == 0.99 {
					goal(&r, "p99 < 100 ms", r.Median < 100)
				}
				out = append(out, r)
			}
		}
	}
	return out
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ratioStr(x, ref float64, name string) string {
	if ref <= 0 {
		return fmt.Sprintf("%+.0f ns vs %s %+.0f ns", x, name, ref)
	}
	return fmt.Sprintf("%.2fx %s", x/ref, name)
}

func fmtNum(x float64) string {
	switch {
	case math.IsNaN(x):
		return "-"
	case math.Abs(x) >= 100:
		return fmt.Sprintf("%.0f", x)
	case math.Abs(x) >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}

func markdown(s *summary, notes, chartsMD string) string {
	var b strings.Builder
	b.WriteString("# Benchmark results\n\n")
	b.WriteString(chartsMD)
	b.WriteString("Generated by `make bench` (bench/run.sh) at " + s.Generated + ". ")
	b.WriteString("Each figure is the median of the repetitions, with min..max as the spread (n = repetitions). ")
	b.WriteString("Ratios compare tools measured in the same run and environment only; under emulation (the VM) only ratios mean anything.\n\n")
	for _, e := range s.Envs {
		mode := ""
		if e.Smoke {
			mode = " (SMOKE run: one short repetition; every figure of this environment is smoke-only, marked so in the met column, and not compared with the goals)"
		}
		if sk := e.Soak; sk != nil {
			fmt.Fprintf(&b, "- **%s**: kernel %s, %d vCPUs, soak of %s for %.0f s at %.0f connects/s paced, %.0f s wall%s.\n",
				e.Env, e.Kernel, e.NCPU, sk.Tool, sk.Secs, sk.Rate, e.WallSecs, mode)
		} else {
			fmt.Fprintf(&b, "- **%s**: kernel %s, %d vCPUs, %d repetitions of %.0f s load runs, connectors %v, %.0f s wall%s.\n",
				e.Env, e.Kernel, e.NCPU, e.Reps, e.DurSecs, e.Conns, e.WallSecs, mode)
		}
		for _, f := range e.Failures {
			fmt.Fprintf(&b, "  - failure: %s\n", firstLine(f))
		}
	}
	for _, n := range s.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	if s.Before != nil {
		fmt.Fprintf(&b, "- **before**: the run of %s, kept as %s (with its table in %s); the section \"Goals: before and after\" compares the two.\n",
			s.Before.Generated, s.Before.Path, strings.TrimSuffix(s.Before.Path, "results.json")+"RESULTS.md")
	}
	b.WriteString("\nTools: `tcpv4connect` (ours, one row per attach mode), libbpf-tools `tcpconnect` (C, kprobe), bcc `tcpconnect-bpfcc` (Python + LLVM, kprobe), bpftrace with `bench/tcpconnect-tp.bt` (tracepoint sock:inet_sock_set_state). ")
	b.WriteString("Every tool's stdout is a pty (as run by a user), its stderr a pipe.\n\n")
	var goals []row
	for _, e := range s.Envs {
		fmt.Fprintf(&b, "## %s (kernel %s)\n\n", e.Env, e.Kernel)
		n := 0
		for _, r := range s.Rows {
			if r.Env == e.Env {
				n++
			}
		}
		if n > 0 {
			b.WriteString("| figure | tool | mode | median | spread (min..max) | n | ratio / detail | goal | met |\n")
			b.WriteString("|---|---|---|---:|---|---:|---|---|---|\n")
		}
		for _, r := range s.Rows {
			if r.Env != e.Env {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s %s | %s..%s | %d | %s | %s | %s |\n",
				r.Figure, r.Tool, r.Mode, fmtNum(r.Median), r.Unit, fmtNum(r.Min), fmtNum(r.Max), r.N, r.Ratio, r.Goal, r.Met)
			if r.Goal != "" && r.Met != "context" {
				goals = append(goals, r)
			}
		}
		b.WriteString("\n")
		if sk := e.Soak; sk != nil {
			fmt.Fprintf(&b, "### Soak (%s, %.0f s at %.0f connects/s paced)\n\n", sk.Tool, sk.Secs, sk.Rate)
			fmt.Fprintf(&b, "- connects %d, reported %d, lost %d; tracer CPU %.1f us per connect\n", sk.Attempts, sk.Reported, sk.Lost, sk.CPUPerCon)
			fmt.Fprintf(&b, "- RSS first %.1f MiB, last %.1f MiB, max %.1f MiB: %s\n", sk.RSSFirst/1024, sk.RSSLast/1024, sk.RSSMax/1024, flat(sk.RSSFlat))
			if n := len(sk.Samples); n > 0 {
				first, last := sk.Samples[0], sk.Samples[n-1]
				fmt.Fprintf(&b, "- tasks (threads; the goroutine-count proxy) first %d, last %d, max %d: %s; open fds first %d, last %d, max %d: %s\n",
					first.Tasks, last.Tasks, sk.TasksMax, flat(sk.TaskFlat), first.FDs, last.FDs, sk.FDsMax, flat(sk.FDFlat))
				fmt.Fprintf(&b, "- VmHWM first %.1f MiB, last %.1f MiB\n\n", first.HWMKiB/1024, last.HWMKiB/1024)
			}
			b.WriteString("| t (s) | RSS MiB | VmHWM MiB | tasks | fds | connects | reported | lost |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
			for _, x := range sk.Samples {
				fmt.Fprintf(&b, "| %.0f | %.1f | %.1f | %d | %d | %d | %d | %d |\n", x.T, x.RSSKiB/1024, x.HWMKiB/1024, x.Tasks, x.FDs, x.Attempts, x.Reported, x.Lost)
			}
			b.WriteString("\n")
		}
	}
	if s.Before != nil {
		beforeAfter(&b, s)
	} else if len(goals) > 0 {
		b.WriteString("## Goals\n\n| env | goal | tool | figure | value | met |\n|---|---|---|---|---|---|\n")
		for _, r := range goals {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s %s (%s) | %s |\n", r.Env, r.Goal, r.Tool, r.Figure, fmtNum(r.Median), r.Unit, r.Ratio, r.Met)
		}
		b.WriteString("\n")
	}
	if notes != "" {
		b.WriteString(notes)
		if !strings.HasSuffix(notes, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func flat(ok bool) string {
	if ok {
		return "flat"
	}
	return "NOT flat"
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// beforeAfter writes the goal rows of this run next to the same rows
// (env, figure, tool) of the earlier run, plus the tracer-CPU rows of ours
// and libbpf-tools that explain the overhead goals.
func beforeAfter(b *strings.Builder, s *summary) {
	type key struct{ env, fig, tool string }
	prev := map[key]row{}
	for _, r := range s.Before.Rows {
		prev[key{r.Env, r.Figure, r.Tool}] = r
	}
	cell := func(r row) string {
		c := fmt.Sprintf("%s %s (%s..%s)", fmtNum(r.Median), r.Unit, fmtNum(r.Min), fmtNum(r.Max))
		if r.Ratio != "" {
			c += "; " + r.Ratio
		}
		return c
	}
	fmt.Fprintf(b, "## Goals: before and after\n\nBefore: %s (%s). After: this run (%s). "+
		"Each cell: median (min..max) and the ratio measured in the same run; compare ratios, not absolute figures, across runs.\n\n",
		s.Before.Generated, s.Before.Path, s.Generated)
	b.WriteString("| env | figure | tool | goal | before | met before | after | met after |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range s.Rows {
		// Context: the tracer's own CPU per connect, ours against the peer
		// it is compared with in that environment.
		context := strings.HasPrefix(r.Figure, "tracer process CPU us per connect") && r.Goal == "" &&
			((strings.HasPrefix(r.Env, "vm") && (r.Tool == "libbpf-tools" || r.Tool == "ours-kprobe")) ||
				(r.Env == "host" && (r.Tool == "bpftrace" || r.Tool == "ours-tracepoint")))
		if r.Goal == "" && !context {
			continue
		}
		bc, bm := "-", "-"
		if p, ok := prev[key{r.Env, r.Figure, r.Tool}]; ok {
			bc, bm = cell(p), p.Met
			if p.Goal != "" && p.Goal != r.Goal {
				bm += " (its goal then: " + p.Goal + ")"
			}
		}
		goalText, met := r.Goal, r.Met
		if context {
			goalText, met = "(context)", ""
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Env, r.Figure, r.Tool, goalText, bc, bm, cell(r), met)
	}
	b.WriteString("\n")
}
