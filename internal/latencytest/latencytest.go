// Package latencytest reports the latency distribution of operations timed
// one by one inside a benchmark, for the figures in BENCHMARKS.md that need
// tails (p99 during a reload) rather than means.
package latencytest

import (
	"slices"
	"testing"
	"time"
)

// Report sorts lat and reports its p50, p99, p99.9 and max as custom
// benchmark metrics in nanoseconds (p50-ns, p99-ns, p999-ns, max-ns).
func Report(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(lat[len(lat)*999/1000].Nanoseconds()), "p999-ns")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds()), "max-ns")
}
