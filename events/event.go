package events

import (
	"time"

	"github.com/adx-exchange/adx/currency"
)

// Type is an event's kind.
type Type string

// The event types.
const (
	// Auction is one auction (sampled): its request's shape and every
	// bid with its fate.
	Auction Type = "auction"
	// Win is an SSP's win notice for a bid adx returned.
	Win Type = "win"
	// Bill is an SSP's billing notice: the impression is billable.
	Bill Type = "bill"
	// Loss is an SSP's loss notice for a bid adx returned.
	Loss Type = "loss"
)

// Bid statuses in an auction event, beside the drop reasons the auction
// counts (adx_bids_dropped_total's reason label).
const (
	// BidWon: the bid won adx's auction and went back to the SSP.
	BidWon = "won"
	// BidLost: the bid was valid and lost to a higher one.
	BidLost = "lost"
)

// Event is one entry of the trail. Amounts are micros (millionths of a
// currency unit, CPM) in the exchange currency unless the field says
// otherwise. Fields that do not apply to a type are left empty and
// omitted from its JSON.
type Event struct {
	// Type is the kind of event.
	Type Type `json:"type"`
	// ID is the event's idempotency key, unique per event and the same
	// when one event is delivered twice: "a:SSP:AUCTION" for an auction,
	// "w:", "b:" or "l:" then "AUCTION:BID" for the notices.
	ID string `json:"id"`
	// Time is when the event happened, UTC.
	Time time.Time `json:"ts"`
	// AuctionID is the bid request's id.
	AuctionID string `json:"auction_id"`
	// SSP is the supply partner's name; empty without a supply list.
	SSP string `json:"ssp,omitempty"`
	// Currency is the exchange currency: the unit of the micros fields.
	Currency string `json:"cur"`
	// Test marks an auction the SSP sent with test=1: not billable.
	Test bool `json:"test,omitempty"`

	// Notice fields (win, bill, loss).

	// ImpID and BidID name the bid the notice is about.
	ImpID string `json:"imp_id,omitempty"`
	BidID string `json:"bid_id,omitempty"`
	// DSP is the demand partner whose bid it is, and Seat its seat.
	DSP  string `json:"dsp,omitempty"`
	Seat string `json:"seat,omitempty"`
	// DealID is the deal the bid won on; empty: the open market.
	DealID string `json:"deal_id,omitempty"`
	// BidPrice is what the DSP bid; Charge what adx's auction charged it
	// (gross); Clear what it cleared at for the SSP (net of the margin).
	BidPrice currency.Micros `json:"bid_micros,omitempty"`
	Charge   currency.Micros `json:"charge_micros,omitempty"`
	Clear    currency.Micros `json:"clear_micros,omitempty"`
	// SSPPrice is the price the SSP reported in its notice
	// (${AUCTION_PRICE}), in SSPCurrency, the response's currency; -1
	// when it reported none or an unreadable one.
	SSPPrice    currency.Micros `json:"ssp_price_micros,omitempty"`
	SSPCurrency string          `json:"ssp_cur,omitempty"`
	// DSPPrice is the price passed on to the DSP's own notice: derived
	// from SSPPrice and the margin, never above BidPrice. It is what the
	// DSP is billed for a bill event.
	DSPPrice currency.Micros `json:"dsp_price_micros,omitempty"`
	// LossReason is the SSP's ${AUCTION_LOSS} code (OpenRTB list 5.25) of
	// a loss event.
	LossReason int `json:"loss_reason,omitempty"`

	// Auction fields.

	// Imps is the number of imps in the request.
	Imps int `json:"imps,omitempty"`
	// Bids are every bid the demand partners made, with their fate.
	Bids []Bid `json:"bids,omitempty"`
	// NoBids are the demand partners asked that made no bid, with why:
	// "nobid", "timeout", "error", ...
	NoBids []NoBid `json:"nobids,omitempty"`
	// Unchecked counts the bids dropped without a look at each: past
	// auction.max_bids_per_response ("too_many_bids") or still unchecked
	// at the deadline ("late").
	Unchecked []Unchecked `json:"unchecked,omitempty"`
	// Privacy is what the user's privacy signals did to the demand
	// partners: one entry per partner and rule, for each partner sent
	// the request scrubbed, or kept from it.
	Privacy []Privacy `json:"privacy,omitempty"`
	// DurationMicros is how long the auction took, from the request's
	// arrival to the answer.
	DurationMicros int64 `json:"duration_us,omitempty"`
}

// Bid is one bid of an auction event.
type Bid struct {
	DSP    string `json:"dsp"`
	Seat   string `json:"seat,omitempty"`
	ImpID  string `json:"imp_id"`
	BidID  string `json:"bid_id"`
	DealID string `json:"deal_id,omitempty"`
	// Price is the bid's price as the DSP bid it, in Cur; Cur is omitted
	// when it is the exchange currency.
	Price currency.Micros `json:"price_micros"`
	Cur   string          `json:"cur,omitempty"`
	// Status is BidWon, BidLost or the reason the bid was dropped.
	Status string `json:"status"`
	// Charge and Clear are set for a winning bid.
	Charge currency.Micros `json:"charge_micros,omitempty"`
	Clear  currency.Micros `json:"clear_micros,omitempty"`
}

// NoBid is a demand partner of an auction event that made no bid.
type NoBid struct {
	DSP string `json:"dsp"`
	// Reason is "nobid" (it answered without a bid), "timeout", "error",
	// or why it was not asked.
	Reason string `json:"reason"`
}

// Privacy is one privacy rule's effect on one demand partner of an
// auction event, as adx_privacy_decisions_total counts it.
type Privacy struct {
	DSP string `json:"dsp"`
	// Action is "scrubbed" (the partner was sent the request with data
	// removed) or "not_called" (it was not sent the request).
	Action string `json:"action"`
	// Reason is the rule: coppa, lmt, att, us_privacy, gdpr_no_consent,
	// tcf_malformed, tcf_purpose1, tcf_purpose2, tcf_special_feature1,
	// gpp_opt_out or gpp_malformed (docs/privacy.md).
	Reason string `json:"reason"`
}

// Unchecked is a count of one demand partner's bids dropped unchecked.
type Unchecked struct {
	DSP    string `json:"dsp"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}
