package auction

import (
	"time"

	"github.com/adx-exchange/adx/config"
)

// Limits bound what one request and one demand partner's answer may hold,
// so that no input, however large, makes an auction's work outgrow its
// deadline. A zero field sets no bound. An Auction keeps its Limits for its
// lifetime.
type Limits struct {
	// MaxImps is the most imps a request may hold (auction.max_imps); a
	// request with more is invalid.
	MaxImps int
	// MaxBidsPerResponse is the most bids taken from one bidder's answer
	// (auction.max_bids_per_response); the rest are dropped with
	// DropTooManyBids.
	MaxBidsPerResponse int
	// MaxBidPrice is the highest bid price, a CPM in the exchange currency
	// (auction.max_bid_price); a dearer bid is dropped with
	// DropPriceTooHigh.
	MaxBidPrice float64
}

// LimitsFromConfig returns the Limits an auction config sets.
func LimitsFromConfig(a *config.Auction) Limits {
	return Limits{MaxImps: a.MaxImps, MaxBidsPerResponse: a.MaxBidsPerResponse, MaxBidPrice: a.MaxBidPrice}
}

// Budget returns the time an auction may take for a request whose tmax is
// reqTMax milliseconds: defaultTmax when reqTMax is 0 (absent), reqTMax
// otherwise, and never more than maxTmax. A negative reqTMax, which request
// validation rejects, gets defaultTmax too.
//
// The cap is applied to the milliseconds before they become a Duration:
// multiplying first overflows int64 for a tmax of 9223372036855 or more and
// turns a hostile tmax into centuries or a negative budget.
func Budget(reqTMax int64, defaultTmax, maxTmax time.Duration) time.Duration {
	if reqTMax <= 0 {
		return min(defaultTmax, maxTmax)
	}
	if reqTMax > int64(maxTmax/time.Millisecond) {
		return maxTmax
	}
	return time.Duration(reqTMax) * time.Millisecond
}
