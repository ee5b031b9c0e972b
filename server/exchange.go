package server

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/events"
	"github.com/adx-exchange/adx/internal/admission"
	"github.com/adx-exchange/adx/internal/inflate"
	"github.com/adx-exchange/adx/openrtb"
	"github.com/adx-exchange/adx/privacy"
)

// exchange is one bid request on its way through the stages of the
// request path, and what they found. It comes from a pool, with the room
// its request is decoded into and its response built in; it goes back
// once the handler and every DSP call of its auction have let it go
// (Hold, Release): a call may outlive the handler, reading the request.
type exchange struct {
	ctx     *fasthttp.RequestCtx
	arrival time.Time
	// g is the config in service when the request arrived, used to the end.
	g *generation
	// ssp is the supply partner's index in the partner metrics (0 without
	// a supply list).
	ssp int
	// pathSSP is the supply partner named in the path, valid while the
	// handler runs; empty: none.
	pathSSP []byte
	// account is the supply partner; nil without a supply list.
	account *supplyAccount
	// admitted: the request holds an admission slot, given back at the end.
	admitted bool
	// body is the request body, inflated into inflated (nil when it came
	// uncompressed), which finish gives back.
	body     []byte
	inflated *inflate.Buffer
	// charged is the in-flight memory charged for the request.
	charged int64
	// req is the decoded request. Bidder goroutines may read it after the
	// handler returns, so it never points into fasthttp's buffers: its
	// strings point into reqRoom's copy of the body, its first imp is in
	// reqRoom (openrtb.DecodeRequestInto).
	req      openrtb2.BidRequest
	reqRoom  openrtb.RequestRoom
	deadline time.Time
	result   *auction.Result
	// resp is the response, in respRoom when it has one seat and one bid.
	resp     openrtb2.BidResponse
	respRoom auction.ResponseRoom
	// answers is where the auction's DSP calls answer, reused with the
	// exchange (auction.RunOptions.Answers).
	answers auction.Answers
	// noticeURLs holds the response's notice URLs (exchangeNotices): the
	// bids' nurl, burl and lurl point into it until the exchange is
	// reused, which is after the response is written.
	noticeURLs []byte
	// refs counts the holders: the handler, and each DSP call running.
	refs atomic.Int32
	// trace is the record of the demand calls a debugging request asked
	// for (supply[].debug); nil: none.
	trace *auction.Trace
	// privacy are the request's privacy signals, read once its enrichment
	// is done. Bidder goroutines may read them after the handler returns.
	privacy privacy.Signals
	// opts are the auction's options for this request: the supply
	// partner's, with the request's own (privacy signals, trace) added.
	opts auction.RunOptions
}

// handleAuction is the request path: each line is one stage, in order,
// and a stage that ends the request says how in its outcome. pathSSP is
// the supply partner's name from the path, nil when the path names none.
// The request runs to its end on the config generation it started with.
func (p *Public) handleAuction(ctx *fasthttp.RequestCtx, pathSSP []byte) {
	x := exchanges.Get().(*exchange)
	x.ctx, x.arrival, x.pathSSP, x.g = ctx, ctx.Time(), pathSSP, p.gen.Load()
	x.refs.Store(1) // the handler's, let go by finish
	defer p.finish(x)
	o := p.admit(x)
	if o.goesOn() {
		o = p.read(x)
	}
	if o.goesOn() {
		o = p.decode(x)
	}
	if o.goesOn() {
		o = p.enrich(x)
	}
	if o.goesOn() {
		o = p.policy(x)
	}
	if o.goesOn() {
		o = p.runAuction(x)
	}
	if o.end == bid {
		p.notices(x)
	}
	if o.end == bid || o.end == noBid {
		p.events(x)
	}
	p.respond(x, o)
}

// admit is the first stage: a POST from a known supply partner within its
// rate limit, then admission control. Past max_inflight, past the adaptive
// limit that keeps the CPU from taking more than it can answer in time, or
// near the memory limit, the request is refused at once, never queued, so
// that an overload cannot grow memory or latency.
func (p *Public) admit(x *exchange) outcome {
	ctx := x.ctx
	if !ctx.IsPost() {
		return end(methodNotAllowed, "method "+string(ctx.Method())+" is not allowed; use POST")
	}
	if o := p.checkSupply(x); !o.goesOn() {
		return o
	}
	switch p.admission.Admit() {
	case admission.OverMax:
		return outcome{end: shed, cause: shedInflight, msg: "overloaded: " + strconv.Itoa(p.cfg.HTTP.MaxInflight) + " auctions already in flight"}
	case admission.Overloaded:
		return outcome{end: shed, cause: shedOverload, msg: "overloaded: the CPU cannot answer more auctions in time"}
	}
	x.admitted = true
	if p.memory != nil && p.memory.Pressure() {
		return outcome{end: shed, cause: shedMemory, msg: "overloaded: memory near its limit"}
	}
	return outcome{}
}

// read takes the body, inflated when gzip encoded, then charges the
// in-flight memory bound: before decoding, so that a burst of large
// requests is refused before it allocates.
func (p *Public) read(x *exchange) outcome {
	body, inflated, err := inflate.Body(x.ctx.Request.Header.ContentEncoding(), x.ctx.Request.Body(), p.cfg.HTTP.MaxBodyBytes)
	x.inflated = inflated
	switch {
	case errors.Is(err, inflate.ErrTooLarge):
		return end(tooLarge, "request body exceeds "+strconv.Itoa(p.cfg.HTTP.MaxBodyBytes)+" bytes after inflation")
	case errors.Is(err, inflate.ErrUnsupported):
		return end(unsupportedEncoding, "Content-Encoding "+strconv.Quote(string(x.ctx.Request.Header.ContentEncoding()))+" is not supported; use gzip or none")
	case err != nil:
		return end(invalidRequest, err.Error())
	}
	x.body = body
	if budget := p.inflightBudget(); budget > 0 {
		cost := int64(len(body))*x.g.costPerByte + costPerRequest
		if n := p.metrics.inflightBytes.Add(cost); n > budget && n != cost {
			p.metrics.inflightBytes.Add(-cost)
			return outcome{end: shed, cause: shedInflightMemory, msg: "overloaded: running auctions hold the memory this instance allows"}
		}
		x.charged = cost
	}
	return outcome{}
}

// decode decodes and validates the request, then samples it for capture
// as the SSP sent it, before enrichment changes it.
func (p *Public) decode(x *exchange) outcome {
	if err := openrtb.DecodeRequestInto(x.body, &x.req, &x.reqRoom); err != nil {
		return end(invalidRequest, err.Error())
	}
	if err := x.g.auction.ValidateRequest(&x.req); err != nil {
		return end(invalidRequest, err.Error())
	}
	if p.capture != nil && p.capture.Sample() {
		p.capture.Capture(&x.req)
	}
	return outcome{}
}

// enrich fills in geo and device data; invalid traffic ends here.
func (p *Public) enrich(x *exchange) outcome {
	e := p.enricher.Enrich(&x.req)
	if e.Geo.NoIP && p.enricher.Geo != nil {
		p.metrics.noIP.Inc()
	}
	if e.DeviceLooked {
		p.metrics.deviceMatch(e.Device)
	}
	if e.Invalid != "" {
		if x.g.sampled() {
			p.log.LogAttrs(context.Background(), slog.LevelInfo, "auction", slog.String("id", x.req.ID), slog.String("blocked", e.Invalid))
		}
		return outcome{end: invalidTraffic, reason: e.Invalid}
	}
	return outcome{}
}

// policy applies the rules on what leaves for demand: the supply
// partner's settings (test, floor minimum, tmax cap) apply and the
// exchange joins the supply chain; the privacy signals are read, for the
// auction to decide per demand partner what it is sent (the request
// itself keeps the full data enrichment used); and the time budget sets
// the auction's deadline.
func (p *Public) policy(x *exchange) outcome {
	if o := p.applySupply(x); !o.goesOn() {
		return o
	}
	x.privacy.Parse(&x.req)
	if p.gvl != nil {
		x.privacy.UseGVL(p.gvl())
	}
	if x.privacy.MalformedUSPrivacy() {
		p.metrics.malformedUSP.Inc()
	}
	if x.privacy.MalformedConsent() {
		p.metrics.malformedTCF.Inc()
	}
	if x.privacy.MalformedGPP() {
		p.metrics.malformedGPP.Inc()
	}
	a := &x.g.cfg.Auction
	tmax := x.capBudget(auction.Budget(x.req.TMax, a.DefaultTmax.D(), a.MaxTmax.D()))
	x.deadline = x.arrival.Add(tmax - a.SafetyMargin.D())
	return outcome{}
}

// runAuction runs the auction among the demand partners, under the supply
// partner's own auction settings. A debugging request gets the trace of
// its demand calls in the response, even without a winner.
func (p *Public) runAuction(x *exchange) outcome {
	if a := x.account; a != nil {
		x.opts = a.run
		if a.cfg.Debug && wantsDebug(x.req.Ext) {
			x.trace = &auction.Trace{}
			x.opts.Trace = x.trace
		}
	}
	if x.privacy.Active() {
		x.opts.Privacy = &x.privacy
	}
	x.opts.Holder, x.opts.Answers = x, &x.answers
	x.result = x.g.auction.RunWith(&x.req, x.deadline, &x.opts)
	p.metrics.auctionSeconds.Observe(time.Since(x.arrival).Seconds())
	x.g.partners.observe(x.ssp, x.result)
	if x.g.sampled() {
		p.logAuction(x)
	}
	won := x.result.ResponseInto(&x.req, &x.resp, &x.respRoom)
	if x.trace != nil {
		if !won {
			x.resp = openrtb2.BidResponse{ID: x.req.ID}
		}
		x.resp.Ext = debugExt(x.result, x.trace)
	}
	if !won {
		return outcome{end: noBid}
	}
	return outcome{end: bid}
}

// notices expands the OpenRTB macros (${AUCTION_PRICE} and the others) in
// the winning bids' markup, each with its own winner's values, the price
// encrypted for the partners that asked for it. The notice URLs become the
// exchange's own, signed, which pass the SSP's notices on to the winners;
// the bids that lost adx's auction get their loss notices.
func (p *Public) notices(x *exchange) {
	if p.trail.Signer == nil {
		x.g.notice.Response(&x.req, x.result, &x.resp)
		return
	}
	p.exchangeNotices(x)
	if p.cfg.Notices.FireLosses && p.trail.Sender != nil {
		p.fireLosses(x)
	}
}

// events records a sample of the auctions, each with every bid's fate.
func (p *Public) events(x *exchange) {
	if p.stream == nil || x.g.sampleEvents == 0 || rand.Uint64() >= x.g.sampleEvents {
		return
	}
	ev := auctionEvents.Get().(*events.Event)
	p.auctionEvent(x, ev)
	p.stream.Emit(ev)
	auctionEvents.Put(ev)
}

// auctionEvents are reused auction events, with their slices.
var auctionEvents = sync.Pool{New: func() any { return new(events.Event) }}

// respond answers with the status the outcome maps to, and counts it.
func (p *Public) respond(x *exchange, o outcome) {
	ctx := x.ctx
	if o.end == noBid && x.trace != nil {
		o.end = bid // the trace goes back with no seatbid
	}
	switch o.end {
	case bid:
		scratch := responseBufs.Get().(*[]byte)
		out, err := openrtb.AppendResponse((*scratch)[:0], &x.resp)
		*scratch = out[:0]
		if err != nil {
			responseBufs.Put(scratch)
			// Bids that cannot be encoded come from a bug, not from the SSP.
			p.log.Error("cannot encode a BidResponse", "id", x.req.ID, "err", err)
			o.end = noBid
			break
		}
		ctx.SetContentType("application/json")
		ctx.Response.Header.Set("X-Openrtb-Version", "2.6")
		ctx.SetBody(out) // a copy, into fasthttp's own buffer
		if cap(out) <= maxPooledResponse {
			responseBufs.Put(scratch)
		}
	case invalidTraffic:
		p.metrics.blockedIVT(o.reason).Inc()
	case rateLimited:
		p.metrics.shed[shedSSPRate].Inc()
		x.g.partners.rateLimited[x.ssp].Inc()
	case shed:
		p.metrics.shed[o.cause].Inc()
		if p.cfg.HTTP.ShedStatus != fasthttp.StatusNoContent {
			ctx.Response.Header.Set("Retry-After", "1")
		}
	case methodNotAllowed:
		ctx.Response.Header.Set("Allow", "POST")
	case unauthorized:
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="adx"`)
	}
	if x.result != nil {
		p.metrics.ownSeconds.Observe((time.Since(x.arrival) - x.result.DemandWait()).Seconds())
	}
	status := o.end.status(p.cfg.HTTP.ShedStatus)
	if o.msg != "" && status != fasthttp.StatusNoContent {
		p.fail(ctx, endpointAuction, status, o.msg)
		return
	}
	ctx.SetStatusCode(status)
	p.metrics.count(endpointAuction, status)
}

// finish gives back what the stages took: the admission slot, the body's
// buffer, the in-flight memory charge and the auction's result, then lets
// go of x.
func (p *Public) finish(x *exchange) {
	x.privacy.Release() // the auction, which decides with them, is over
	if x.charged != 0 {
		p.metrics.inflightBytes.Add(-x.charged)
	}
	x.inflated.Release()
	if x.admitted {
		p.admission.Release()
	}
	if x.result != nil { // answered: nothing reads it any more
		x.result.Release()
		x.result = nil
	}
	x.Release() // the handler's hold
}

// exchanges are the exchanges of requests that have ended.
var exchanges = sync.Pool{New: func() any { return new(exchange) }}

// Hold keeps x from reuse until Release: a DSP call of its auction holds it
// while the call runs (auction.RunOptions.Holder).
func (x *exchange) Hold() { x.refs.Add(1) }

// Release lets go of x; the last holder gives it back to be reused, with
// nothing of its request (under the race detector, the copy of the body
// its strings point into is overwritten first, so that a reader that
// outlives its hold reads garbage and races with the write).
func (x *exchange) Release() {
	if x.refs.Add(-1) != 0 {
		return
	}
	if raceEnabled {
		x.reqRoom.Poison()
		poison(x.noticeURLs)
	}
	x.reqRoom.Reset()
	urls := x.noticeURLs[:0]
	if cap(urls) > maxPooledResponse {
		urls = nil
	}
	*x = exchange{reqRoom: x.reqRoom, answers: x.answers, noticeURLs: urls}
	exchanges.Put(x)
}

// poison overwrites b up to its capacity, as openrtb.RequestRoom.Poison
// does the body copy: a reader of the strings over it that outlives the
// exchange reads runs of 'X'.
func poison(b []byte) {
	b = b[:cap(b)]
	for i := range b {
		b[i] = 'X'
	}
}

// responseBufs are scratch buffers that responses are encoded into.
var responseBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledResponse bounds the response buffers kept for reuse.
const maxPooledResponse = 64 << 10

// logAuction writes one sampled request's line.
func (p *Public) logAuction(x *exchange) {
	req, res, arrival, deadline := &x.req, x.result, x.arrival, x.deadline
	ssp := anySSP
	if x.g.supply != nil {
		ssp = x.g.sspNames[x.ssp]
	}
	attrs := make([]slog.Attr, 0, 7+len(res.Bidders))
	attrs = append(attrs,
		slog.String("id", req.ID),
		slog.String("ssp", ssp),
		slog.Int("imps", len(req.Imp)),
		slog.Int("winners", len(res.Winners)),
		slog.Duration("took", time.Since(arrival)),
		slog.Duration("budget", deadline.Sub(arrival)))
	for _, b := range res.Bidders {
		if b.Err != nil {
			attrs = append(attrs, slog.Group(b.Name, "outcome", b.Outcome.String(), "latency", b.Latency, "err", b.Err.Error()))
			continue
		}
		attrs = append(attrs, slog.Group(b.Name, "outcome", b.Outcome.String(), "bids", len(b.Bids), "latency", b.Latency))
	}
	p.log.LogAttrs(context.Background(), slog.LevelInfo, "auction", attrs...)
}
