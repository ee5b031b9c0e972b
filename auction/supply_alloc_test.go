//go:build !race

package auction

import (
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
)

// A supply partner's options cost an auction no allocation: the same
// auction under them allocates no more than without.
func TestSupplyOptionsAllocations(t *testing.T) {
	house := func(name string, cpm float64) Bidder {
		return NewHouseBidder(config.Demand{Name: name, Type: config.DemandHouse, LineItems: []config.LineItem{{ID: name, CPM: cpm, Adm: "<a/>"}}})
	}
	a := New([]Bidder{house("h1", 2), house("h2", 1), house("h3", 0.5)}, RulesFromConfig(config.Defaults(), nil), nil)
	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}
	rate := 0.3
	terms := a.SupplyOptions(&config.Supply{AuctionType: 2, TakeRate: &rate})
	blocks := a.SupplyOptions(&config.Supply{AuctionType: 2, TakeRate: &rate, BlockDemand: []string{"h3"}})
	deadline := time.Now().Add(time.Hour)
	allocs := func(o *RunOptions) float64 {
		return testing.AllocsPerRun(1000, func() {
			if res := a.RunWith(req, deadline, o); len(res.Winners) != 1 {
				t.Fatalf("winners %+v, want one", res.Winners)
			}
		})
	}
	base := allocs(nil)
	if n := allocs(&terms); n != base {
		t.Errorf("an auction under a supply partner's type and take rate allocates %v times, %v without", n, base)
	}
	// h3 is not called: its bid is not copied.
	if n := allocs(&blocks); n > base {
		t.Errorf("an auction under a supply partner's block list allocates %v times, %v without", n, base)
	}
}
