// Package server is adx's network front: the public fasthttp listener that
// takes OpenRTB bid requests, and the admin listener with metrics, pprof,
// probes and version.
package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/enrich"
	"github.com/adx-exchange/adx/internal/admission"
	"github.com/adx-exchange/adx/internal/capture"
	"github.com/adx-exchange/adx/internal/memguard"
)

// AuctionPath is the public OpenRTB endpoint.
const AuctionPath = "/openrtb2/auction"

// Public is the public OpenRTB server. Build it with NewPublic, run it with
// Serve, stop it with Shutdown.
type Public struct {
	cfg     *config.Config
	auction *auction.Auction
	geo     *enrich.Geo     // nil: no geo enrichment
	devices *enrich.Devices // nil: no device enrichment
	capture *capture.Writer // nil: no capture
	memory  *memguard.Guard // nil: no memory shedding
	admit   *admission.Limiter
	// costPerByte is what one body byte costs an auction in memory:
	// decoding plus a copy and an answer per remote DSP.
	costPerByte int64
	log         *slog.Logger
	metrics     *Metrics
	supply      map[string]config.Supply
	srv         *fasthttp.Server

	draining atomic.Bool
}

// The in-flight memory estimate of one auction (http.inflight_memory_ratio):
// the decoded request (decoding allocates 11-14 times the JSON, most of it
// kept), each remote DSP's encoded copy and answer, and a fixed part for the
// goroutines, the response and the buffers. Measured: a 56 KB request with
// one DSP holds about 540 KB while its auction waits; this says 581 KB.
const (
	costDecodePerByte = 8
	costRemotePerByte = 2
	costPerRequest    = 16 << 10
)

// Options are the public server's optional parts.
type Options struct {
	// Geo enriches requests from MaxMind databases; nil: no geo.
	Geo *enrich.Geo
	// Devices enriches requests from the device database; nil: none.
	Devices *enrich.Devices
	// Capture samples valid requests for replay; nil: no capture.
	Capture *capture.Writer
	// Memory sheds new auctions while it reports pressure, and gives the
	// memory limit http.inflight_memory_ratio is a share of; nil: neither.
	Memory *memguard.Guard
	// Admission admits auctions; nil: a static limit of
	// http.max_inflight. The caller starts and stops it.
	Admission *admission.Limiter
}

// NewPublic returns the public server for cfg, running auctions on auc.
func NewPublic(cfg *config.Config, auc *auction.Auction, metrics *Metrics, log *slog.Logger, opts Options) *Public {
	p := &Public{cfg: cfg, geo: opts.Geo, devices: opts.Devices, capture: opts.Capture, memory: opts.Memory, auction: auc, log: log, metrics: metrics,
		costPerByte: costDecodePerByte + costRemotePerByte*int64(auc.RemoteBidders()), admit: opts.Admission}
	if p.admit == nil {
		p.admit = admission.New(admission.Options{Max: cfg.HTTP.MaxInflight})
	}
	metrics.admit.Store(p.admit)
	if len(cfg.Supply) > 0 {
		p.supply = make(map[string]config.Supply, len(cfg.Supply))
		for _, s := range cfg.Supply {
			p.supply[s.Name] = s
		}
	}
	p.srv = &fasthttp.Server{
		Name:                  "adx",
		Handler:               p.handle,
		ErrorHandler:          p.handleReadError,
		ReadTimeout:           cfg.HTTP.ReadTimeout.D(),
		WriteTimeout:          cfg.HTTP.WriteTimeout.D(),
		IdleTimeout:           cfg.HTTP.IdleTimeout.D(),
		MaxRequestBodySize:    cfg.HTTP.MaxBodyBytes,
		ReadBufferSize:        cfg.HTTP.MaxHeaderBytes, // also the header size limit
		Concurrency:           fasthttpConcurrency,
		NoDefaultServerHeader: true,
		NoDefaultDate:         true,
		CloseOnShutdown:       true,
		Logger:                newFasthttpLogger(log, metrics.serverErrors),
	}
	return p
}

// Serve answers requests on ln until Shutdown.
func (p *Public) Serve(ln net.Listener) error { return p.srv.Serve(ln) }

// Shutdown stops accepting, waits for in-flight requests to finish, and
// returns; it gives up when timeout passes.
func (p *Public) Shutdown(timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- p.srv.Shutdown() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return errors.New("shutdown timed out with requests in flight")
	}
}

// Inflight returns the number of auctions running now.
func (p *Public) Inflight() int64 { return p.admit.Inflight() }

// BeginDrain marks the server as draining: it keeps serving, but every
// answer asks the client to close its connection, so that keep-alive
// clients move to other instances before the listener closes.
func (p *Public) BeginDrain() { p.draining.Store(true) }

func (p *Public) handle(ctx *fasthttp.RequestCtx) {
	if p.draining.Load() {
		ctx.SetConnectionClose()
	}
	if string(ctx.Path()) != AuctionPath {
		p.fail(ctx, endpointOther, fasthttp.StatusNotFound, "no such endpoint "+strconv.Quote(string(ctx.Path()))+"; bid requests go to POST "+AuctionPath)
		return
	}
	p.handleAuction(ctx)
}

func (p *Public) handleAuction(ctx *fasthttp.RequestCtx) {
	arrival := ctx.Time()
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		p.fail(ctx, endpointAuction, fasthttp.StatusMethodNotAllowed, "method "+string(ctx.Method())+" is not allowed; use POST")
		return
	}
	if code, msg := p.checkSupply(ctx); code != 0 {
		p.fail(ctx, endpointAuction, code, msg)
		return
	}
	// Admission control: past max_inflight, past the adaptive limit that
	// keeps the CPU from taking more than it can answer in time, or near
	// the memory limit, the request is answered at once, never queued, so
	// an overload cannot grow memory or latency.
	switch p.admit.Admit() {
	case admission.OverMax:
		p.metrics.shedInflight.Inc()
		p.shed(ctx, "overloaded: "+strconv.Itoa(p.cfg.HTTP.MaxInflight)+" auctions already in flight")
		return
	case admission.Overloaded:
		p.metrics.shedOverload.Inc()
		p.shed(ctx, "overloaded: the CPU cannot answer more auctions in time")
		return
	}
	defer p.admit.Release()
	if p.memory != nil && p.memory.Pressure() {
		p.metrics.shedMemory.Inc()
		p.shed(ctx, "overloaded: memory near its limit")
		return
	}
	body, release, err := requestBody(ctx, p.cfg.HTTP.MaxBodyBytes)
	defer release()
	if err != nil {
		switch {
		case errors.Is(err, errBodyTooLarge):
			p.fail(ctx, endpointAuction, fasthttp.StatusRequestEntityTooLarge, "request body exceeds "+strconv.Itoa(p.cfg.HTTP.MaxBodyBytes)+" bytes after inflation")
		case errors.Is(err, errBadEncoding):
			p.fail(ctx, endpointAuction, fasthttp.StatusUnsupportedMediaType, "Content-Encoding "+strconv.Quote(string(ctx.Request.Header.ContentEncoding()))+" is not supported; use gzip or none")
		default:
			p.fail(ctx, endpointAuction, fasthttp.StatusBadRequest, err.Error())
		}
		return
	}
	// The in-flight memory bound: charged before decoding, so that a burst
	// of large requests is refused before it allocates.
	if budget := p.inflightBudget(); budget > 0 {
		cost := int64(len(body))*p.costPerByte + costPerRequest
		if n := p.metrics.inflightBytes.Add(cost); n > budget && n != cost {
			p.metrics.inflightBytes.Add(-cost)
			p.metrics.shedBudget.Inc()
			p.shed(ctx, "overloaded: running auctions hold the memory this instance allows")
			return
		}
		defer p.metrics.inflightBytes.Add(-cost)
	}
	var req openrtb2.BidRequest
	if err := auction.DecodeRequest(body, &req); err != nil {
		p.fail(ctx, endpointAuction, fasthttp.StatusBadRequest, err.Error())
		return
	}
	if err := p.auction.ValidateRequest(&req); err != nil {
		p.fail(ctx, endpointAuction, fasthttp.StatusBadRequest, err.Error())
		return
	}

	if p.capture != nil && p.capture.Sample() {
		p.capture.Capture(&req) // as the SSP sent it, before enrichment
	}

	// Enrich from the full IP first, then apply the privacy rule to what
	// leaves for demand partners.
	var blocked string
	if p.geo != nil {
		out := p.geo.Enrich(&req)
		if out.NoIP {
			p.metrics.noIP.Inc()
		}
		blocked = out.Blocked
	}
	if p.devices != nil && blocked == "" {
		out := p.devices.Enrich(&req)
		p.metrics.deviceMatch(out)
		if out.Bot && p.cfg.DeviceDB.FilterBots {
			blocked = "bot"
		}
	}
	if blocked != "" {
		// Invalid traffic (a data centre, proxy, Tor exit or known bot): not
		// sent to demand, answered as a no-bid.
		p.metrics.blockedIVT(blocked).Inc()
		if p.cfg.Log.SampleRate > 0 && rand.Float64() < p.cfg.Log.SampleRate {
			p.log.LogAttrs(context.Background(), slog.LevelInfo, "auction", slog.String("id", req.ID), slog.String("blocked", blocked))
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		p.metrics.count(endpointAuction, fasthttp.StatusNoContent)
		return
	}
	if enrich.TruncateIPs(&req) {
		p.metrics.truncated.Inc()
	}

	tmax := auction.Budget(req.TMax, p.cfg.Auction.DefaultTmax.D(), p.cfg.Auction.MaxTmax.D())
	deadline := arrival.Add(tmax - p.cfg.Auction.SafetyMargin.D())

	res := p.auction.Run(&req, deadline)
	p.metrics.auctionSeconds.Observe(time.Since(arrival).Seconds())
	if p.cfg.Log.SampleRate > 0 && rand.Float64() < p.cfg.Log.SampleRate {
		p.logAuction(&req, res, arrival, deadline)
	}

	resp, ok := res.Response(&req, p.cfg.Auction.Currency)
	if !ok {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		p.metrics.count(endpointAuction, fasthttp.StatusNoContent)
		return
	}
	out, err := auction.EncodeResponse(resp)
	if err != nil {
		// Bids that cannot be encoded come from a bug, not from the SSP.
		p.log.Error("cannot encode a BidResponse", "id", req.ID, "err", err)
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		p.metrics.count(endpointAuction, fasthttp.StatusNoContent)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("X-Openrtb-Version", "2.6")
	ctx.SetBody(out)
	p.metrics.count(endpointAuction, fasthttp.StatusOK)
}

// inflightBudget is the memory running auctions may hold, in bytes: 0 when
// unbounded (no ratio, no guard, or no memory limit).
func (p *Public) inflightBudget() int64 {
	if p.memory == nil || p.cfg.HTTP.InflightMemoryRatio <= 0 {
		return 0
	}
	return int64(float64(p.memory.Limit()) * p.cfg.HTTP.InflightMemoryRatio)
}

// shed answers a request refused by admission control; msg explains a 503.
func (p *Public) shed(ctx *fasthttp.RequestCtx, msg string) {
	if p.cfg.HTTP.ShedStatus == fasthttp.StatusNoContent {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		p.metrics.count(endpointAuction, fasthttp.StatusNoContent)
		return
	}
	ctx.Response.Header.Set("Retry-After", "1")
	p.fail(ctx, endpointAuction, fasthttp.StatusServiceUnavailable, msg)
}

// logAuction writes one sampled request's line.
func (p *Public) logAuction(req *openrtb2.BidRequest, res *auction.Result, arrival, deadline time.Time) {
	attrs := make([]slog.Attr, 0, 6+len(res.Bidders))
	attrs = append(attrs,
		slog.String("id", req.ID),
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

// checkSupply admits the request when no supply partners are configured, or
// when ?ssp=NAME names an enabled one whose token, if any, matches.
func (p *Public) checkSupply(ctx *fasthttp.RequestCtx) (int, string) {
	if p.supply == nil {
		return 0, ""
	}
	name := ctx.QueryArgs().Peek("ssp")
	if len(name) == 0 {
		return fasthttp.StatusForbidden, "the supply partner is missing: add ?ssp=NAME to the URL"
	}
	s, ok := p.supply[string(name)]
	if !ok {
		return fasthttp.StatusForbidden, "unknown supply partner " + strconv.Quote(string(name))
	}
	if s.Disabled {
		return fasthttp.StatusForbidden, "supply partner " + strconv.Quote(s.Name) + " is disabled"
	}
	if s.Token != "" {
		auth := ctx.Request.Header.Peek("Authorization")
		const prefix = "Bearer "
		if len(auth) <= len(prefix) || string(auth[:len(prefix)]) != prefix ||
			subtle.ConstantTimeCompare(auth[len(prefix):], []byte(s.Token)) != 1 {
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="adx"`)
			return fasthttp.StatusUnauthorized, "supply partner " + strconv.Quote(s.Name) + " needs a valid Authorization: Bearer token"
		}
	}
	return 0, ""
}

// handleReadError answers requests that fasthttp could not read: too large,
// too slow, or not HTTP. Each gets the JSON error shape.
func (p *Public) handleReadError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		p.fail(ctx, endpointAuction, fasthttp.StatusRequestEntityTooLarge, "request body exceeds "+strconv.Itoa(p.cfg.HTTP.MaxBodyBytes)+" bytes")
	case isTimeout(err):
		p.fail(ctx, endpointOther, fasthttp.StatusRequestTimeout, "request not read in time")
	case errors.As(err, &small):
		p.fail(ctx, endpointOther, fasthttp.StatusRequestHeaderFieldsTooLarge, "request headers too large")
	default:
		p.fail(ctx, endpointOther, fasthttp.StatusBadRequest, "malformed HTTP request: "+err.Error())
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fail answers with status and the JSON error shape {"error": msg}.
func (p *Public) fail(ctx *fasthttp.RequestCtx, endpoint, status int, msg string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(errorJSON(msg))
	p.metrics.count(endpoint, status)
}

func errorJSON(msg string) []byte {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	return b
}
