package auction

import (
	"testing"
	"time"

	"github.com/adx-exchange/adx/config"
)

// BenchmarkShapingFleet is the shaping figure of BENCHMARKS.md: the same
// 1,000 requests a second (simulated) for a DSP capped at 200 QPS, first
// come first served (random) and shaped, 30 s of warm-up then 60 s
// measured. It reports the calls answered with a bid per simulated second.
func BenchmarkShapingFleet(b *testing.B) {
	reqs := synthRequests(b, 20000)
	for _, m := range []struct {
		name    string
		shaping config.Shaping
	}{{"random", config.Shaping{Disabled: true}}, {"shaped", config.Shaping{}}} {
		b.Run(m.name, func(b *testing.B) {
			var r fleetShapingRun
			for b.Loop() {
				r = shapingOnFleet(b, reqs, m.shaping, 200, 1000, 30*time.Second, 60*time.Second)
			}
			b.ReportMetric(float64(r.bids)/r.seconds, "bids/s")
			b.ReportMetric(float64(r.calls)/r.seconds, "calls/s")
			b.ReportMetric(float64(r.bids)/float64(r.calls), "bids/call")
		})
	}
}

// BenchmarkShaperStep is one step of a shaper with every bucket taken and
// its cap binding: the window moved on and the plan made again, which one
// request a step pays for.
func BenchmarkShaperStep(b *testing.B) {
	s := newShaper(100, 10*time.Second, 0.05)
	now := int64(1e12)
	for k := range uint64(maxShapeBuckets) {
		for range 4 {
			if v := s.admit(now, (k+1)<<8); !v.shaped {
				s.record(v.bucket, now, k%3 == 0)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		now += s.step
		s.advance(now / s.step)
		for k := range uint64(maxShapeBuckets) {
			s.buckets[k].offered[(now/s.step)%shapeSteps].Store(1)
		}
	}
}
