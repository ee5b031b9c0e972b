//go:build !race

package auction

import (
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/privacy"
)

// A request's privacy signals cost its auction no allocation: without
// signals it runs as without options, and with them each bidder's request
// is scrubbed in a pooled buffer.
func TestPrivacyAllocations(t *testing.T) {
	house := func(name string, cpm float64) Bidder {
		return NewHouseBidder(config.Demand{Name: name, Type: config.DemandHouse, LineItems: []config.LineItem{{ID: name, CPM: cpm, Adm: "<a/>"}}})
	}
	a := New([]Bidder{house("h1", 2), house("h2", 1)}, RulesFromConfig(config.Defaults(), nil), nil)
	plain := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}},
		Device: &openrtb2.Device{IP: "81.2.69.160", IFA: "ifa", Geo: &openrtb2.Geo{Country: "GBR", City: "London"}}, User: &openrtb2.User{ID: "u"}}
	coppa := *plain
	coppa.Regs = &openrtb2.Regs{COPPA: 1}
	var none, signals privacy.Signals
	none.Parse(plain)
	signals.Parse(&coppa)
	deadline := time.Now().Add(time.Hour)
	allocs := func(req *openrtb2.BidRequest, o *RunOptions) float64 {
		return testing.AllocsPerRun(1000, func() {
			if res := a.RunWith(req, deadline, o); len(res.Winners) != 1 {
				t.Fatalf("winners %+v, want one", res.Winners)
			}
		})
	}
	base := allocs(plain, nil)
	if n := allocs(plain, &RunOptions{Privacy: &none}); n != base {
		t.Errorf("an auction with no privacy signal allocates %v times, %v without options", n, base)
	}
	if n := allocs(&coppa, &RunOptions{Privacy: &signals}); n != base {
		t.Errorf("an auction under COPPA allocates %v times, %v without signals", n, base)
	}
}
