package auction

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/openrtb"
	"github.com/adx-exchange/adx/privacy"
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
	// bodyKind is the imp kinds and OpenRTB version the bidder is sent.
	bodyKind() bodyKind
	// bidEncoded is Bid with the request encoded in body; it releases body
	// once it no longer reads it, and reports how long it waited for the
	// answer.
	// tr, when set, records the call.
	bidEncoded(req *openrtb2.BidRequest, body *sharedBody, deadline time.Time, tr *CallTrace) (dspAnswer, time.Duration, error)
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
	// req is encodeFor's copy of the request while it encodes it: a
	// copy of the caller's would escape (the codec takes an interface)
	// and cost an allocation a request. It is zero outside encodeFor, so
	// that the pool keeps nothing of a request.
	req openrtb2.BidRequest
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

// encodeFor encodes req for bidders of kind (imp kinds and OpenRTB
// version), without tmax, holding one reference; with t, only the imps
// that fit its sizes; with sig, scrubbed by sc (package privacy), before
// the 2.5 conversion, so that an id the scrub strips is not moved into an
// ext. It returns ErrNotEligible when req has no such imp.
func encodeFor(req *openrtb2.BidRequest, kind bodyKind, t *targeting, sig *privacy.Signals, sc privacy.Scrub) (*sharedBody, error) {
	media := kind.media()
	n := len(req.Imp)
	if media != mediaAll || t != nil {
		n = 0
		for i := range req.Imp {
			if takes(&req.Imp[i], media, t) {
				n++
			}
		}
		if n == 0 {
			return nil, ErrNotEligible
		}
	}
	s := sharedBodies.Get().(*sharedBody)
	s.req = *req
	out := &s.req
	out.TMax = 0 // each bidder splices in its own
	if n < len(req.Imp) {
		out.Imp = make([]openrtb2.Imp, 0, n)
		for i := range req.Imp {
			if takes(&req.Imp[i], media, t) {
				out.Imp = append(out.Imp, req.Imp[i])
			}
		}
	}
	b, err := encodeShared(s, out, kind, sig, sc)
	s.req = openrtb2.BidRequest{}
	if err != nil {
		sharedBodies.Put(s)
		return nil, err
	}
	s.b = b
	s.gz, s.crc, s.gzErr, s.gzOnce = s.gz[:0], 0, nil, sync.Once{}
	s.refs.Store(1)
	return s, nil
}

// encodeShared appends to s.b[:0] the encoding of out, scrubbed by sc and
// converted to OpenRTB 2.5 for kind as encodeFor says.
func encodeShared(s *sharedBody, out *openrtb2.BidRequest, kind bodyKind, sig *privacy.Signals, sc privacy.Scrub) ([]byte, error) {
	enc := out
	if sig != nil && sc != 0 {
		buf := privacy.AcquireBuffer()
		defer privacy.ReleaseBuffer(buf) // once encoded: the encoding reads it
		enc = sig.Scrubbed(enc, sc, buf)
	}
	if kind&kind25 != 0 {
		var err error
		if enc, err = openrtb.Downgrade25(enc); err != nil {
			return nil, fmt.Errorf("cannot convert the request to OpenRTB 2.5: %w", err)
		}
	}
	b, err := openrtb.AppendRequest(s.b[:0], enc)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the request: %w", err)
	}
	return b, nil
}

// bodyKey names one encoding of a request: the kind it is encoded for
// and the privacy scrub it is encoded with.
type bodyKey struct {
	kind  bodyKind
	scrub privacy.Scrub
}

// encoding is one encoding of the request, or why there is none.
type encoding struct {
	key  bodyKey
	body *sharedBody
	err  error
}

// bodySet is the encodings of one auction's request: each made once, for
// the first bidder that needs it, and shared by all the bidders that need
// the same (a bidder targeting sizes encodes its own). The set holds one
// reference to each body and each bidder sent it takes one of its own, so
// that a body goes back to the pool once the set and its last bidder have
// released it. Unscrubbed encodings, the usual, are found by kind; a
// request with privacy signals has a few scrubbed ones as well, kept in
// place up to a handful: a bodySet lives on its auction's stack.
type bodySet struct {
	plain    [numBodyKinds]encoding
	scrubbed [4]encoding
	n        int        // scrubbed[:n] are in use
	more     []encoding // past scrubbed
}

// get returns req encoded for key, encoding it if it has not been; sig
// are req's privacy signals, for a key with a scrub.
func (bs *bodySet) get(req *openrtb2.BidRequest, key bodyKey, sig *privacy.Signals) (*sharedBody, error) {
	var e *encoding
	if key.scrub == 0 {
		e = &bs.plain[key.kind]
		if e.body != nil || e.err != nil {
			return e.body, e.err
		}
	} else {
		for i := range bs.n {
			if bs.scrubbed[i].key == key {
				return bs.scrubbed[i].body, bs.scrubbed[i].err
			}
		}
		for i := range bs.more {
			if bs.more[i].key == key {
				return bs.more[i].body, bs.more[i].err
			}
		}
		if bs.n < len(bs.scrubbed) {
			e = &bs.scrubbed[bs.n]
			bs.n++
		} else {
			bs.more = append(bs.more, encoding{})
			e = &bs.more[len(bs.more)-1]
		}
	}
	e.key = key
	e.body, e.err = encodeFor(req, key.kind, nil, sig, key.scrub)
	return e.body, e.err
}

// release gives back the set's reference to each body.
func (bs *bodySet) release() {
	for _, list := range [...][]encoding{bs.plain[:], bs.scrubbed[:bs.n], bs.more} {
		for _, e := range list {
			if e.body != nil {
				e.body.release()
			}
		}
	}
}

// takes reports whether a bidder taking media, targeting t (nil: none), is
// sent imp.
func takes(imp *openrtb2.Imp, media mediaMask, t *targeting) bool {
	m := impMedia(imp) & media
	return m != 0 && (t == nil || t.fits(imp, m))
}

// fanOut starts every remote bidder on a worker and returns how many it
// started. The request is encoded once per set of media that encoded
// bidders take, and privacy scrub they are sent it with (a bidder
// targeting sizes has its own); a bidder that o excludes, that the
// request's privacy signals keep it from, with no imp of its media,
// filtered by its controls, or whose request cannot be encoded, is not
// started: its result is set in res.
func (a *Auction) fanOut(req *openrtb2.BidRequest, deadline time.Time, answers chan<- answer, res *Result, o *RunOptions) int {
	var bodies bodySet
	defer bodies.release()
	sig := o.signals()
	var reqMedia mediaMask
	for i := range req.Imp {
		reqMedia |= impMedia(&req.Imp[i])
	}
	started := 0
	for _, i := range a.remoteIdx {
		b := a.bidders[i]
		c := call{a: a, i: i, req: req, deadline: deadline, answers: answers}
		if o.excludes(i) {
			// Before the controls: a request never sent spends no QPS
			// token nor a breaker probe.
			a.filter(res, i, FilterSupply)
			continue
		}
		var scrub privacy.Scrub
		if sig != nil {
			d := a.decide(i, sig)
			if !d.Called() {
				a.filter(res, i, FilterPrivacy)
				continue
			}
			scrub = d.Scrub
			c.sig, c.scrub = sig, scrub
		}
		if o != nil && o.Trace != nil {
			c.trace = new(CallTrace)
		}
		if e, ok := b.(encodedBidder); ok {
			m := e.bodyKind()
			ctl := e.control()
			reason, ok := a.admit(ctl, req, reqMedia, e.mediaTypes(), e.mediaSet(), &c)
			if !ok {
				a.filter(res, i, reason)
				continue
			}
			var err error
			if ctl.target == nil || len(ctl.target.sizes) == 0 {
				if c.body, err = bodies.get(req, bodyKey{m, scrub}, sig); err == nil {
					c.body.refs.Add(1) // the bidder's own
				}
			} else {
				c.body, err = encodeFor(req, m, ctl.target, sig, scrub)
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
		if o != nil && o.Holder != nil {
			o.Holder.Hold()
			c.holder = o.Holder
		}
		a.workers.run(c)
	}
	return started
}

// admit runs a bidder's controls on req, cheapest first: pretargeting,
// then the breaker, then shaping, then the QPS cap, and last the
// breaker's permit (a half-open probe is taken only by a call that will
// be made). A bidder with no imp of its media passes, to be found not
// eligible when its request is encoded. A call let through by the breaker
// gets the breaker and generation to end it in, and one let through by the
// shaper the bucket to count its answer in.
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
	var v shapeVerdict
	if s := ctl.shaper; s != nil {
		if v = s.admit(now, shapeKey(req, reqMedia&media)); v.shaped {
			return FilterShaped, false
		}
	}
	if ctl.bucket != nil && !ctl.bucket.allow(now) {
		return FilterQPS, false
	}
	if ctl.breaker != nil {
		gen, ok := ctl.breaker.allow(now)
		if !ok {
			return FilterBreakerOpen, false
		}
		c.breaker, c.gen, c.admitted = ctl.breaker, gen, now
	}
	if s := ctl.shaper; s != nil {
		c.shaper, c.shapeBucket = s, v.bucket
		if v.explore && s.explored != nil {
			s.explored.Inc()
		}
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
