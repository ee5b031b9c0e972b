// Package server is adx's network front: the public fasthttp listener that
// takes OpenRTB bid requests, and the admin listener with metrics, pprof,
// probes and version.
package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/enrich"
	"github.com/adx-exchange/adx/events"
	"github.com/adx-exchange/adx/internal/admission"
	"github.com/adx-exchange/adx/internal/capture"
	"github.com/adx-exchange/adx/internal/memguard"
	"github.com/adx-exchange/adx/notice"
	"github.com/adx-exchange/adx/privacy"
)

// AuctionPath is the public OpenRTB endpoint. A supply partner posts to
// AuctionPath + "/" + its name, the canonical form, or names itself with
// ?ssp=NAME.
const AuctionPath = "/openrtb2/auction"

// Public is the public OpenRTB server. Build it with NewPublic, run it with
// Serve, stop it with Shutdown.
type Public struct {
	// cfg is the config at start, for the settings that need a restart
	// (http.*, notices, events); what reloads is in gen.
	cfg *config.Config
	// gen is the config in service and what the request path derives from
	// it; Reload swaps it.
	gen atomic.Pointer[generation]
	// enricher is the enrich stage: geo and device data, invalid traffic.
	enricher enrich.Enricher
	capture  *capture.Writer // nil: no capture
	// gvl returns the Global Vendor List in service; nil: none.
	gvl       func() *privacy.GVL
	memory    *memguard.Guard // nil: no memory shedding
	admission *admission.Limiter
	log       *slog.Logger
	metrics   *Metrics
	// partnerVecs and noticeVecs (nil without exchange-owned notices) give
	// each generation its partner counters.
	partnerVecs *partnerVecs
	noticeVecs  *noticeVecs
	// notices are the exchange-owned notices; zero: the demand partners'
	// own notice URLs go to the SSP, expanded.
	trail Notices
	// events records sampled auctions and every notice; nil: no events.
	stream *events.Stream
	srv    *fasthttp.Server

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
	// Notices, when its Signer is set, puts the exchange's own signed
	// notice URLs in the responses and serves /win, /bill and /loss.
	Notices Notices
	// Events records sampled auctions and the notices; nil: none. The
	// caller closes it after Shutdown.
	Events *events.Stream
	// GVL returns the Global Vendor List in service, which the TCF rules
	// check (privacy.Signals.UseGVL); nil, or a nil list: none.
	GVL func() *privacy.GVL
}

// NewPublic returns the public server for cfg, running auctions on auc.
func NewPublic(cfg *config.Config, auc *auction.Auction, metrics *Metrics, log *slog.Logger, opts Options) *Public {
	p := &Public{cfg: cfg, capture: opts.Capture, gvl: opts.GVL, memory: opts.Memory, log: log, metrics: metrics,
		enricher:  enrich.Enricher{Geo: opts.Geo, Devices: opts.Devices, FilterBots: cfg.DeviceDB.FilterBots},
		admission: opts.Admission}
	if p.admission == nil {
		p.admission = admission.New(admission.Options{Max: cfg.HTTP.MaxInflight})
	}
	metrics.admit.Store(p.admission)
	p.partnerVecs = newPartnerVecs(metrics.reg)
	if opts.Notices.Signer != nil {
		if opts.Notices.Replay == nil {
			panic("BUG: server.Options.Notices has a Signer without a ReplayGuard")
		}
		p.trail = opts.Notices
		p.noticeVecs = newNoticeVecs(metrics.reg)
	}
	p.stream = opts.Events
	p.gen.Store(p.newGeneration(cfg, auc))
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
		ReduceMemoryUsage:     fasthttpReduceMemoryUsage,
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
func (p *Public) Inflight() int64 { return p.admission.Inflight() }

// BeginDrain marks the server as draining: it keeps serving, but every
// answer asks the client to close its connection, so that keep-alive
// clients move to other instances before the listener closes.
func (p *Public) BeginDrain() { p.draining.Store(true) }

func (p *Public) handle(ctx *fasthttp.RequestCtx) {
	if p.draining.Load() {
		ctx.SetConnectionClose()
	}
	switch path := ctx.Path(); {
	case string(path) == AuctionPath:
		p.handleAuction(ctx, nil)
	case len(path) >= len(auctionPrefix) && string(path[:len(auctionPrefix)]) == auctionPrefix:
		p.handleAuction(ctx, path[len(auctionPrefix):])
	case string(path) == SellersPath:
		p.handleSellers(ctx, p.gen.Load().sellers)
	case p.trail.Signer != nil && string(path) == WinPath:
		p.handleNotice(ctx, notice.KindWin)
	case p.trail.Signer != nil && string(path) == BillPath:
		p.handleNotice(ctx, notice.KindBill)
	case p.trail.Signer != nil && string(path) == LossPath:
		p.handleNotice(ctx, notice.KindLoss)
	default:
		p.noSuchEndpoint(ctx)
	}
}

func (p *Public) noSuchEndpoint(ctx *fasthttp.RequestCtx) {
	p.fail(ctx, endpointOther, fasthttp.StatusNotFound, "no such endpoint "+strconv.Quote(string(ctx.Path()))+"; bid requests go to POST "+AuctionPath)
}

// inflightBudget is the memory running auctions may hold, in bytes: 0 when
// unbounded (no ratio, no guard, or no memory limit).
func (p *Public) inflightBudget() int64 {
	if p.memory == nil || p.cfg.HTTP.InflightMemoryRatio <= 0 {
		return 0
	}
	return int64(float64(p.memory.Limit()) * p.cfg.HTTP.InflightMemoryRatio)
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

// sampleThreshold returns the threshold a random uint64 must fall below
// for a share rate of draws.
func sampleThreshold(rate float64) uint64 {
	switch {
	case rate <= 0:
		return 0
	case rate >= 1:
		return math.MaxUint64
	}
	return uint64(rate * (1 << 64))
}
