package auction

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/openrtb"
)

// encodedBidder is a remote bidder that takes its request encoded by the
// auction: the auction encodes a request once for all the bidders that
// take the same media, without tmax, and each splices in its own (the time
// it has left) while copying the body into its HTTP request.
type encodedBidder interface {
	Bidder
	// mediaSet is the imp kinds the bidder is sent: its media types
	// narrowed by its targeting.
	mediaSet() mediaMask
	// mediaTypes is the imp kinds of its media types alone: a request
	// with none is not eligible, one with some but none of mediaSet is
	// filtered by format.
	mediaTypes() mediaMask
	// control returns the bidder's demand controls.
	control() *controls
	// bidEncoded is Bid with the request encoded in body; it releases body
	// once it no longer reads it, and reports how long it waited for the
	// answer.
	bidEncoded(req *openrtb2.BidRequest, body *sharedBody, deadline time.Time) (dspAnswer, time.Duration, error)
}

// sharedBody is a request encoded once for several bidders, pooled: the
// last bidder to release it gives it back.
type sharedBody struct {
	b    []byte
	refs atomic.Int32
}

// maxPooledBody bounds the encoded requests kept for reuse.
const maxPooledBody = 64 << 10

var sharedBodies = sync.Pool{New: func() any { return new(sharedBody) }}

// release gives up one reference to s.
func (s *sharedBody) release() {
	if s.refs.Add(-1) == 0 && cap(s.b) <= maxPooledBody {
		sharedBodies.Put(s)
	}
}

// releaseN gives up n references to s.
func (s *sharedBody) releaseN(n int32) {
	if s.refs.Add(-n) == 0 && cap(s.b) <= maxPooledBody {
		sharedBodies.Put(s)
	}
}

// encodeFor encodes req for bidders taking media, without tmax, for users
// references; with t, only the imps that fit its sizes. It returns
// ErrNotEligible when req has no such imp.
func encodeFor(req *openrtb2.BidRequest, media mediaMask, t *targeting, users int32) (*sharedBody, error) {
	out := *req
	out.TMax = 0 // each bidder splices in its own
	if media != mediaAll || t != nil {
		n := 0
		for i := range req.Imp {
			if takes(&req.Imp[i], media, t) {
				n++
			}
		}
		if n == 0 {
			return nil, ErrNotEligible
		}
		if n < len(req.Imp) {
			out.Imp = make([]openrtb2.Imp, 0, n)
			for i := range req.Imp {
				if takes(&req.Imp[i], media, t) {
					out.Imp = append(out.Imp, req.Imp[i])
				}
			}
		}
	}
	s := sharedBodies.Get().(*sharedBody)
	b, err := openrtb.AppendRequest(s.b[:0], &out)
	if err != nil {
		sharedBodies.Put(s)
		return nil, fmt.Errorf("cannot encode the request: %w", err)
	}
	s.b = b
	s.refs.Store(users)
	return s, nil
}

// takes reports whether a bidder taking media, targeting t (nil: none), is
// sent imp.
func takes(imp *openrtb2.Imp, media mediaMask, t *targeting) bool {
	m := impMedia(imp) & media
	return m != 0 && (t == nil || t.fits(imp, m))
}

// fanOut starts every remote bidder on a worker and returns how many it
// started. The request is encoded once per set of media that encoded
// bidders take (a bidder targeting sizes has its own); a bidder with no
// imp of its media, filtered by its controls, or whose request cannot be
// encoded, is not started: its result is set in res.
func (a *Auction) fanOut(req *openrtb2.BidRequest, deadline time.Time, answers chan<- answer, res *Result) int {
	var (
		bodies [mediaAll + 1]*sharedBody
		errs   [mediaAll + 1]error
		// skipped[m] counts the bidders of bodies[m] not started: their
		// references are given back at the end.
		skipped [mediaAll + 1]int32
	)
	var reqMedia mediaMask
	for i := range req.Imp {
		reqMedia |= impMedia(&req.Imp[i])
	}
	started := 0
	for _, i := range a.remoteIdx {
		b := a.bidders[i]
		c := call{a: a, i: i, req: req, deadline: deadline, answers: answers}
		if e, ok := b.(encodedBidder); ok {
			m := e.mediaSet()
			ctl := e.control()
			shared := ctl.target == nil || len(ctl.target.sizes) == 0
			reason, ok := a.admit(ctl, req, reqMedia, e.mediaTypes(), m, &c)
			if !ok {
				if shared {
					skipped[m]++
				}
				res.Bidders[i] = BidderResult{Name: b.Name(), Outcome: OutcomeNotEligible, Err: filteredErrors[reason]}
				a.series[i].filtered[reason].Inc()
				continue
			}
			var err error
			if shared {
				if bodies[m] == nil && errs[m] == nil {
					bodies[m], errs[m] = encodeFor(req, m, nil, a.mediaUsers[m])
				}
				c.body, err = bodies[m], errs[m]
			} else {
				c.body, err = encodeFor(req, m, ctl.target, 1)
			}
			if err != nil {
				if c.breaker != nil {
					c.breaker.done(c.gen, callNone, ctl.now())
				}
				r := BidderResult{Name: b.Name(), Outcome: OutcomeNotEligible}
				if err != ErrNotEligible {
					r.Outcome, r.Err = OutcomeError, err
				}
				res.Bidders[i] = r
				continue
			}
		}
		started++
		a.workers.run(c)
	}
	for m, n := range skipped {
		if n > 0 && bodies[m] != nil {
			bodies[m].releaseN(n)
		}
	}
	return started
}

// admit runs a bidder's controls on req, cheapest first: pretargeting,
// then the breaker, then the QPS cap, and last the breaker's permit (a
// half-open probe is taken only by a call that will be made). A bidder
// with no imp of its media passes, to be found not eligible when its
// request is encoded. A call let through by the breaker gets the breaker
// and generation to end it in.
func (a *Auction) admit(ctl *controls, req *openrtb2.BidRequest, reqMedia, mediaTypes, media mediaMask, c *call) (FilterReason, bool) {
	if reqMedia&mediaTypes == 0 {
		return 0, true
	}
	if t := ctl.target; t != nil {
		if r, ok := t.check(req); !ok {
			return r, false
		}
	}
	if reqMedia&media == 0 { // media narrowed by targeting.formats
		return FilterFormat, false
	}
	if t := ctl.target; t != nil && len(t.sizes) > 0 {
		fit := false
		for i := range req.Imp {
			if fit = takes(&req.Imp[i], media, t); fit {
				break
			}
		}
		if !fit {
			return FilterSize, false
		}
	}
	if ctl.bucket == nil && ctl.breaker == nil {
		return 0, true
	}
	now := ctl.now()
	if ctl.breaker != nil && ctl.breaker.isOpen(now) {
		return FilterBreakerOpen, false
	}
	if ctl.bucket != nil && !ctl.bucket.allow(now) {
		return FilterQPS, false
	}
	if ctl.breaker != nil {
		gen, ok := ctl.breaker.allow(now)
		if !ok {
			return FilterBreakerOpen, false
		}
		c.breaker, c.gen = ctl.breaker, gen
	}
	return 0, true
}

// timers are the auctions' deadline timers, reused: a new one is two
// allocations. Stopped timers have nothing to receive (Go 1.23 timers).
var timers sync.Pool

func acquireTimer(d time.Duration) *time.Timer {
	if t, ok := timers.Get().(*time.Timer); ok {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

func releaseTimer(t *time.Timer) {
	t.Stop()
	timers.Put(t)
}
