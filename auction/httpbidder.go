package auction

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/openrtb"
	"github.com/adx-exchange/adx/privacy"
)

// maxDSPResponseBytes bounds a DSP's answer; a larger one is an error.
const maxDSPResponseBytes = 2 << 20

// minCallTime is the least time worth calling a DSP with: below it the
// answer could not arrive in time, so the call is counted as a timeout
// without being made.
const minCallTime = 2 * time.Millisecond

// minTMax is the least tmax a DSP is sent once its network allowance is
// taken off, in ms: 0 would mean no limit at all.
const minTMax = 1

// HTTPBidder is a DSP reached over HTTP with OpenRTB: it is sent the
// request, with tmax cut to the time left and only the imps it takes, and
// its BidResponse is read until the deadline. Connections are pooled and
// kept alive. It is safe for concurrent use.
type HTTPBidder struct {
	name     string
	endpoint string
	timeout  time.Duration
	media    mediaMask // media_types narrowed by targeting.formats
	types    mediaMask // media_types
	ctl      controls
	// allowance is taken off the tmax the DSP is sent (network_allowance).
	allowance time.Duration
	// gzip sends the requests compressed.
	gzip bool
	kind bodyKind
	// version is the X-Openrtb-Version header.
	version  string
	headers  [][2]string
	currency string
	client   *fasthttp.Client
	// privacy is what the privacy rules know of the DSP.
	privacy privacy.Partner
}

// NewHTTPBidder builds the bidder for an openrtb demand partner. d must have
// passed config validation; client shapes its connections (the config's
// dsp_client for d, DSPClient.ForDemand), and a zero field leaves fasthttp's
// own default; currency is the exchange's currency.
func NewHTTPBidder(d config.Demand, client config.DSPClient, currency string) *HTTPBidder {
	b := &HTTPBidder{
		name:      d.Name,
		endpoint:  d.Endpoint,
		timeout:   d.Timeout.D(),
		allowance: d.NetworkAllowance.D(),
		gzip:      d.Gzip,
		types:     parseMediaTypes(d.MediaTypes, mediaAll),
		ctl:       newControls(&d),
		privacy:   privacy.PartnerFromConfig(&d),
		version:   config.OpenRTB26,
		currency:  currency,
		client: &fasthttp.Client{
			Name:                   "adx",
			MaxConnsPerHost:        client.MaxConns,
			MaxIdleConnDuration:    client.IdleTimeout.D(),
			MaxResponseBodySize:    maxDSPResponseBytes,
			MaxConnWaitTimeout:     client.ConnWait.D(),
			ReadBufferSize:         client.ReadBufferBytes,
			WriteBufferSize:        client.WriteBufferBytes,
			DisablePathNormalizing: true,
		},
	}
	b.media = b.types & parseMediaTypes(d.Targeting.Formats, mediaAll)
	b.kind = bodyKind(b.media)
	if d.OpenRTBVersion == config.OpenRTB25 {
		b.kind |= kind25
		b.version = config.OpenRTB25
	}
	for k, v := range d.Headers {
		b.headers = append(b.headers, [2]string{k, v})
	}
	return b
}

// Name returns the partner's config name.
func (b *HTTPBidder) Name() string { return b.name }

// privacyPartner returns what the privacy rules know of the DSP.
func (b *HTTPBidder) privacyPartner() privacy.Partner { return b.privacy }

// Bid calls the DSP and returns the bids of its answer.
func (b *HTTPBidder) Bid(req *openrtb2.BidRequest, deadline time.Time) ([]openrtb2.Bid, error) {
	var t *targeting
	if b.ctl.target != nil && len(b.ctl.target.sizes) > 0 {
		t = b.ctl.target
	}
	body, err := encodeFor(req, b.kind, t, nil, 0)
	if err != nil {
		return nil, err
	}
	ans, _, err := b.bidEncoded(req, body, deadline, nil)
	return ans.bids, err
}

// bodyKind returns the imp kinds and OpenRTB version the DSP is sent.
func (b *HTTPBidder) bodyKind() bodyKind { return b.kind }

// mediaSet returns the imp kinds the DSP is sent: its media types
// narrowed by its targeting's formats.
func (b *HTTPBidder) mediaSet() mediaMask { return b.media }

// mediaTypes returns the imp kinds of the DSP's media types.
func (b *HTTPBidder) mediaTypes() mediaMask { return b.types }

// An HTTPBidder is sent the request encoded once for all DSPs alike.
var _ encodedBidder = (*HTTPBidder)(nil)

// control returns the DSP's demand controls.
func (b *HTTPBidder) control() *controls { return &b.ctl }

// requestBodies are the pooled bodies of DSP requests: the shared encoded
// request with this DSP's tmax spliced in.
var requestBodies = sync.Pool{New: func() any { return new([]byte) }}

// dspAnswer is what a DSP answered: its bids, their seats and currency.
type dspAnswer struct {
	bids []openrtb2.Bid
	// seat is every bid's seat when seats is nil (one seatbid); else
	// seats[i] is bids[i]'s.
	seat  string
	seats []string
	// cur is the answer's currency; "" is the exchange's.
	cur string
}

// bidEncoded is Bid with the request encoded (encodeFor), returning the
// bids with their seats and currency, and how long the DSP took to answer,
// from sending the request to reading the answer. tr, when set, records
// the request sent, the status and the answer.
func (b *HTTPBidder) bidEncoded(req *openrtb2.BidRequest, body *sharedBody, deadline time.Time, tr *CallTrace) (_ dspAnswer, wait time.Duration, _ error) {
	if b.timeout > 0 {
		if d := time.Now().Add(b.timeout); d.Before(deadline) {
			deadline = d
		}
	}
	left := time.Until(deadline)
	if left < minCallTime {
		body.release()
		return dspAnswer{}, 0, errTimeout
	}
	// The DSP is given the time left but for its answer's way back; the
	// call itself still runs until deadline.
	tmax := max((left - b.allowance).Milliseconds(), minTMax)
	if tr != nil {
		sent := openrtb.AppendWithTMax(nil, body.b, tmax)
		tr.Request, tr.RequestBytes = traceBody(sent), len(sent)
	}
	buf := requestBodies.Get().(*[]byte)
	if b.gzip {
		gz, crc, err := body.gzipped()
		if err != nil {
			body.release()
			requestBodies.Put(buf)
			return dspAnswer{}, 0, err
		}
		*buf = appendGzipTMax((*buf)[:0], gz, crc, body.b, tmax)
	} else {
		*buf = openrtb.AppendWithTMax((*buf)[:0], body.b, tmax)
	}
	body.release()
	defer func() {
		if cap(*buf) <= maxPooledBody {
			requestBodies.Put(buf)
		}
	}()

	hreq := fasthttp.AcquireRequest()
	hresp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(hreq)
	defer fasthttp.ReleaseResponse(hresp)
	hreq.SetRequestURI(b.endpoint)
	hreq.Header.SetMethod(fasthttp.MethodPost)
	hreq.Header.SetContentType("application/json")
	hreq.Header.Set("X-Openrtb-Version", b.version)
	hreq.Header.Set(fasthttp.HeaderAcceptEncoding, "gzip")
	if b.gzip {
		hreq.Header.Set(fasthttp.HeaderContentEncoding, "gzip")
	}
	for _, h := range b.headers {
		hreq.Header.Set(h[0], h[1])
	}
	hreq.SetBodyRaw(*buf) // released before buf
	sent := time.Now()
	err := b.client.DoDeadline(hreq, hresp, deadline)
	wait = time.Since(sent)
	if err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) {
			return dspAnswer{}, wait, fmt.Errorf("%w: %w", errTimeout, err)
		}
		if errors.Is(err, fasthttp.ErrBodyTooLarge) {
			return dspAnswer{}, wait, &answerError{refuseTooLarge, err}
		}
		return dspAnswer{}, wait, err
	}
	if tr != nil {
		tr.Status = hresp.StatusCode()
		tr.Answer, tr.AnswerBytes = traceBody(hresp.Body()), len(hresp.Body())
	}
	switch hresp.StatusCode() {
	case fasthttp.StatusNoContent:
		return dspAnswer{}, wait, nil
	case fasthttp.StatusOK:
	default:
		return dspAnswer{}, wait, &statusError{code: hresp.StatusCode()}
	}
	raw := hresp.Body()
	if len(raw) == 0 {
		return dspAnswer{}, wait, nil // 200 with an empty body is a common no-bid
	}
	raw, z, err := answerBody(hresp.Header.ContentEncoding(), raw, maxDSPResponseBytes)
	if err != nil {
		return dspAnswer{}, wait, err
	}
	defer z.Release()
	if tr != nil {
		tr.Answer, tr.AnswerBytes = traceBody(raw), len(raw)
	}
	// An answer read or decoded after the deadline is thrown away by the
	// auction anyway: stop working on it. Decoding a large answer takes
	// milliseconds.
	if time.Now().After(deadline) {
		return dspAnswer{}, wait, fmt.Errorf("%w: read at the deadline", errTimeout)
	}
	// The bids are returned after hresp is released: DecodeResponse copies
	// every string out of raw. Only the answer's slices and strings are
	// kept, so the BidResponse itself goes back to a pool.
	resp := bidResponses.Get().(*openrtb2.BidResponse)
	defer func() {
		*resp = openrtb2.BidResponse{}
		bidResponses.Put(resp)
	}()
	if err := openrtb.DecodeResponse(raw, resp); err != nil {
		return dspAnswer{}, wait, fmt.Errorf("cannot decode the BidResponse: %w", err)
	}
	if time.Now().After(deadline) {
		return dspAnswer{}, wait, fmt.Errorf("%w: decoded after the deadline", errTimeout)
	}
	if resp.ID != req.ID {
		return dspAnswer{}, wait, fmt.Errorf("BidResponse id %q does not match the request id %q", resp.ID, req.ID)
	}
	// The answer's currency is checked, and its prices converted, by the
	// auction; no cur is the exchange's currency.
	ans := dspAnswer{cur: resp.Cur}
	n := 0
	for i := range resp.SeatBid {
		n += len(resp.SeatBid[i].Bid)
	}
	if n == 0 {
		return ans, wait, nil
	}
	if n == len(resp.SeatBid[0].Bid) { // one seat, the usual answer: no copy
		ans.bids, ans.seat = resp.SeatBid[0].Bid, resp.SeatBid[0].Seat
		return ans, wait, nil
	}
	ans.bids = make([]openrtb2.Bid, 0, n)
	ans.seats = make([]string, 0, n)
	for i := range resp.SeatBid {
		ans.bids = append(ans.bids, resp.SeatBid[i].Bid...)
		for range resp.SeatBid[i].Bid {
			ans.seats = append(ans.seats, resp.SeatBid[i].Seat)
		}
	}
	return ans, wait, nil
}

// bidResponses are the BidResponses DSP answers are decoded into: a
// BidResponse decoded into escapes (the codec takes an interface) and
// would cost an allocation a call.
var bidResponses = sync.Pool{New: func() any { return new(openrtb2.BidResponse) }}

type statusError struct{ code int }

func (e *statusError) Error() string { return "HTTP status " + strconv.Itoa(e.code) }
