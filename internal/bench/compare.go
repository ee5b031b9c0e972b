package bench

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// Compare writes a table of a against b: for the rate, counts and latency
// percentiles, the value in each and the ratio A/B ("-" when B is 0). Use it
// for "adx against a baseline server in the same run".
func Compare(w io.Writer, a, b *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "metric\tA\tB\tA/B\t\n")
	row := func(name string, x, y float64) {
		ratio := "-"
		if y != 0 {
			ratio = strconv.FormatFloat(x/y, 'f', 3, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, num(x), num(y), ratio)
	}
	row("requested_rate", a.RequestedRate, b.RequestedRate)
	row("achieved_rate", a.AchievedRate, b.AchievedRate)
	row("sent", float64(a.Sent), float64(b.Sent))
	row("errors", float64(a.Errors), float64(b.Errors))
	row("timeouts", float64(a.Timeouts), float64(b.Timeouts))
	row("dropped", float64(a.Dropped), float64(b.Dropped))
	row("late_sends", float64(a.LateSends), float64(b.LateSends))
	pct := func(prefix string, x, y Percentiles) {
		row(prefix+".p50", x.P50, y.P50)
		row(prefix+".p90", x.P90, y.P90)
		row(prefix+".p99", x.P99, y.P99)
		row(prefix+".p999", x.P999, y.P999)
		row(prefix+".max", x.Max, y.Max)
	}
	pct("latency_ms", a.LatencyMS, b.LatencyMS)
	pct("service_ms", a.ServiceMS, b.ServiceMS)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("cannot write comparison: %w", err)
	}
	return nil
}

func num(f float64) string {
	if f == float64(int64(f)) && f < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', 3, 64)
}
