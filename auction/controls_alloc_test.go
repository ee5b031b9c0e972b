//go:build !race

package auction

import (
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
)

// Every control, passed or failed, decides without allocating.
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
	for _, req := range []*openrtb2.BidRequest{pass, &fail} {
		var c call
		if n := testing.AllocsPerRun(1000, func() {
			c = call{}
			if _, ok := a.admit(b.control(), req, mediaBanner, mediaAll, mediaAll, &c); ok {
				c.breaker.done(c.gen, callSuccess, b.ctl.now())
			}
		}); n != 0 {
			t.Errorf("request for %s: %v allocations, want 0", req.Site.Domain, n)
		}
	}
}
