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
	// bodyKind is the imp kinds and OpenRTB version the bidder is sent.
	bodyKind() bodyKind
	// bidEncoded is Bid with the request encoded in body; it releases body
	// once it no longer reads it, and reports how long it waited for the
	// answer.
	bidEncoded(req *openrtb2.BidRequest, body *sharedBody, deadline time.Time) (dspAnswer, time.Duration, error)
}

// bodyKind is what a request is encoded for: a set of imp kinds (a
// mediaMask), and kind25 for a DSP taking OpenRTB 2.5.
type bodyKind uint8

// kind25 marks a request in OpenRTB 2.5 (openrtb.Downgrade25).
const kind25 = bodyKind(mediaAll) + 1

// numBodyKinds bounds the bodyKinds.
const numBodyKinds = 2 * (mediaAll + 1)

func (k bodyKind) media() mediaMask { return mediaMask(k &^ kind25) }

// sharedBody is a request encoded once for several bidders, pooled: the
// last bidder to release it gives it back.
type sharedBody struct {
	b    []byte
	refs atomic.Int32
	// gz is the body gzip-compressed, but for its closing brace
	// (gzipPrefix), and crc its CRC-32; both are set by the first gzip
	// bidder to need them (gzipped), once.
	gz     []byte
	crc    uint32
	gzErr  error
	gzOnce sync.Once
}

// gzipped returns s compressed for appendGzipTMax, compressing it on the
// first call.
func (s *sharedBody) gzipped() ([]byte, uint32, error) {
	s.gzOnce.Do(func() {
		if len(s.b) < 2 {
			s.gzErr = fmt.Errorf("BUG: an encoded request of %d bytes", len(s.b))
			return
		}
		s.gz, s.crc, s.gzErr = gzipPrefix(s.gz[:0], s.b[:len(s.b)-1])
		if s.gzErr != nil {
			s.gzErr = fmt.Errorf("cannot gzip the request: %w", s.gzErr)
		}
	})
	return s.gz, s.crc, s.gzErr
}

// maxPooledBody bounds the encoded requests kept for reuse.
const maxPooledBody = 64 << 10

var sharedBodies = sync.Pool{New: func() any { return new(sharedBody) }}

// release gives up one reference to s.
func (s *sharedBody) release() {
	if s.refs.Add(-1) == 0 && cap(s.b) <= maxPooledBody && cap(s.gz) <= maxPooledBody {
		sharedBodies.Put(s)
	}
}

// encodeFor encodes req for bidders of kind, without tmax, for users
// references. It returns ErrNotEligible when req has no imp of the kind's
// media.
func encodeFor(req *openrtb2.BidRequest, kind bodyKind, users int32) (*sharedBody, error) {
	media := kind.media()
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
	enc := &out
	if kind&kind25 != 0 {
		var err error
		if enc, err = openrtb.Downgrade25(&out); err != nil {
			return nil, fmt.Errorf("cannot convert the request to OpenRTB 2.5: %w", err)
		}
	}
	s := sharedBodies.Get().(*sharedBody)
	s.gz, s.crc, s.gzErr, s.gzOnce = s.gz[:0], 0, nil, sync.Once{}
	b, err := openrtb.AppendRequest(s.b[:0], enc)
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
		bodies [numBodyKinds]*sharedBody
		errs   [numBodyKinds]error
	)
	started := 0
	for _, i := range a.remoteIdx {
		b := a.bidders[i]
		c := call{a: a, i: i, req: req, deadline: deadline, answers: answers}
		if e, ok := b.(encodedBidder); ok {
			m := e.bodyKind()
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
