package auction

import (
	"sync"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/privacy"
)

// call is one remote bidder's part of one auction, run by a worker.
type call struct {
	a        *Auction
	i        int // the bidder's index in a.bidders
	req      *openrtb2.BidRequest
	body     *sharedBody // the request encoded for the bidder; nil: it encodes
	deadline time.Time
	answers  chan<- answer
	// breaker, when set, let the call through in generation gen, at
	// admitted (the controls' clock), and is told how it ended.
	breaker  *breaker
	gen      uint64
	admitted int64
	// shaper, when set, let the call through for its bucket shapeBucket,
	// and counts its answer there.
	shaper      *shaper
	shapeBucket int32
	// trace, when set, records the call for a debugging request.
	trace *CallTrace
	// sig and scrub, for a bidder given no body, are the request's
	// privacy signals and what they remove from the bidder's request.
	sig   *privacy.Signals
	scrub privacy.Scrub
	// holder, when set, is released once the call has ended.
	holder Holder
}

// answer is a remote bidder's result, sent back to its auction.
type answer struct {
	i int
	r BidderResult
	// tr is the call's trace, read by the auction only once received.
	tr *CallTrace
}

func (c *call) run() {
	req := c.req
	if c.body == nil && c.scrub != 0 {
		buf := privacy.AcquireBuffer()
		defer privacy.ReleaseBuffer(buf)
		req = c.sig.Scrubbed(req, c.scrub, buf)
	}
	var (
		ctl          *controls
		sent         int64
		waited, left time.Duration
	)
	if c.breaker != nil || c.shaper != nil {
		ctl = c.a.bidders[c.i].(encodedBidder).control()
		sent = ctl.now()
		waited, left = time.Duration(sent-c.admitted), time.Until(c.deadline)
	}
	r := c.a.callBidder(c.a.bidders[c.i], req, c.body, c.deadline, c.trace)
	var now int64
	late := false
	if ctl != nil {
		// On the controls' clock, which the breaker's tests drive.
		now = ctl.now()
		late = r.Outcome == OutcomeTimeout && time.Duration(now-sent)-left > starvedLateness
	} else {
		late = r.Outcome == OutcomeTimeout && time.Since(c.deadline) > starvedLateness
	}
	if late {
		c.a.series[c.i].lateTimeouts.Inc()
	}
	if ctl != nil {
		if c.breaker != nil {
			c.breaker.done(c.gen, breakerResult(&r, ctl.fairChance(waited, left) && !late), now)
		}
		if c.shaper != nil && r.Outcome != OutcomeNotEligible && (r.Outcome != OutcomeTimeout || r.Wait > 0 && !late) {
			c.shaper.record(c.shapeBucket, now, r.Outcome == OutcomeBid)
		}
	}
	c.answers <- answer{c.i, r, c.trace}
	if c.holder != nil { // req and sig are read no more
		c.holder.Release()
	}
}

// starvedLateness is how long past its deadline a call's timeout may be
// noticed and still count against the DSP. The runtime wakes the call at
// its deadline; a call that runs later than this was kept from running:
// adx's CPU was overloaded (its quota spent, a long scheduler queue), and
// the DSP's answer may have been waiting, unread, all along. Counted
// against the DSP, such timeouts opened its breaker under an overload
// (a 200m quota at three times its capacity noticed timeouts up to 2.6 s
// late), and adx stopped calling a healthy DSP for as long as it lasted.
const starvedLateness = 10 * time.Millisecond

// breakerResult is what r tells a DSP's breaker: an error or a timeout is a
// failure, a bid or a no-bid a success. A timeout says nothing of the DSP
// when it was not called (too little time left) or, fair false, was not
// given a fair share of its time (controls.fairChance) or was noticed
// too late (starvedLateness).
func breakerResult(r *BidderResult, fair bool) callResult {
	switch r.Outcome {
	case OutcomeBid, OutcomeNoBid:
		return callSuccess
	case OutcomeTimeout:
		if r.Wait == 0 || !fair {
			return callNone
		}
		return callFailure
	case OutcomeError:
		return callFailure
	}
	return callNone
}

// workerIdle is how long a worker waits for a call before it exits.
const workerIdle = 10 * time.Second

// workerPool runs remote bidder calls on goroutines that outlive them. A
// new goroutine starts with a small stack, and a call (encoding, HTTP,
// decoding) grows it by copying, several times: in a goroutine per call
// that was 7% of an auction's CPU. A worker keeps its grown stack for the
// next call. Idle workers are kept most recently used first, so that the
// busiest few stay warm, and each exits after workerIdle without a call.
// The pool is unbounded, like a goroutine per call: what bounds it is
// admission control (http.max_inflight) times the remote bidders.
type workerPool struct {
	mu   sync.Mutex
	idle []*worker // most recently used last
	// maxIdle is how long a worker waits for a call before it exits; 0
	// is workerIdle.
	maxIdle time.Duration
}

type worker struct {
	calls chan call
}

// idleWorkers returns how many workers wait for a call.
func (p *workerPool) idleWorkers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// run hands c to an idle worker, or to a new one.
func (p *workerPool) run(c call) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.calls <- c
		return
	}
	p.mu.Unlock()
	w := &worker{calls: make(chan call, 1)}
	w.calls <- c
	go p.work(w)
}

// work runs w's calls until it has been idle for maxIdle.
func (p *workerPool) work(w *worker) {
	maxIdle := p.maxIdle
	if maxIdle == 0 {
		maxIdle = workerIdle
	}
	idle := time.NewTimer(maxIdle)
	defer idle.Stop()
	for {
		select {
		case c := <-w.calls:
			c.run()
			c = call{} // keep nothing of the call alive while idle
			p.mu.Lock()
			p.idle = append(p.idle, w)
			p.mu.Unlock()
			idle.Reset(maxIdle)
		case <-idle.C:
			if p.retire(w) {
				return
			}
			// Handed a call as the timer fired: take it.
			idle.Reset(maxIdle)
		}
	}
}

// retire removes w from the idle list and reports whether it was there:
// if not, a call is on its way to it.
func (p *workerPool) retire(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.idle {
		if x == w {
			copy(p.idle[i:], p.idle[i+1:])
			p.idle[len(p.idle)-1] = nil
			p.idle = p.idle[:len(p.idle)-1]
			return true
		}
	}
	return false
}
