package auction

import (
	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/currency"
	"github.com/adx-exchange/adx/privacy"
)

// RunOptions are one supply partner's auction settings: its auction type,
// its take rate and the bidders it may not be sent to. They are built once
// per partner with the Auction they belong to (SupplyOptions) and shared
// by all the partner's requests, so that passing them costs an auction
// nothing; a nil *RunOptions is the exchange's own settings.
type RunOptions struct {
	// AuctionType is FirstPrice or SecondPrice for a request without at;
	// 0: Pricing.AuctionType.
	AuctionType int
	// TakeRate replaces the exchange's take rate, when HasTakeRate, for
	// the bidders without a take rate of their own (Terms.OwnTakeRate).
	TakeRate    currency.PPM
	HasTakeRate bool
	// exclude is the set of bidder indexes not called, a bit per bidder;
	// nil: none.
	exclude []uint64
	// Trace, when set, is filled with each bidder's call: set it on a copy
	// for one request only (it is written by the auction).
	Trace *Trace
	// Privacy, when set, are the request's privacy signals, parsed from
	// the request the auction is run for: each bidder is sent, or kept
	// from, what they allow it. Set it on a copy for one request only.
	// nil, or signals that are not Active, cost the auction nothing.
	Privacy *privacy.Signals
	// Holder, when set, is held by each remote call the auction starts,
	// from before it starts until it reads the request and the signals no
	// more: a call may outlive RunWith, which waits for the calls only
	// until the deadline. Set it on a copy for one request only.
	Holder Holder
	// Answers, when set with Holder, is where the remote calls' answers
	// wait for the auction, instead of a channel made for each auction. It
	// may be lent to another auction once the Holder is released by every
	// call, each of which has answered by then. Set it on a copy for one
	// request only.
	Answers *Answers
}

// Answers is room for the answers of an auction's remote calls, lent with
// RunOptions.Answers and reused from one auction to the next. The zero
// Answers is ready.
type Answers struct {
	ch chan answer
}

// ready returns a channel with room for n answers and none waiting: the
// answers that came after the last auction stopped waiting are dropped.
func (b *Answers) ready(n int) chan answer {
	if cap(b.ch) < n {
		b.ch = make(chan answer, n)
		return b.ch
	}
	for {
		select {
		case <-b.ch:
		default:
			return b.ch
		}
	}
}

// answers returns the channel an auction with n remote calls collects
// their answers from: o's Answers, when the Holder keeps it from reuse
// until every call has answered, or a new one.
func (o *RunOptions) answers(n int) chan answer {
	if o == nil || o.Answers == nil || o.Holder == nil {
		return make(chan answer, n)
	}
	return o.Answers.ready(n)
}

// Holder is what keeps a request's memory from reuse: each remote call
// Holds it before it starts and Releases it once it ends.
type Holder interface {
	Hold()
	Release()
}

// Trace is a debugging request's record of its bidders' calls.
type Trace struct {
	// Calls[i] is bidder i's call, by index in the bidder list: zero for
	// a bidder not called over HTTP, or whose call had not ended at the
	// deadline (a call that ended in a timeout has its request alone).
	Calls []CallTrace
}

// CallTrace is one HTTP call to a DSP, each body cut to TraceBodyBytes.
type CallTrace struct {
	// Request is the request sent, with its tmax, before compression;
	// RequestBytes its whole length.
	Request      []byte
	RequestBytes int
	// Status is the HTTP status; 0: no answer.
	Status int
	// Answer is the answer's body, inflated; AnswerBytes its whole length.
	Answer      []byte
	AnswerBytes int
}

// TraceBodyBytes bounds the request and answer kept in a CallTrace.
const TraceBodyBytes = 4 << 10

// traceBody returns a copy of b cut to TraceBodyBytes.
func traceBody(b []byte) []byte {
	return append([]byte(nil), b[:min(len(b), TraceBodyBytes)]...)
}

// SupplyOptions returns the RunOptions of supply partner s for this
// Auction: its auction type, its take rate, and the bidders its demand
// and block_demand lists leave out. s must have passed config validation.
func (a *Auction) SupplyOptions(s *config.Supply) RunOptions {
	o := RunOptions{AuctionType: s.AuctionType}
	if s.TakeRate != nil {
		o.TakeRate, o.HasTakeRate = currency.PPMFromFloat(*s.TakeRate), true
	}
	for i, b := range a.bidders {
		name := b.Name()
		out := contains(s.BlockDemand, name) || len(s.Demand) > 0 && !contains(s.Demand, name)
		if !out {
			continue
		}
		if o.exclude == nil {
			o.exclude = make([]uint64, (len(a.bidders)+63)/64)
		}
		o.exclude[i/64] |= 1 << (i % 64)
	}
	return o
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// signals returns the request's privacy signals under o, nil when none
// can change what a bidder is sent.
func (o *RunOptions) signals() *privacy.Signals {
	if o == nil || o.Privacy == nil || !o.Privacy.Active() {
		return nil
	}
	return o.Privacy
}

// excludes reports whether bidder i is not called under o.
func (o *RunOptions) excludes(i int) bool {
	return o != nil && i/64 < len(o.exclude) && o.exclude[i/64]&(1<<(i%64)) != 0
}

// termsFor returns bidder i's terms for a request under o: the supply
// partner's take rate replaces the exchange's unless the bidder has its
// own.
func (a *Auction) termsFor(i int, o *RunOptions) Terms {
	t := a.terms(i)
	if o != nil && o.HasTakeRate && !t.OwnTakeRate {
		t.TakeRate = o.TakeRate
	}
	return t
}

// auctionType returns the auction type of a request without at under o.
func (a *Auction) auctionType(o *RunOptions) int {
	if o != nil && o.AuctionType != 0 {
		return o.AuctionType
	}
	return a.rules.Pricing.AuctionType
}
