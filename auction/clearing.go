package auction

import (
	"errors"
	"math"
	"slices"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/currency"
	"github.com/adx-exchange/adx/privacy"
)

// Auction types (OpenRTB at, and a deal's at).
const (
	FirstPrice  = 1 // the winner pays its bid
	SecondPrice = 2 // the winner pays the runner-up's price plus the increment
	FixedPrice  = 3 // a deal's: the winner pays the deal's floor
)

// Rules are how an auction clears: its currency, its limits, its pricing
// and each bidder's commercial terms. An Auction keeps its Rules for its
// lifetime.
type Rules struct {
	// Currency is the exchange's currency (ISO-4217): bids are ranked and
	// margins taken in it.
	Currency string
	// Limits bound requests and answers.
	Limits Limits
	// Pricing are the clearing rules.
	Pricing Pricing
	// Terms are the bidders' terms, by index in the bidder list; a bidder
	// past its end has DefaultTerms.
	Terms []Terms
	// Rates convert other currencies to and from Currency; nil knows
	// Currency alone.
	Rates *currency.Source
	// Privacy is the exchange's privacy policy; each bidder's own part
	// comes with it (an HTTPBidder's from its config; house demand is
	// the exchange itself).
	Privacy privacy.Policy
}

// Pricing are the clearing rules (docs/auction.md).
type Pricing struct {
	// AuctionType is FirstPrice or SecondPrice, for a request without at
	// (auction.type; zero is FirstPrice).
	AuctionType int
	// Increment is added to the runner-up's price in a second-price
	// auction (auction.increment).
	Increment currency.Micros
	// DealPriority makes a deal bid win over any open-market bid
	// (auction.deal_priority); off, price alone decides.
	DealPriority bool
	// Precision is the step response prices are rounded down to
	// (auction.price_precision); zero or one micro: none.
	Precision currency.Micros
}

// Terms are one demand partner's commercial terms.
type Terms struct {
	// Multiplier adjusts the partner's bids before ranking (a partner
	// known to bid gross of its own fees: 0.9), in (0, 1]
	// (demand[].bid_multiplier).
	Multiplier currency.PPM
	// TakeRate is the exchange's margin on the partner's bids, in [0, 1)
	// (auction.take_rate, demand[].take_rate).
	TakeRate currency.PPM
	// OwnTakeRate says TakeRate is the partner's own (demand[].take_rate):
	// a supply partner's take rate does not replace it.
	OwnTakeRate bool
}

// DefaultTerms are a partner's terms when none are set: bids as they are,
// no margin.
var DefaultTerms = Terms{Multiplier: currency.OnePPM}

// fx are the exchange rates one auction prices with: a snapshot taken
// when it starts, so that a reload midway changes nothing.
type fx struct {
	snap currency.Snapshot
	has  bool // false: the exchange currency alone
}

// rates returns the rates for an auction starting now.
func (a *Auction) rates(now time.Time) fx {
	if a.rules.Rates == nil {
		return fx{}
	}
	return fx{snap: a.rules.Rates.Snapshot(now), has: true}
}

// usd is the currency of an OpenRTB price whose currency is not given.
const usd = "USD"

// convert converts m from one currency to another (from "" is USD),
// rounding down, or up when up is set. ok is false with DropStaleRates when
// the rates are too old, DropCurrency for a currency they do not know.
func (x *fx) convert(m currency.Micros, from, to string, up bool) (currency.Micros, DropReason, bool) {
	if from == "" {
		from = usd
	}
	if from == to {
		return m, 0, true
	}
	if !x.has {
		return 0, DropCurrency, false
	}
	round := currency.Down
	if up {
		round = currency.Up
	}
	v, err := x.snap.Convert(m, from, to, round)
	switch {
	case err == nil:
		return v, 0, true
	case errors.Is(err, currency.ErrStaleRates):
		return 0, DropStaleRates, false
	default:
		return 0, DropCurrency, false
	}
}

// responseCurrency returns the currency to answer req in: the first of
// its cur list that the exchange can convert to, or the exchange's own
// when the list is empty. ok is false when it can answer in none.
func (a *Auction) responseCurrency(req *openrtb2.BidRequest, x *fx) (string, bool) {
	if len(req.Cur) == 0 {
		return a.rules.Currency, true
	}
	for _, c := range req.Cur {
		if c == a.rules.Currency {
			return c, true
		}
		if _, _, ok := x.convert(currency.MicrosPerUnit, a.rules.Currency, c, false); ok {
			return c, true
		}
	}
	return "", false
}

// terms returns bidder i's terms.
func (a *Auction) terms(i int) Terms {
	if i < len(a.rules.Terms) {
		return a.rules.Terms[i]
	}
	return DefaultTerms
}

// candidate is a valid bid competing for an imp, priced in the exchange's
// currency.
type candidate struct {
	bid    *openrtb2.Bid
	bidder int
	seat   string         // the DSP's seat, or the partner's name
	deal   *openrtb2.Deal // the imp's deal the bid is for; nil: open market
	gross  currency.Micros
	net    currency.Micros // after the partner's multiplier and take rate: what ranks
	floor  currency.Micros // the effective floor, in net terms
}

// beats reports whether c ranks above d: a higher net price; at the same
// price the partner listed first, then the lower bid id. (Bidders are
// validated in config order, so c.bidder >= d.bidder.)
func (c *candidate) beats(d *candidate) bool {
	if c.net != d.net {
		return c.net > d.net
	}
	return c.bidder == d.bidder && c.bid.ID < d.bid.ID
}

// The classes a bid competes in: with deal priority, deal bids first.
const (
	classDeal = iota
	classOpen
	numClasses
)

// impRace is one imp's competition: per class, the best bid and the best
// net price among the others, for second price.
type impRace struct {
	best      [numClasses]candidate
	runnerUp  [numClasses]currency.Micros
	hasRunner [numClasses]bool
}

func (r *impRace) offer(c candidate, class int) {
	best := &r.best[class]
	if best.bid == nil {
		*best = c
		return
	}
	loser := c.net
	if c.beats(best) {
		loser = best.net
		*best = c
	}
	if !r.hasRunner[class] || loser > r.runnerUp[class] {
		r.runnerUp[class], r.hasRunner[class] = loser, true
	}
}

// lateCheckEvery is how many bids are checked between two looks at the
// clock: reading it costs about as much as checking a bid, and 64 bids take
// a few microseconds, so an answer of any size stops within microseconds of
// the deadline while a normal one (a few bids) never reads the clock.
const lateCheckEvery = 64

// validateBids keeps in r.Bids (and r.Seats) only the bids that may enter
// the auction, counts the rest by reason, and offers each kept bid to its
// imp's race. Bidders must be validated in config order (the order breaks
// ties). Bids past Limits.MaxBidsPerResponse are dropped unchecked, and so
// are the bids still unchecked when the deadline passes: the auction
// answers on time whatever a partner sends.
func (a *Auction) validateBids(req *openrtb2.BidRequest, x *fx, imps *impIndex, deadline time.Time, bidder int, r *BidderResult, races []impRace, o *RunOptions) {
	if n := a.rules.Limits.MaxBidsPerResponse; n > 0 && len(r.Bids) > n {
		r.Dropped[DropTooManyBids] += len(r.Bids) - n
		r.Bids = r.Bids[:n]
		if r.Seats != nil {
			r.Seats = r.Seats[:n]
		}
	}
	terms := a.termsFor(bidder, o)
	kept := 0
	for i := range r.Bids {
		if i > 0 && i%lateCheckEvery == 0 && time.Now().After(deadline) {
			r.Dropped[DropLate] += len(r.Bids) - i
			break
		}
		seat := r.Seat
		if r.Seats != nil {
			seat = r.Seats[i]
		}
		c, k, reason := a.checkBid(req, x, imps, &r.Bids[i], seat, r.Currency, terms)
		if k < 0 {
			r.Dropped[reason]++
			b := &r.Bids[i]
			r.Drops = append(r.Drops, Drop{ImpID: b.ImpID, BidID: b.ID, Price: b.Price, Reason: reason, LURL: b.LURL})
			continue
		}
		if kept < i { // a bid was dropped before: move this one down
			r.Bids[kept] = r.Bids[i]
			if r.Seats != nil {
				r.Seats[kept] = r.Seats[i]
			}
		}
		// Kept bids are never moved again, so the pointer stays valid.
		c.bid, c.bidder, c.seat = &r.Bids[kept], bidder, seat
		if c.seat == "" {
			c.seat = r.Name
		}
		kept++
		class := classOpen
		if c.deal != nil && a.rules.Pricing.DealPriority {
			class = classDeal
		}
		races[k].offer(c, class)
	}
	r.Bids = r.Bids[:kept]
	if r.Seats != nil {
		r.Seats = r.Seats[:kept]
	}
}

// checkBid returns the bid as a candidate for the imp at index k, or k -1
// and the reason it may not enter the auction. cur is the bid's currency.
func (a *Auction) checkBid(req *openrtb2.BidRequest, x *fx, imps *impIndex, bid *openrtb2.Bid, seat, cur string, terms Terms) (c candidate, k int, _ DropReason) {
	k = imps.find(bid.ImpID)
	if k < 0 {
		return c, -1, DropUnknownImp
	}
	imp := &req.Imp[k]
	price, ok := currency.FromFloat(bid.Price)
	switch {
	case !ok && bid.Price > 0 && !math.IsInf(bid.Price, 0):
		return c, -1, DropPriceTooHigh // finite, but past any money (1e308)
	case !ok || price <= 0:
		return c, -1, DropInvalidPrice
	}
	if bid.AdM == "" && bid.NURL == "" {
		return c, -1, DropNoMarkup
	}
	if bid.CrID == "" {
		return c, -1, DropNoCreative
	}
	if reason, ok := checkCreative(req, imp, bid, seat); !ok {
		return c, -1, reason
	}
	// The deal the bid is for, and its terms.
	floor, floorCur := imp.BidFloor, imp.BidFloorCur
	if imp.PMP != nil && len(imp.PMP.Deals) > 0 {
		c.deal = findDeal(imp.PMP.Deals, bid.DealID)
		if c.deal == nil && imp.PMP.PrivateAuction == 1 {
			return c, -1, DropNotDeal
		}
		if c.deal != nil {
			if !dealAdmits(c.deal, seat, bid) {
				return c, -1, DropDealTerms
			}
			if c.deal.BidFloor > 0 {
				floor, floorCur = c.deal.BidFloor, c.deal.BidFloorCur
			}
		}
	}
	// Priced in the exchange's currency, then adjusted and netted.
	var reason DropReason
	if c.gross, reason, ok = x.convert(price, cur, a.rules.Currency, false); !ok {
		return c, -1, reason
	}
	if max := a.maxPrice; max > 0 && c.gross > max {
		return c, -1, DropPriceTooHigh
	}
	c.net = c.gross.Scale(int64(terms.Multiplier), int64(currency.OnePPM), false).
		Scale(int64(currency.OnePPM-terms.TakeRate), int64(currency.OnePPM), false)
	if floor > 0 {
		f, ok := currency.FromFloat(floor)
		if !ok {
			return c, -1, DropBelowFloor // request validation keeps floors finite
		}
		// A floor rounds up: a bid under the true floor never passes.
		if c.floor, reason, ok = x.convert(f, floorCur, a.rules.Currency, true); !ok {
			return c, -1, reason
		}
		if c.net < c.floor {
			return c, -1, DropBelowFloor
		}
	}
	return c, k, 0
}

// dealAdmits reports whether a deal's buyer seat and advertiser domain
// lists admit bid, whose seat is seat.
func dealAdmits(d *openrtb2.Deal, seat string, bid *openrtb2.Bid) bool {
	if len(d.WSeat) > 0 && !slices.Contains(d.WSeat, seat) {
		return false
	}
	if len(d.WADomain) > 0 {
		if len(bid.ADomain) == 0 {
			return false
		}
		for _, dom := range bid.ADomain {
			if !slices.Contains(d.WADomain, dom) {
				return false
			}
		}
	}
	return true
}

// winners clears every imp's race and returns the winners in imp order,
// priced in the response currency cur, reusing buf's storage.
func (a *Auction) winners(req *openrtb2.BidRequest, x *fx, races []impRace, cur string, buf []Winner, o *RunOptions) []Winner {
	out := buf[:0]
	for k := range races {
		r := &races[k]
		class := classOpen
		if r.best[classDeal].bid != nil {
			class = classDeal
		}
		w := &r.best[class]
		if w.bid == nil {
			continue
		}
		win, ok := a.clear(req, x, w, r.runnerUp[class], r.hasRunner[class], cur, o)
		if ok {
			out = append(out, win)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// clear prices the winning candidate w of an imp: the clearing price, net
// of margin (what the SSP is paid), the charge to the DSP, gross, and the
// price in the response currency. ok is false when the price cannot be
// given in that currency (the rates went stale or lost it meanwhile).
func (a *Auction) clear(req *openrtb2.BidRequest, x *fx, w *candidate, runnerUp currency.Micros, hasRunner bool, cur string, o *RunOptions) (Winner, bool) {
	at := a.auctionType(o)
	if req.AT == FirstPrice || req.AT == SecondPrice {
		at = int(req.AT)
	}
	if w.deal != nil && (w.deal.AT == FirstPrice || w.deal.AT == SecondPrice || w.deal.AT == FixedPrice) {
		at = int(w.deal.AT)
	}
	if at != SecondPrice && at != FixedPrice {
		at = FirstPrice
	}
	clear := w.net
	switch at {
	case SecondPrice:
		// The runner-up plus the increment, at least the floor (a lone
		// bid: the floor, and at least the increment), never above the
		// winner's own price.
		p := max(w.floor, a.rules.Pricing.Increment)
		if hasRunner {
			p = max(runnerUp+a.rules.Pricing.Increment, w.floor)
		}
		clear = min(p, w.net)
	case FixedPrice:
		clear = min(w.floor, w.net)
	}
	charge := w.gross
	if at != FirstPrice && clear < w.net {
		// The gross price whose net is clear: undo the take rate and the
		// multiplier, rounding down, never above the bid.
		t := a.termsFor(w.bidder, o)
		charge = min(w.gross, clear.Scale(int64(currency.OnePPM), int64(currency.OnePPM-t.TakeRate), false).
			Scale(int64(currency.OnePPM), int64(t.Multiplier), false))
	}
	price, _, ok := x.convert(clear, a.rules.Currency, cur, false)
	if !ok {
		return Winner{}, false
	}
	return Winner{
		Seat: w.seat, Bid: w.bid, Deal: w.deal, AuctionType: at,
		BidPrice: w.gross, Charge: charge, Clear: clear,
		Price:  price.RoundDown(a.rules.Pricing.Precision),
		bidder: w.bidder,
	}, true
}

// Response fills resp with the BidResponse for the SSP: one seatbid per
// bidder and seat with a winning bid, in config order, each bid priced at
// its clearing price in the response currency. It returns false when no
// imp has a winner (the caller answers 204). It allocates two slices: the
// seatbids, and the bids they share.
func (r *Result) Response(req *openrtb2.BidRequest, resp *openrtb2.BidResponse) bool {
	return r.ResponseInto(req, resp, nil)
}

// ResponseRoom is room for the usual response, one seat with one winning
// bid, that ResponseInto fills instead of allocating. Reuse it, zeroed,
// once the response is read no more (the server's per-request state).
type ResponseRoom struct {
	seat [1]openrtb2.SeatBid
	bid  [1]openrtb2.Bid
}

// ResponseInto is Response with room (nil: none) for the seatbids and the
// bids while they fit: a response with one seat and one bid allocates
// nothing. resp points into room until it is reset.
func (r *Result) ResponseInto(req *openrtb2.BidRequest, resp *openrtb2.BidResponse, room *ResponseRoom) bool {
	if len(r.Winners) == 0 {
		return false
	}
	*resp = openrtb2.BidResponse{ID: req.ID, Cur: r.Currency}
	seats := 0
	for i := range r.Winners {
		if firstOfSeat(r.Winners, i) {
			seats++
		}
	}
	var bids []openrtb2.Bid
	if room != nil && seats <= len(room.seat) {
		resp.SeatBid = room.seat[:0]
	} else {
		resp.SeatBid = make([]openrtb2.SeatBid, 0, seats)
	}
	if room != nil && len(r.Winners) <= len(room.bid) {
		bids = room.bid[:0]
	} else {
		bids = make([]openrtb2.Bid, 0, len(r.Winners))
	}
	for b := range r.Bidders {
		for i := range r.Winners {
			w := &r.Winners[i]
			if w.bidder != b || !firstOfSeat(r.Winners, i) {
				continue
			}
			first := len(bids)
			for j := i; j < len(r.Winners); j++ {
				if o := &r.Winners[j]; o.bidder == b && o.Seat == w.Seat {
					bid := *o.Bid
					bid.Price = o.Price.Float()
					bids = append(bids, bid)
				}
			}
			resp.SeatBid = append(resp.SeatBid, openrtb2.SeatBid{Seat: w.Seat, Bid: bids[first:len(bids):len(bids)]})
		}
	}
	return true
}

// firstOfSeat reports whether winners[i] is the first of its bidder and
// seat.
func firstOfSeat(winners []Winner, i int) bool {
	for j := range i {
		if winners[j].bidder == winners[i].bidder && winners[j].Seat == winners[i].Seat {
			return false
		}
	}
	return true
}
