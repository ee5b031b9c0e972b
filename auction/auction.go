// Package auction runs one first-price auction per bid request: it fans the
// request out to every demand partner that can serve it, validates the bids
// that come back before the deadline, and picks the highest valid bid per
// imp.
package auction

import (
	"runtime/debug"
	"sync"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/currency"
	"github.com/adx-exchange/adx/openrtb"
	"github.com/adx-exchange/adx/privacy"
)

// Bidder is one demand partner.
//
// Bid asks the partner for bids on req and returns before deadline. req is
// shared by every bidder of the auction and must not be modified; a bidder
// that needs a different request makes a shallow copy. The returned bids
// belong to the caller. A partner with nothing to offer returns (nil, nil);
// ErrNotEligible says it was not asked at all (no imp it can serve). Any
// other error counts against the partner and never fails the auction. Bid
// prices are CPMs in the exchange currency.
type Bidder interface {
	Name() string
	Bid(req *openrtb2.BidRequest, deadline time.Time) ([]openrtb2.Bid, error)
}

// answeringBidder is a bidder that gives its bids' seats and currency
// along with them.
type answeringBidder interface {
	answer(req *openrtb2.BidRequest, deadline time.Time) (dspAnswer, error)
}

// inProcess is implemented by bidders that answer from memory without
// blocking (house demand): the auction calls them on its own goroutine.
type inProcess interface{ inProcess() }

// Auction is a configured set of bidders. It is built once from the config,
// which adx reads only at start, and never changed; it is safe for
// concurrent use.
type Auction struct {
	bidders []Bidder
	rules   Rules
	// maxPrice is Limits.MaxBidPrice in micros; 0: none.
	maxPrice currency.Micros
	metrics  *Metrics
	series   []bidderSeries // series[i] belongs to bidders[i]
	remote   int            // bidders called over the network
	// remoteIdx are the indexes of the remote bidders in bidders.
	remoteIdx []int
	// partners[i] is what the privacy rules know of bidders[i].
	partners []privacy.Partner
	// workers run the remote bidder calls.
	workers workerPool
}

// New returns an Auction over bidders, in config order (the order breaks
// price ties), clearing by rules. metrics may be nil.
func New(bidders []Bidder, rules Rules, metrics *Metrics) *Auction {
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	series := make([]bidderSeries, len(bidders))
	for i, b := range bidders {
		series[i] = metrics.seriesFor(b.Name())
	}
	a := &Auction{bidders: bidders, rules: rules, metrics: metrics, series: series}
	if rules.Limits.MaxBidPrice > 0 {
		a.maxPrice, _ = currency.FromFloat(rules.Limits.MaxBidPrice)
	}
	a.partners = make([]privacy.Partner, len(bidders))
	for i, b := range bidders {
		if p, ok := b.(interface{ privacyPartner() privacy.Partner }); ok {
			a.partners[i] = p.privacyPartner()
		}
		if _, ok := b.(inProcess); ok {
			a.partners[i] = privacy.Partner{Exchange: true}
			continue
		}
		a.remote++
		a.remoteIdx = append(a.remoteIdx, i)
		if e, ok := b.(encodedBidder); ok {
			ctl := e.control()
			// A breaker or a shaper kept from the auction before (keep) is
			// shared with its auctions still running.
			if br := ctl.breaker; br != nil {
				br.mu.Lock()
				br.gauge = metrics.breakerState.WithLabelValues(b.Name())
				br.gauge.Set(float64(br.state.Load()))
				br.mu.Unlock()
			}
			if s := ctl.shaper; s != nil && s.lost == nil { // a kept one has its series
				s.mu.Lock()
				s.lost = metrics.shapedBids.WithLabelValues(b.Name())
				s.explored = metrics.shapingExplored.WithLabelValues(b.Name())
				s.gauge = metrics.shapingThreshold.WithLabelValues(b.Name())
				s.gauge.Set(s.theta)
				s.mu.Unlock()
			}
		}
	}
	return a
}

// ValidateRequest checks a decoded request with openrtb.ValidateRequest,
// under the auction's limit on imps (Limits.MaxImps). Its errors are
// *openrtb.RequestError.
func (a *Auction) ValidateRequest(req *openrtb2.BidRequest) error {
	return openrtb.ValidateRequest(req, openrtb.Limits{MaxImps: a.rules.Limits.MaxImps})
}

// RemoteBidders returns how many bidders are called over the network (each
// holds its own copy of the encoded request, with its tmax, and reads an
// answer).
func (a *Auction) RemoteBidders() int { return a.remote }

// Outcome is what one bidder contributed to one auction.
type Outcome uint8

// Outcomes, used as the "outcome" metric label.
const (
	OutcomeBid         Outcome = iota // returned at least one bid (valid or not)
	OutcomeNoBid                      // answered with no bid
	OutcomeTimeout                    // did not answer before the deadline
	OutcomeError                      // failed: connection, HTTP status, garbage
	OutcomeNotEligible                // not asked: no imp it can serve
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"bid", "nobid", "timeout", "error", "not_eligible"}

// String returns the outcome's metric label.
func (o Outcome) String() string { return outcomeNames[o] }

// DropReason says why a bid was not allowed into the auction.
type DropReason uint8

// Reasons a bid is dropped, used as the "reason" metric label.
const (
	DropUnknownImp   DropReason = iota // impid names no imp of the request
	DropInvalidPrice                   // price not positive and finite
	DropBelowFloor                     // price below the imp's (or deal's) floor
	DropNoMarkup                       // neither adm nor nurl
	DropNoCreative                     // no crid
	DropCurrency                       // bid or floor in a currency the exchange cannot compare
	DropNotDeal                        // private auction imp and no matching deal id
	DropTooManyBids                    // past Limits.MaxBidsPerResponse in one answer
	DropPriceTooHigh                   // price above Limits.MaxBidPrice
	DropLate                           // not checked: the deadline passed first
	DropStaleRates                     // bid or floor in another currency, and the rates are older than currency.max_age
	DropDealTerms                      // a deal bid from a seat or for an advertiser the deal does not admit

	// The creative breaks a rule of its request or imp (checkCreative).
	DropBlockedCategory     // a cat in the request's bcat
	DropBlockedAdvertiser   // an adomain whose registrable domain is in badv
	DropBlockedApp          // bundle in bapp
	DropBlockedAttribute    // an attr in the battr of the bid's medium
	DropBlockedCreativeType // banner markup of a type in btype
	DropBlockedSeat         // seat in bseat, or not in wseat
	DropBlockedLanguage     // language or langb outside wlang/wlangb
	DropWrongMedia          // mtype names a medium the imp does not offer
	DropWrongSize           // w x h fits none of the banner's sizes
	DropWrongDuration       // dur outside the imp's durations
	DropWrongProtocol       // protocol not among the imp's protocols
	DropNotVAST             // video or audio adm that is not VAST
	DropNativeAssets        // native adm that is no Native response, or lacks a required asset
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"unknown_imp", "invalid_price", "below_floor", "no_markup", "no_crid", "currency", "not_deal",
	"too_many_bids", "price_too_high", "late", "stale_rates", "deal_terms",
	"blocked_category", "blocked_advertiser", "blocked_app", "blocked_attribute", "blocked_creative_type", "blocked_seat",
	"blocked_language", "wrong_media", "wrong_size", "wrong_duration", "wrong_protocol", "not_vast", "native_assets"}

// String returns the reason's metric label.
func (r DropReason) String() string { return dropReasonNames[r] }

// lossCodes are the OpenRTB loss reason codes (list 5.25) of the drop
// reasons, for the loss notices of dropped bids.
var lossCodes = [numDropReasons]int{
	DropUnknownImp: 3, DropInvalidPrice: 9, DropBelowFloor: 100, DropNoMarkup: 7, DropNoCreative: 8,
	DropCurrency: 3, DropNotDeal: 4, DropTooManyBids: 3, DropPriceTooHigh: 3, DropLate: 2, DropStaleRates: 1,
	DropDealTerms: 213, DropBlockedCategory: 209, DropBlockedAdvertiser: 205, DropBlockedApp: 206,
	DropBlockedAttribute: 210, DropBlockedCreativeType: 211, DropBlockedSeat: 104, DropBlockedLanguage: 208,
	DropWrongMedia: 204, DropWrongSize: 203, DropWrongDuration: 204, DropWrongProtocol: 204, DropNotVAST: 204,
	DropNativeAssets: 204,
}

// LossCode returns the OpenRTB loss reason (list 5.25) a DSP is sent in
// the loss notice of a bid dropped for r: 100 below the floor, 203 a size
// not allowed, 209 a blocked category, and so on; 3 (an invalid bid
// response) where the list has nothing closer.
func (r DropReason) LossCode() int { return lossCodes[r] }

// BidderResult is one bidder's part of an auction.
type BidderResult struct {
	Name    string
	Outcome Outcome
	Err     error
	Latency time.Duration
	// Wait is the part of Latency spent waiting for the partner's answer
	// on the network: zero for in-process bidders.
	Wait time.Duration
	// Bids are the bids that passed validation.
	Bids []openrtb2.Bid
	// Seat is the DSP's seat for every bid when Seats is nil; else
	// Seats[i] is Bids[i]'s. "" is no seat given: the partner's name
	// stands for it.
	Seat  string
	Seats []string
	// Currency is the currency of the partner's prices; "" is the
	// exchange's.
	Currency string
	// Dropped counts the bids that failed validation, by reason.
	Dropped [numDropReasons]int
	// Drops lists the bids that were checked and dropped, with why, in
	// answer order. Bids dropped unchecked (DropTooManyBids, DropLate) are
	// only counted.
	Drops []Drop
	// Privacy is what the request's privacy signals did to the bidder:
	// kept the request from it (a bidder filtered with FilterPrivacy), or
	// scrubbed the request it was sent. Zero when they did neither, or it
	// was not sent the request for another reason.
	Privacy privacy.Decision
}

// Drop is one bid dropped from an auction: the event stream records it.
type Drop struct {
	ImpID, BidID string
	// Price is the bid's price in the partner's currency (Currency of its
	// BidderResult).
	Price  float64
	Reason DropReason
	// LURL is the bid's loss notice URL, unexpanded.
	LURL string
}

// Winner is the winning bid of one imp, and what it clears at: the money
// the event stream records.
type Winner struct {
	// Seat is the DSP's seat for the bid, or the partner's name when it
	// gave none.
	Seat string
	Bid  *openrtb2.Bid
	// Deal is the deal the bid won on; nil: the open market.
	Deal *openrtb2.Deal
	// AuctionType is how the imp cleared: FirstPrice, SecondPrice or
	// FixedPrice.
	AuctionType int
	// BidPrice is what the DSP bid, in the exchange currency.
	BidPrice currency.Micros
	// Charge is what the DSP is charged (gross), in the exchange
	// currency: BidPrice in a first-price auction, less in the others.
	Charge currency.Micros
	// Clear is the clearing price net of the margin, in the exchange
	// currency: what the SSP is paid.
	Clear currency.Micros
	// Price is Clear in the response currency, rounded down to the
	// price precision: the bid's price in the response.
	Price currency.Micros
	// bidder is the index of the bidder in the auction's config order.
	bidder int
}

// BidderIndex returns the index of the winner's bidder in the auction's
// bidder list: the enabled demand partners, in config order.
func (w *Winner) BidderIndex() int { return w.bidder }

// Result is one auction's outcome. Winners follow the order of req.Imp and
// hold only imps with a winning bid.
type Result struct {
	Bidders []BidderResult
	Winners []Winner
	// Currency is the response's currency: the first of the request's
	// that the exchange can price in.
	Currency string
	// Room for the usual auction, a few bidders and imps, in the one
	// allocation of the Result.
	bidders [inlineBidders]BidderResult
	winners [inlineImps]Winner
}

// The bidders and imps a Result has room for without allocating more.
const inlineBidders, inlineImps = 4, 4

// results are Results their auctions' callers have released: with its
// room for bidders and winners a Result is 2 KB, the largest object of an
// auction.
var results = sync.Pool{New: func() any { return new(Result) }}

// Release gives r back to be used by another auction. The caller must be
// done with r and with everything r holds (its Bidders, its Winners and
// their bids); no bidder writes to r once RunWith has returned. A Result
// that is not released is left to the garbage collector.
func (r *Result) Release() {
	*r = Result{}
	results.Put(r)
}

// WinnerOf returns the winner of the imp with id impID, nil when it has
// none. With a hint it scans from *hint, where the last search ended, and
// leaves *hint past the winner found: a response lists its bids in the
// winners' order when one partner wins them all, so that walking a
// response's bids takes one step per bid.
func (r *Result) WinnerOf(impID string, hint *int) *Winner {
	n := len(r.Winners)
	start := 0
	if hint != nil {
		start = *hint
	}
	for k := range n {
		i := (start + k) % n
		if r.Winners[i].Bid.ImpID == impID {
			if hint != nil {
				*hint = (i + 1) % n
			}
			return &r.Winners[i]
		}
	}
	return nil
}

// DemandWait returns the longest time a remote bidder waited for its
// partner's answer: what the auction could not go faster than. The rest
// of an auction's time is the exchange's own.
func (r *Result) DemandWait() time.Duration {
	var w time.Duration
	for i := range r.Bidders {
		w = max(w, r.Bidders[i].Wait)
	}
	return w
}

// Run holds one auction for req, which must have been validated, under
// the exchange's own settings: RunWith with no options.
func (a *Auction) Run(req *openrtb2.BidRequest, deadline time.Time) *Result {
	return a.RunWith(req, deadline, nil)
}

// RunWith holds one auction for req, which must have been validated, under
// a supply partner's options o (nil: none), which must come from this
// Auction's SupplyOptions. It returns by deadline, plus scheduling noise:
// bidders that have not answered by then are counted as timeouts and their
// late answers are thrown away, and bids still unchecked at the deadline
// are dropped (DropLate). A bidder o excludes is not called: it is not
// eligible, filtered with FilterSupply. With o.Privacy set, each bidder
// is sent the request as the signals let it see it, or, kept from it, is
// filtered with FilterPrivacy; the decision is in its result. With
// o.Trace set, RunWith fills it in.
func (a *Auction) RunWith(req *openrtb2.BidRequest, deadline time.Time, o *RunOptions) *Result {
	start := time.Now()
	if o != nil && o.Trace != nil {
		o.Trace.Calls = make([]CallTrace, len(a.bidders))
	}
	res := results.Get().(*Result)
	if len(a.bidders) <= inlineBidders {
		res.Bidders = res.bidders[:len(a.bidders)]
	} else {
		res.Bidders = make([]BidderResult, len(a.bidders))
	}
	x := a.rates(start)
	var curOK bool
	if res.Currency, curOK = a.responseCurrency(req, &x); !curOK {
		// The SSP takes only currencies the exchange does not bid in.
		for i, b := range a.bidders {
			res.Bidders[i] = BidderResult{Name: b.Name(), Outcome: OutcomeNotEligible}
		}
		return res
	}
	// Remote bidders run concurrently, on the workers; in-process bidders
	// never block, so they run here meanwhile, saving a worker, a channel
	// send and a timer per auction.
	// A remote bidder's result is final once it has its name.
	var answers chan answer
	remote := 0
	if a.remote > 0 {
		answers = o.answers(a.remote)
		remote = a.fanOut(req, deadline, answers, res, o)
	}
	sig := o.signals()
	for i, b := range a.bidders {
		if _, ok := b.(inProcess); !ok {
			continue
		}
		if o.excludes(i) {
			a.filter(res, i, FilterSupply)
			continue
		}
		res.Bidders[i] = a.callInProcess(b, i, req, deadline, sig)
	}
	if remote > 0 {
		timer := acquireTimer(time.Until(deadline))
	collect:
		for n := 0; n < remote; n++ {
			select {
			case ans := <-answers:
				res.Bidders[ans.i] = ans.r
				if ans.tr != nil {
					o.Trace.Calls[ans.i] = *ans.tr
				}
			case <-timer.C:
				break collect
			}
		}
		releaseTimer(timer)
		for _, i := range a.remoteIdx {
			if b := a.bidders[i]; res.Bidders[i].Name == "" {
				waited := time.Since(start) // the auction waited for it all along
				res.Bidders[i] = BidderResult{Name: b.Name(), Outcome: OutcomeTimeout, Err: errTimeout, Latency: waited, Wait: waited}
			}
		}
	}
	imps := newImpIndex(req.Imp)
	var (
		buf   [inlineImps]impRace
		races []impRace
	)
	if len(req.Imp) <= inlineImps {
		races = buf[:len(req.Imp)]
	} else {
		races = make([]impRace, len(req.Imp))
	}
	for i := range res.Bidders {
		if sig != nil && !o.excludes(i) {
			a.notePrivacy(i, sig, &res.Bidders[i])
		}
		a.validateBids(req, &x, &imps, deadline, i, &res.Bidders[i], races, o)
		a.series[i].observe(&res.Bidders[i])
	}
	res.Winners = a.winners(req, &x, races, res.Currency, res.winners[:0], o)
	return res
}

// decide returns what bidder i may be sent under the request's privacy
// signals sig.
func (a *Auction) decide(i int, sig *privacy.Signals) privacy.Decision {
	return sig.Decide(&a.rules.Privacy, &a.partners[i])
}

// callInProcess runs in-process bidder i, b, on req as the privacy
// signals sig (nil: none) let it see it: the exchange's own demand is
// never kept from a request, but sees it scrubbed by the rules that hold
// for every partner.
func (a *Auction) callInProcess(b Bidder, i int, req *openrtb2.BidRequest, deadline time.Time, sig *privacy.Signals) BidderResult {
	if sig == nil {
		return a.callBidder(b, req, nil, deadline, nil)
	}
	d := a.decide(i, sig)
	if d.Scrub == 0 {
		return a.callBidder(b, req, nil, deadline, nil)
	}
	buf := privacy.AcquireBuffer()
	defer privacy.ReleaseBuffer(buf) // its bids do not point into its request
	return a.callBidder(b, sig.Scrubbed(req, d.Scrub, buf), nil, deadline, nil)
}

// notePrivacy records in r, bidder i's final result, what the privacy
// signals did to it, and counts it: kept from the request, or sent it
// scrubbed. A bidder not sent the request for another reason (its
// controls, no imp of its media) has nothing recorded.
func (a *Auction) notePrivacy(i int, sig *privacy.Signals, r *BidderResult) {
	d := a.decide(i, sig) // the decision fanOut made: the same signals, the same partner
	if d.Called() && (d.Reasons == 0 || r.Outcome == OutcomeNotEligible) {
		return
	}
	r.Privacy = d
	a.series[i].observePrivacy(d)
}

// filter sets bidder i's result: not called, filtered for reason.
func (a *Auction) filter(res *Result, i int, reason FilterReason) {
	res.Bidders[i] = BidderResult{Name: a.bidders[i].Name(), Outcome: OutcomeNotEligible, Err: filteredErrors[reason]}
	a.series[i].filtered[reason].Inc()
}

// callBidder runs one bidder and turns its panic, if any, into an error:
// a broken partner never takes the exchange down.
// With body, b is an encodedBidder given the request already encoded; tr,
// when set, records its HTTP call.
func (a *Auction) callBidder(b Bidder, req *openrtb2.BidRequest, body *sharedBody, deadline time.Time, tr *CallTrace) (r BidderResult) {
	start := time.Now()
	r.Name = b.Name()
	defer func() {
		if p := recover(); p != nil {
			a.metrics.panics.Inc()
			r.Bids = nil
			r.Outcome = OutcomeError
			r.Err = &panicError{value: p, stack: debug.Stack()}
		}
		r.Latency = time.Since(start)
	}()
	var (
		bids []openrtb2.Bid
		err  error
	)
	if body != nil {
		var ans dspAnswer
		ans, r.Wait, err = b.(encodedBidder).bidEncoded(req, body, deadline, tr)
		bids, r.Seat, r.Seats, r.Currency = ans.bids, ans.seat, ans.seats, ans.cur
	} else if ab, ok := b.(answeringBidder); ok {
		var ans dspAnswer
		ans, err = ab.answer(req, deadline)
		bids, r.Seat, r.Seats, r.Currency = ans.bids, ans.seat, ans.seats, ans.cur
	} else {
		bids, err = b.Bid(req, deadline)
		r.Currency = a.rules.Currency // a Bidder's prices are in the exchange currency
	}
	switch {
	case err == ErrNotEligible:
		r.Outcome = OutcomeNotEligible
	case err != nil:
		r.Outcome = OutcomeError
		if isTimeout(err) {
			r.Outcome = OutcomeTimeout
		}
		r.Err = err
	case len(bids) == 0:
		r.Outcome = OutcomeNoBid
	default:
		r.Outcome = OutcomeBid
		r.Bids = bids
	}
	return r
}

// impScanLimit is the imp count up to which an imp is found by scanning the
// imps rather than through a map, which costs three allocations per request
// and a hash per bid. Measured with BenchmarkValidatePick on a loaded
// 2-core machine: at 16 imps (128 bids) the scan takes 8-10 µs, a few µs
// more than the map but with no allocation; at 32 imps the map is 1.5 to 2
// times as fast.
const impScanLimit = 16

// impIndex finds a request's imps by id. It is built once per auction and
// read by every bidder's validation, so that matching bids to imps costs
// O(bids), not O(imps × bids). The imp ids are unique (request
// validation).
type impIndex struct {
	imps []openrtb2.Imp
	byID map[string]int // nil up to impScanLimit imps
}

func newImpIndex(imps []openrtb2.Imp) impIndex {
	x := impIndex{imps: imps}
	if len(imps) > impScanLimit {
		x.byID = make(map[string]int, len(imps))
		for i := range imps {
			x.byID[imps[i].ID] = i
		}
	}
	return x
}

// find returns the index of the imp with id, or -1.
func (x *impIndex) find(id string) int {
	if x.byID != nil {
		if i, ok := x.byID[id]; ok {
			return i
		}
		return -1
	}
	for i := range x.imps {
		if x.imps[i].ID == id {
			return i
		}
	}
	return -1
}

func findDeal(deals []openrtb2.Deal, id string) *openrtb2.Deal {
	if id == "" {
		return nil
	}
	for i := range deals {
		if deals[i].ID == id {
			return &deals[i]
		}
	}
	return nil
}
