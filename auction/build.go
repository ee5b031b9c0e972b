package auction

import "github.com/adx-exchange/adx/config"

// FromConfig builds the Auction for cfg's enabled demand partners, in config
// order. metrics may be nil.
func FromConfig(cfg *config.Config, metrics *Metrics) *Auction {
	bidders := make([]Bidder, 0, len(cfg.Demand))
	for _, d := range cfg.Demand {
		if d.Disabled {
			continue
		}
		switch d.Type {
		case config.DemandHouse:
			bidders = append(bidders, NewHouseBidder(d))
		case config.DemandOpenRTB:
			bidders = append(bidders, NewHTTPBidder(d, cfg.DSPClient.ForDemand(&d), cfg.Auction.Currency))
		default:
			panic("BUG: config validation let through demand type " + d.Type)
		}
	}
	return New(bidders, cfg.Auction.Currency, LimitsFromConfig(&cfg.Auction), metrics)
}
