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
	// mediaSet is the imp kinds the bidder is sent.
	mediaSet() mediaMask
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

// encodeFor encodes req for bidders taking media, without tmax, for users
// references. It returns ErrNotEligible when req has no imp of media.
func encodeFor(req *openrtb2.BidRequest, media mediaMask, users int32) (*sharedBody, error) {
	out := *req
	out.TMax = 0 // each bidder splices in its own
	if media != mediaAll {
		n := 0
		for i := range req.Imp {
			if impMedia(&req.Imp[i])&media != 0 {
				n++
			}
		}
		if n == 0 {
			return nil, ErrNotEligible
		}
		if n < len(req.Imp) {
			out.Imp = make([]openrtb2.Imp, 0, n)
			for i := range req.Imp {
				if impMedia(&req.Imp[i])&media != 0 {
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

// fanOut starts every remote bidder on a worker and returns how many it
// started. The request is encoded once per set of media that encoded
// bidders take; a bidder with no imp of its media, or whose request cannot
// be encoded, is not started: its result is set in res.
func (a *Auction) fanOut(req *openrtb2.BidRequest, deadline time.Time, answers chan<- answer, res *Result) int {
	var (
		bodies [mediaAll + 1]*sharedBody
		errs   [mediaAll + 1]error
	)
	started := 0
	for _, i := range a.remoteIdx {
		b := a.bidders[i]
		c := call{a: a, i: i, req: req, deadline: deadline, answers: answers}
		if e, ok := b.(encodedBidder); ok {
			m := e.mediaSet()
			if bodies[m] == nil && errs[m] == nil {
				bodies[m], errs[m] = encodeFor(req, m, a.mediaUsers[m])
			}
			if errs[m] != nil {
				r := BidderResult{Name: b.Name(), Outcome: OutcomeNotEligible}
				if errs[m] != ErrNotEligible {
					r.Outcome, r.Err = OutcomeError, errs[m]
				}
				res.Bidders[i] = r
				continue
			}
			c.body = bodies[m]
		}
		started++
		a.workers.run(c)
	}
	return started
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
