//go:build !race

package auction

import (
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
)

// Every control, passed or failed, decides without allocating; shaping
// too, a request shaped away or not.
func TestControlsAllocations(t *testing.T) {
	d := config.Demand{Name: "dsp", Endpoint: "http://127.0.0.1:1/", QPS: 1e6,
		Targeting: config.Targeting{Countries: []string{"USA"}, DeviceTypes: []int{4}, OS: []string{"ios"}, Inventory: []string{"site"},
			Domains: []string{"example.com"}, BlockDomains: []string{"a.b", "c.d", "e.f", "g.h", "i.j", "k.l", "m.n", "o.p", "q.r"},
			Sizes: []string{"300x250"}}}
	b := NewHTTPBidder(d, config.Defaults().DSPClient, "USD")
	a := New([]Bidder{b}, Rules{Currency: "USD"}, nil)
	pass := &openrtb2.BidRequest{ID: "r", Site: &openrtb2.Site{Domain: "www.example.com"},
		Device: &openrtb2.Device{Geo: &openrtb2.Geo{Country: "USA"}, DeviceType: 4, OS: "iOS"},
		Imp:    []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}}}}
	fail := *pass
	fail.Site = &openrtb2.Site{Domain: "x.g.h"}
	f := func(name string, b *HTTPBidder, req *openrtb2.BidRequest, want FilterReason, wantOK bool) {
		t.Helper()
		var c call
		if n := testing.AllocsPerRun(1000, func() {
			c = call{}
			reason, ok := a.admit(b.control(), req, mediaBanner, mediaAll, mediaAll, &c)
			if ok {
				c.breaker.done(c.gen, callSuccess, b.ctl.now())
				c.shaper.record(c.shapeBucket, b.ctl.now(), true)
			}
			if ok != wantOK || !ok && reason != want {
				t.Fatalf("%s: (%v, %v), want (%v, %v)", name, reason, ok, want, wantOK)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
	f("passes", b, pass, 0, true)
	f("fails", b, &fail, FilterDomain, false)

	// Shaped away: a request whose bucket is under the threshold, on a
	// clock that stays in one step, so that the plan stays.
	s := NewHTTPBidder(config.Demand{Name: "shaped", Endpoint: "http://127.0.0.1:1/", QPS: 1e6}, config.Defaults().DSPClient, "USD")
	s.ctl.now = func() int64 { return 1e12 }
	a = New([]Bidder{s}, Rules{Currency: "USD"}, nil)
	sh := s.ctl.shaper
	if sh == nil {
		t.Fatal("a DSP with a qps cap has no shaper")
	}
	sh.admit(s.ctl.now(), shapeKey(pass, mediaBanner)) // plans the step
	sh.buckets[sh.bucketOf(shapeKey(pass, mediaBanner))].plan.Store(shapePlan(1, 0.3, false))
	f("shaped", s, pass, FilterShaped, false)
	sh.buckets[sh.bucketOf(shapeKey(pass, mediaBanner))].plan.Store(shapePlan(0, 0.3, true))
	f("explores", s, pass, 0, true)
}
