package auction

import (
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
)

// BenchmarkTokenBucket is one call's QPS check, from every P at once.
func BenchmarkTokenBucket(b *testing.B) {
	tb := newTokenBucket(1e9) // never dry: measures the CAS, not refusals
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tb.allow(monoNow())
		}
	})
}

// BenchmarkBreakerAllow is one call through a closed breaker: allow, then
// done, from every P at once.
func BenchmarkBreakerAllow(b *testing.B) {
	br := newBreaker(config.Breaker{}.WithDefaults())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := monoNow()
			gen, _ := br.allow(now)
			br.done(gen, callSuccess, now)
		}
	})
}

// BenchmarkAdmit is every control on a request that passes them all.
func BenchmarkAdmit(b *testing.B) {
	d := config.Demand{Name: "dsp", Endpoint: "http://127.0.0.1:1/", QPS: 1e7,
		Targeting: config.Targeting{Countries: []string{"USA", "CAN"}, DeviceTypes: []int{4, 5}, OS: []string{"android", "ios"},
			Inventory: []string{"site"}, Domains: []string{"example.com"}, Sizes: []string{"300x250"}}}
	bd := NewHTTPBidder(d, config.Defaults().DSPClient, "USD")
	a := New([]Bidder{bd}, Rules{Currency: "USD"}, nil)
	req := &openrtb2.BidRequest{ID: "r", Site: &openrtb2.Site{Domain: "www.example.com"},
		Device: &openrtb2.Device{Geo: &openrtb2.Geo{Country: "USA"}, DeviceType: 4, OS: "iOS"},
		Imp:    []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}}}}
	b.ReportAllocs()
	for b.Loop() {
		var c call
		if _, ok := a.admit(bd.control(), req, mediaBanner, mediaAll, mediaAll, &c); ok {
			c.breaker.done(c.gen, callSuccess, bd.ctl.now())
		}
	}
}

// BenchmarkShaperAdmit is one request's shaping, from every P at once, on
// requests of 64 buckets with a plan that shapes half of them away.
func BenchmarkShaperAdmit(b *testing.B) {
	s := newShaper(1000, 30*time.Second, 0.05)
	now := monoNow()
	for k := range uint64(64) {
		bk := s.bucketOf(k << 8)
		s.buckets[bk].plan.Store(shapePlan(float64(k%2), 0.3, false))
	}
	s.epoch.Store(1 << 62) // no new step while it runs
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		k := uint64(0)
		for pb.Next() {
			k++
			if v := s.admit(now, (k%64)<<8); !v.shaped {
				s.record(v.bucket, now, k%3 == 0)
			}
		}
	})
}
