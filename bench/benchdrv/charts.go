package main

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// chart is one PNG written next to RESULTS.md and linked at its top.
type chart struct {
	File  string // base name
	Title string
}

// charts draws, per environment, the tracer CPU per connect, start-up,
// memory and display latency of every tool from the table's rows.
func charts(s *summary, dir string) ([]chart, error) {
	var out []chart
	find := func(env, fig, tool string) (row, bool) {
		for _, r := range s.Rows {
			if r.Env == env && r.Figure == fig && r.Tool == tool {
				return r, true
			}
		}
		return row{}, false
	}
	for _, e := range s.Envs {
		if e.Soak != nil {
			continue
		}
		var tools []string
		for _, t := range e.Tools {
			tools = append(tools, t.ID)
		}
		// CPU per connect: groups are the load levels, bars the tools.
		var groups []string
		var figs []string
		for _, c := range e.Conns {
			groups = append(groups, fmt.Sprintf("%d connector(s), top rate", c))
			figs = append(figs, fmt.Sprintf("tracer process CPU us per connect, %d connector(s)", c))
		}
		for _, rate := range pacedRates(e) {
			if rate < 100 {
				continue // idle wake-ups dominate: in the table only
			}
			groups = append(groups, fmt.Sprintf("paced %g/s", rate))
			figs = append(figs, fmt.Sprintf("tracer process CPU us per connect, paced %g/s", rate))
		}
		series := map[string][]float64{}
		for _, t := range tools {
			for _, f := range figs {
				r, ok := find(e.Env, f, t)
				v := math.NaN()
				if ok {
					v = r.Median
				}
				series[t] = append(series[t], v)
			}
		}
		if c, err := barChart(dir, e.Env+"-cpu.png", e.Env+": tracer CPU per connect (us, lower is better)", "us per connect", groups, tools, series); err != nil {
			return nil, err
		} else if c != nil {
			out = append(out, *c)
		}
		// Start-up and memory: one group per tool.
		series = map[string][]float64{}
		for _, t := range tools {
			for _, f := range []string{"start-up: exec to ready line"} {
				if r, ok := find(e.Env, f, t); ok && t != "bcc" { // bcc's 30 s would flatten the rest
					series[t] = append(series[t], r.Median)
				}
			}
		}
		if c, err := barChart(dir, e.Env+"-startup.png", e.Env+": start-up, exec to ready line (ms; bcc left out)", "ms", []string{"start-up"}, tools, series); err != nil {
			return nil, err
		} else if c != nil {
			out = append(out, *c)
		}
		series = map[string][]float64{}
		for _, t := range tools {
			if t == "bcc" || t == "bpftrace" {
				continue // 100-200 MiB: in the table
			}
			for _, f := range []string{"peak RSS (VmHWM) under load", "steady RSS (VmRSS after the load runs)"} {
				v := math.NaN()
				if r, ok := find(e.Env, f, t); ok {
					v = r.Max // the goal is on every repetition
				}
				series[t] = append(series[t], v)
			}
		}
		if c, err := barChart(dir, e.Env+"-rss.png", e.Env+": memory, worst repetition (MiB; bcc and bpftrace left out)", "MiB",
			[]string{"peak (VmHWM)", "steady (VmRSS after load)"}, tools, series); err != nil {
			return nil, err
		} else if c != nil {
			out = append(out, *c)
		}
		if c, err := latencyChart(dir, e, tools, find); err != nil {
			return nil, err
		} else if c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}

func barChart(dir, file, title, ylabel string, groups, tools []string, series map[string][]float64) (*chart, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	n := 0
	for _, t := range tools {
		if len(series[t]) > 0 {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	w := vg.Points(float64(min(90/n, 18)))
	i := 0
	for _, t := range tools {
		vals := series[t]
		if len(vals) == 0 {
			continue
		}
		v := make(plotter.Values, len(groups))
		for j := range v {
			if j < len(vals) && !math.IsNaN(vals[j]) {
				v[j] = vals[j]
			}
		}
		b, err := plotter.NewBarChart(v, w)
		if err != nil {
			return nil, err
		}
		b.LineStyle.Width = 0
		b.Color = plotutil.Color(i)
		b.Offset = w * vg.Length(float64(i)-float64(n-1)/2)
		p.Add(b)
		p.Legend.Add(t, b)
		i++
	}
	p.Legend.Top = true
	p.Y.Min = 0
	p.Y.Max *= 1.25 // room for the legend
	p.NominalX(groups...)
	p.Add(plotter.NewGrid())
	if err := p.Save(vg.Length(7.5)*vg.Inch, 4*vg.Inch, filepath.Join(dir, file)); err != nil {
		return nil, err
	}
	return &chart{File: file, Title: title}, nil
}

// latencyChart: p99 display latency against the rate (log scale), one
// line per tool, with the 100 ms goal.
func latencyChart(dir string, e *Results, tools []string, find func(env, fig, tool string) (row, bool)) (*chart, error) {
	p := plot.New()
	p.Title.Text = e.Env + ": display latency p99 (ms) against connect rate"
	p.X.Label.Text = "connects/s (log)"
	p.Y.Label.Text = "ms"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	top := 0
	if n := len(e.Conns); n > 0 {
		top = e.Conns[n-1]
	}
	xmax := 1.0
	drawn := 0
	for i, t := range tools {
		var pts plotter.XYs
		for _, rate := range pacedRates(e) {
			if r, ok := find(e.Env, fmt.Sprintf("display latency p99, paced %g/s", rate), t); ok {
				pts = append(pts, plotter.XY{X: rate, Y: r.Median})
			}
		}
		if r, ok := find(e.Env, fmt.Sprintf("display latency p99, top rate, %d connector(s)", top), t); ok {
			if mr, ok := find(e.Env, fmt.Sprintf("max connect rate traced, %d connector(s)", top), t); ok && mr.Median > 0 {
				pts = append(pts, plotter.XY{X: mr.Median, Y: r.Median})
			}
		}
		if len(pts) == 0 {
			continue
		}
		for _, q := range pts {
			xmax = math.Max(xmax, q.X)
		}
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		s.Color = plotutil.Color(i)
		s.Shape = plotutil.Shape(i)
		p.Add(l, s)
		p.Legend.Add(t, l, s)
		drawn++
	}
	if drawn == 0 {
		return nil, nil
	}
	g, err := plotter.NewLine(plotter.XYs{{X: 1, Y: 100}, {X: xmax, Y: 100}})
	if err != nil {
		return nil, err
	}
	g.Color = color.RGBA{R: 200, A: 255}
	g.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	p.Add(g)
	p.Legend.Add("goal: p99 < 100 ms", g)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	file := e.Env + "-latency.png"
	if err := p.Save(vg.Length(7.5)*vg.Inch, 4*vg.Inch, filepath.Join(dir, file)); err != nil {
		return nil, err
	}
	return &chart{File: file, Title: p.Title.Text}, nil
}

// chartLinks is the markdown that opens RESULTS.md.
func chartLinks(cs []chart) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "![%s](%s)\n\n", c.Title, c.File)
	}
	return b.String()
}
