package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The report is one self-contained HTML page: inline CSS and SVG, no
// scripts, fonts or images, and no URL that a browser would fetch, so it can
// be mailed, archived with the result files and opened offline.

// Report colours: run A is blue, run B red; service time is dashed.
var reportColors = [2]string{"#1f5fae", "#c8372d"}

const (
	chartW    = 1080.0
	chartH    = 300.0
	padLeft   = 70.0
	padRight  = 20.0
	padTop    = 16.0
	padBottom = 46.0
	// spectrumPoints is how many percentiles the spectrum is drawn from,
	// evenly spaced on its log axis from 0 to 99.99.
	spectrumPoints = 200
	// spectrumMaxX is -log10(1 - 99.99/100): the right end of the axis.
	spectrumMaxX = 4.0
)

// WriteReport writes an HTML report of one run (b nil) or of two runs side
// by side, A against B (typically adx against a baseline): a summary table,
// the latency percentile spectrum (corrected and service time, from the
// result's histograms), p50 and p99 per second, the achieved against the
// requested rate per second, and the status mix. The output depends only on
// a and b, so it can be golden-tested.
func WriteReport(w io.Writer, a, b *Result) error {
	if a == nil {
		return fmt.Errorf("cannot write report: no result")
	}
	runs := []*Result{a}
	if b != nil {
		runs = append(runs, b)
	}
	var sb strings.Builder
	title := "adx bench report"
	sb.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	sb.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(&sb, "<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", title, reportCSS)
	fmt.Fprintf(&sb, "<h1>%s</h1>\n", title)
	writeRunList(&sb, runs)
	writeSummary(&sb, runs)

	spec, err := spectrumSeries(runs)
	if err != nil {
		return fmt.Errorf("cannot write report: %w", err)
	}
	sb.WriteString("<h2>Latency by percentile</h2>\n<p class=\"note\">Solid: corrected for coordinated omission (from the intended send time). Dashed: service time (from the actual send). Log-scale percentile axis.</p>\n")
	writeChart(&sb, chart{xLabel: "percentile (%)", yLabel: "latency (ms)", xTicks: spectrumTicks(), series: spec})

	sb.WriteString("<h2>Latency per second</h2>\n<p class=\"note\">Corrected latency of the responses completed in each second. Solid: p99. Dashed: p50.</p>\n")
	var lat []series
	for i, r := range runs {
		p50, p99 := series{name: runName(i) + " p50", color: reportColors[i], dashed: true}, series{name: runName(i) + " p99", color: reportColors[i]}
		for _, iv := range fullIntervals(r) {
			if iv.Completed == 0 {
				continue
			}
			p50.pts = append(p50.pts, point{iv.T, iv.LatencyMS.P50})
			p99.pts = append(p99.pts, point{iv.T, iv.LatencyMS.P99})
		}
		lat = append(lat, p99, p50)
	}
	writeChart(&sb, chart{xLabel: "time (s)", yLabel: "latency (ms)", series: lat})

	sb.WriteString("<h2>Rate per second</h2>\n<p class=\"note\">Solid: achieved sends per second. Dashed: requested rate.</p>\n")
	var rate []series
	for i, r := range runs {
		s := series{name: runName(i) + " achieved", color: reportColors[i]}
		for _, iv := range fullIntervals(r) {
			s.pts = append(s.pts, point{iv.T, iv.Rate})
		}
		rate = append(rate, s)
		if r.RequestedRate > 0 {
			end := r.DurationS
			rate = append(rate, series{name: runName(i) + " requested", color: reportColors[i], dashed: true,
				pts: []point{{0, r.RequestedRate}, {end, r.RequestedRate}}})
		}
	}
	writeChart(&sb, chart{xLabel: "time (s)", yLabel: "requests/s", series: rate})

	sb.WriteString("<h2>Outcomes</h2>\n")
	writeStatusMix(&sb, runs)
	writeWarnings(&sb, runs)
	sb.WriteString("<p class=\"foot\">Written by <code>adx bench report</code>. Result format: internal/bench/RESULT-FORMAT.md.</p>\n</body>\n</html>\n")
	if _, err := io.WriteString(w, sb.String()); err != nil {
		return fmt.Errorf("cannot write report: %w", err)
	}
	return nil
}

const reportCSS = `body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;margin:24px auto;max-width:1120px;padding:0 16px;font-size:15px}
h1{font-size:24px;margin:0 0 12px}
h2{font-size:19px;margin:28px 0 4px;border-bottom:1px solid #ddd;padding-bottom:4px}
.note{color:#555;margin:2px 0 8px;font-size:14px}
table{border-collapse:collapse;margin:8px 0}
td,th{padding:3px 12px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f4f4f4}
.swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px;border-radius:2px}
.runs td,.runs th{text-align:left}
.warn{color:#8a4b00}
.foot{color:#888;font-size:12px;margin-top:32px}
svg text{font-family:inherit;font-size:13px;fill:#333}
code{font-size:13px}
`

// fullIntervals returns r's intervals that last at least half a second:
// the last one, holding the end of the window and the drain, is often a few
// milliseconds long and its rate and percentiles are noise.
func fullIntervals(r *Result) []Interval {
	out := make([]Interval, 0, len(r.Intervals))
	prev := 0.0
	for _, iv := range r.Intervals {
		if iv.T-prev >= 0.5 {
			out = append(out, iv)
		}
		prev = iv.T
	}
	return out
}

func runName(i int) string { return string(rune('A' + i)) }

func writeRunList(sb *strings.Builder, runs []*Result) {
	sb.WriteString("<table class=\"runs\">\n<tr><th>run</th><th>target</th><th>started (UTC)</th><th>duration</th><th>arrival</th><th>requested</th></tr>\n")
	for i, r := range runs {
		req := "captured timing"
		if r.RequestedRate > 0 {
			req = fmtNum(r.RequestedRate) + "/s"
		}
		fmt.Fprintf(sb, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>%s</td><td><code>%s</code></td><td>%s</td><td>%ss</td><td>%s</td><td>%s</td></tr>\n",
			reportColors[i], runName(i), html.EscapeString(r.Target), r.Started.UTC().Format("2006-01-02 15:04:05"),
			fmtNum(r.DurationS), html.EscapeString(r.Arrival), req)
	}
	sb.WriteString("</table>\n")
}

func writeSummary(sb *strings.Builder, runs []*Result) {
	sb.WriteString("<h2>Summary</h2>\n<table>\n<tr><th>metric</th>")
	for i := range runs {
		fmt.Fprintf(sb, "<th>%s</th>", runName(i))
	}
	if len(runs) == 2 {
		sb.WriteString("<th>A/B</th>")
	}
	sb.WriteString("</tr>\n")
	row := func(name string, get func(*Result) float64) {
		fmt.Fprintf(sb, "<tr><td>%s</td>", name)
		for _, r := range runs {
			fmt.Fprintf(sb, "<td>%s</td>", fmtNum(get(r)))
		}
		if len(runs) == 2 {
			ratio := "–"
			if y := get(runs[1]); y != 0 {
				ratio = strconv.FormatFloat(get(runs[0])/y, 'f', 2, 64)
			}
			fmt.Fprintf(sb, "<td>%s</td>", ratio)
		}
		sb.WriteString("</tr>\n")
	}
	row("achieved rate (/s)", func(r *Result) float64 { return r.AchievedRate })
	row("sent", func(r *Result) float64 { return float64(r.Sent) })
	row("errors", func(r *Result) float64 { return float64(r.Errors) })
	row("timeouts", func(r *Result) float64 { return float64(r.Timeouts) })
	row("dropped", func(r *Result) float64 { return float64(r.Dropped) })
	row("late sends", func(r *Result) float64 { return float64(r.LateSends) })
	row("latency p50 (ms)", func(r *Result) float64 { return r.LatencyMS.P50 })
	row("latency p90 (ms)", func(r *Result) float64 { return r.LatencyMS.P90 })
	row("latency p99 (ms)", func(r *Result) float64 { return r.LatencyMS.P99 })
	row("latency p99.9 (ms)", func(r *Result) float64 { return r.LatencyMS.P999 })
	row("latency max (ms)", func(r *Result) float64 { return r.LatencyMS.Max })
	row("service p50 (ms)", func(r *Result) float64 { return r.ServiceMS.P50 })
	row("service p99 (ms)", func(r *Result) float64 { return r.ServiceMS.P99 })
	row("service p99.9 (ms)", func(r *Result) float64 { return r.ServiceMS.P999 })
	sb.WriteString("</table>\n")
}

// outcome is one slice of the status mix.
type outcome struct {
	name  string
	color string
	count int64
}

func outcomes(r *Result) []outcome {
	codes := make([]string, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var out []outcome
	for _, c := range codes {
		out = append(out, outcome{"HTTP " + c, statusColor(c), r.Status[c]})
	}
	if n := r.Errors; n > 0 {
		out = append(out, outcome{"errors", "#7b3fa0", n})
	}
	if n := r.Timeouts; n > 0 {
		out = append(out, outcome{"timeouts", "#777777", n})
	}
	if n := r.Dropped; n > 0 {
		out = append(out, outcome{"dropped", "#222222", n})
	}
	return out
}

func statusColor(code string) string {
	switch {
	case code == "200":
		return "#2e8b57"
	case code == "204":
		return "#8fd19e"
	case strings.HasPrefix(code, "2"):
		return "#5fb87a"
	case strings.HasPrefix(code, "3"):
		return "#4aa3c9"
	case strings.HasPrefix(code, "4"):
		return "#e89a2c"
	}
	return "#d9453b"
}

func writeStatusMix(sb *strings.Builder, runs []*Result) {
	sb.WriteString("<p class=\"note\">Share of sends by outcome: HTTP status, errors without a response, timeouts, sends dropped at the in-flight cap.</p>\n")
	const barW, barH, labelW = 980.0, 26.0, 40.0
	h := float64(len(runs))*(barH+12) + 4
	fmt.Fprintf(sb, "<svg width=\"%s\" height=\"%s\" viewBox=\"0 0 %s %s\" role=\"img\" aria-label=\"status mix\">\n",
		f1(chartW), f1(h), f1(chartW), f1(h))
	for i, r := range runs {
		y := 4 + float64(i)*(barH+12)
		fmt.Fprintf(sb, "<text x=\"0\" y=\"%s\" font-weight=\"bold\">%s</text>\n", f1(y+barH/2+5), runName(i))
		outs := outcomes(r)
		var total int64
		for _, o := range outs {
			total += o.count
		}
		if total == 0 {
			fmt.Fprintf(sb, "<text x=\"%s\" y=\"%s\">no requests</text>\n", f1(labelW), f1(y+barH/2+5))
			continue
		}
		x := labelW
		for _, o := range outs {
			wd := barW * float64(o.count) / float64(total)
			fmt.Fprintf(sb, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"%s\"><title>%s: %d</title></rect>\n",
				f2(x), f1(y), f2(wd), f1(barH), o.color, o.name, o.count)
			if wd > 70 {
				fmt.Fprintf(sb, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" style=\"fill:#fff;font-weight:bold\">%s</text>\n",
					f1(x+wd/2), f1(y+barH/2+5), strconv.FormatFloat(100*float64(o.count)/float64(total), 'f', 1, 64)+"%")
			}
			x += wd
		}
	}
	sb.WriteString("</svg>\n<table>\n<tr><th>outcome</th>")
	for i := range runs {
		fmt.Fprintf(sb, "<th>%s</th><th>%s %%</th>", runName(i), runName(i))
	}
	sb.WriteString("</tr>\n")
	type key struct{ name, color string }
	var keys []key
	counts := make([]map[string]int64, len(runs))
	totals := make([]int64, len(runs))
	for i, r := range runs {
		counts[i] = map[string]int64{}
		for _, o := range outcomes(r) {
			if !slices.ContainsFunc(keys, func(k key) bool { return k.name == o.name }) {
				keys = append(keys, key{o.name, o.color})
			}
			counts[i][o.name] = o.count
			totals[i] += o.count
		}
	}
	for _, k := range keys {
		fmt.Fprintf(sb, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>%s</td>", k.color, k.name)
		for i := range runs {
			pct := 0.0
			if totals[i] > 0 {
				pct = 100 * float64(counts[i][k.name]) / float64(totals[i])
			}
			fmt.Fprintf(sb, "<td>%d</td><td>%s</td>", counts[i][k.name], strconv.FormatFloat(pct, 'f', 2, 64))
		}
		sb.WriteString("</tr>\n")
	}
	sb.WriteString("</table>\n")
}

func writeWarnings(sb *strings.Builder, runs []*Result) {
	warned := false
	for _, r := range runs {
		warned = warned || len(r.Warnings) > 0
	}
	if !warned {
		return
	}
	sb.WriteString("<h2>Warnings</h2>\n<ul class=\"warn\">\n")
	for i, r := range runs {
		for _, w := range r.Warnings {
			fmt.Fprintf(sb, "<li>%s: %s</li>\n", runName(i), html.EscapeString(w))
		}
	}
	sb.WriteString("</ul>\n")
}

// point is one (x, y) of a series, in data units.
type point struct{ x, y float64 }

// series is one line of a chart.
type series struct {
	name   string
	color  string
	dashed bool
	pts    []point
}

// tick is one labelled position on an axis, in data units.
type tick struct {
	at    float64
	label string
}

// chart is a line chart; nil xTicks get evenly spaced round ones.
type chart struct {
	xLabel, yLabel string
	xTicks         []tick
	series         []series
}

// spectrumSeries decodes each run's histograms into latency by percentile.
func spectrumSeries(runs []*Result) ([]series, error) {
	var out []series
	for i, r := range runs {
		for _, h := range []struct {
			name, enc string
			dashed    bool
		}{{"corrected", r.Histogram.Latency, false}, {"service", r.Histogram.Service, true}} {
			hist, err := DecodeHistogram(h.enc)
			if err != nil {
				return nil, fmt.Errorf("run %s %s histogram: %w", runName(i), h.name, err)
			}
			s := series{name: runName(i) + " " + h.name, color: reportColors[i], dashed: h.dashed}
			if hist.TotalCount() > 0 {
				for k := 0; k <= spectrumPoints; k++ {
					x := spectrumMaxX * float64(k) / spectrumPoints
					q := 100 * (1 - math.Pow(10, -x))
					s.pts = append(s.pts, point{x, float64(hist.ValueAtQuantile(q)) / 1000})
				}
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func spectrumTicks() []tick {
	return []tick{{0, "0"}, {math.Log10(2), "50"}, {1, "90"}, {2, "99"}, {3, "99.9"}, {4, "99.99"}}
}

// niceStep returns a round step (1, 2 or 5 × 10^k) giving about n steps up
// to hi.
func niceStep(hi float64, n int) float64 {
	if !(hi > 0) {
		return 1
	}
	raw := hi / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

func writeChart(sb *strings.Builder, c chart) {
	var xMax, yMax float64
	for _, s := range c.series {
		for _, p := range s.pts {
			xMax, yMax = max(xMax, p.x), max(yMax, p.y)
		}
	}
	xTicks := c.xTicks
	if xTicks == nil {
		step := niceStep(xMax, 10)
		xMax = math.Ceil(xMax/step-1e-9) * step
		for v := 0.0; v <= xMax+step/2; v += step {
			xTicks = append(xTicks, tick{v, fmtNum(v)})
		}
	} else {
		xMax = xTicks[len(xTicks)-1].at
	}
	if xMax == 0 {
		xMax = 1
	}
	yStep := niceStep(yMax*1.05, 5)
	yTop := math.Max(yStep, math.Ceil(yMax*1.05/yStep-1e-9)*yStep)
	legendH := 24.0
	plotW, plotH := chartW-padLeft-padRight, chartH-padTop-padBottom
	top := padTop + legendH
	px := func(x float64) float64 { return padLeft + plotW*x/xMax }
	py := func(y float64) float64 { return top + plotH - plotH*y/yTop }
	H := chartH + legendH
	fmt.Fprintf(sb, "<svg width=\"%s\" height=\"%s\" viewBox=\"0 0 %s %s\" role=\"img\" aria-label=\"%s\">\n",
		f1(chartW), f1(H), f1(chartW), f1(H), html.EscapeString(c.yLabel+" by "+c.xLabel))
	fmt.Fprintf(sb, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n", f1(padLeft), f1(top), f1(plotW), f1(plotH))
	for v := 0.0; v <= yTop+yStep/2; v += yStep {
		y := py(v)
		fmt.Fprintf(sb, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"#e2e2e2\"/>\n", f1(padLeft), f1(y), f1(padLeft+plotW), f1(y))
		fmt.Fprintf(sb, "<text x=\"%s\" y=\"%s\" text-anchor=\"end\">%s</text>\n", f1(padLeft-6), f1(y+4), fmtNum(v))
	}
	for _, t := range xTicks {
		x := px(t.at)
		fmt.Fprintf(sb, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"#e2e2e2\"/>\n", f1(x), f1(top), f1(x), f1(top+plotH))
		fmt.Fprintf(sb, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\">%s</text>\n", f1(x), f1(top+plotH+18), html.EscapeString(t.label))
	}
	fmt.Fprintf(sb, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\">%s</text>\n", f1(padLeft+plotW/2), f1(top+plotH+38), html.EscapeString(c.xLabel))
	fmt.Fprintf(sb, "<text transform=\"translate(16 %s) rotate(-90)\" text-anchor=\"middle\">%s</text>\n", f1(top+plotH/2), html.EscapeString(c.yLabel))
	// Legend along the top.
	lx := padLeft
	for _, s := range c.series {
		dash := ""
		if s.dashed {
			dash = " stroke-dasharray=\"6 4\""
		}
		fmt.Fprintf(sb, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-width=\"2.5\"%s/>\n", f1(lx), f1(padTop+2), f1(lx+28), f1(padTop+2), s.color, dash)
		fmt.Fprintf(sb, "<text x=\"%s\" y=\"%s\">%s</text>\n", f1(lx+34), f1(padTop+7), html.EscapeString(s.name))
		lx += 34 + 9*float64(len(s.name)) + 24
	}
	for _, s := range c.series {
		if len(s.pts) == 0 {
			continue
		}
		dash := ""
		if s.dashed {
			dash = " stroke-dasharray=\"6 4\""
		}
		var d strings.Builder
		for i, p := range s.pts {
			if i > 0 {
				d.WriteByte(' ')
			}
			d.WriteString(f1(px(p.x)))
			d.WriteByte(',')
			d.WriteString(f1(py(p.y)))
		}
		fmt.Fprintf(sb, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\"%s points=\"%s\"><title>%s</title></polyline>\n",
			s.color, dash, d.String(), html.EscapeString(s.name))
	}
	sb.WriteString("</svg>\n")
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// fmtNum prints v with up to 3 decimals and no trailing zeros.
func fmtNum(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
