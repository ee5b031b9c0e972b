package auction

import (
	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/currency"
	"github.com/adx-exchange/adx/privacy"
)

// FromConfig builds the Auction for cfg's enabled demand partners, in config
// order, converting currencies with rates (nil: the exchange currency
// alone). metrics may be nil.
func FromConfig(cfg *config.Config, rates *currency.Source, metrics *Metrics) *Auction {
	return FromConfigAfter(cfg, rates, metrics, nil)
}

// FromConfigAfter is FromConfig for a config that takes over from prev, the
// Auction in service (nil: none): a DSP of prev that stays, by name, keeps
// its QPS cap's calls, its breaker's state and its learnt bid rates where
// their settings are unchanged. prev's auctions still running share them
// with the new Auction's. Build prev with the same metrics.
func FromConfigAfter(cfg *config.Config, rates *currency.Source, metrics *Metrics, prev *Auction) *Auction {
	var kept map[string]*controls
	if prev != nil {
		kept = make(map[string]*controls, len(prev.bidders))
		for _, b := range prev.bidders {
			if e, ok := b.(encodedBidder); ok {
				kept[b.Name()] = e.control()
			}
		}
	}
	bidders := make([]Bidder, 0, len(cfg.Demand))
	for _, d := range cfg.Demand {
		if d.Disabled {
			continue
		}
		switch d.Type {
		case config.DemandHouse:
			bidders = append(bidders, NewHouseBidder(d))
		case config.DemandOpenRTB:
			b := NewHTTPBidder(d, cfg.DSPClient.ForDemand(&d), cfg.Auction.Currency)
			if p, ok := kept[d.Name]; ok {
				b.ctl.keep(p)
			}
			bidders = append(bidders, b)
		default:
			panic("BUG: config validation let through demand type " + d.Type)
		}
	}
	return New(bidders, RulesFromConfig(cfg, rates), metrics)
}

// RulesFromConfig returns the Rules the config sets for its enabled
// demand partners, in order, converting currencies with rates (nil: the
// exchange currency alone).
func RulesFromConfig(cfg *config.Config, rates *currency.Source) Rules {
	a := &cfg.Auction
	r := Rules{Currency: a.Currency, Limits: LimitsFromConfig(a), Rates: rates,
		Pricing: Pricing{AuctionType: a.Type, DealPriority: a.DealPriority},
		Privacy: privacy.PolicyFromConfig(&cfg.Privacy)}
	r.Pricing.Increment, _ = currency.FromFloat(a.Increment)
	r.Pricing.Precision, _ = currency.FromFloat(a.PricePrecision)
	for _, d := range cfg.Demand {
		if d.Disabled {
			continue
		}
		t := Terms{Multiplier: currency.OnePPM, TakeRate: currency.PPMFromFloat(a.TakeRate)}
		if d.BidMultiplier > 0 {
			t.Multiplier = currency.PPMFromFloat(d.BidMultiplier)
		}
		if d.TakeRate != nil {
			t.TakeRate, t.OwnTakeRate = currency.PPMFromFloat(*d.TakeRate), true
		}
		r.Terms = append(r.Terms, t)
	}
	return r
}
