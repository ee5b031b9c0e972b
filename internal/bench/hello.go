package bench

import (
	"net"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// Hello is the floor that load figures are measured against: a fasthttp
// server that reads each request and answers 204 with no body, doing
// nothing else. A ratio "adx / hello" from one run says what adx costs over
// the HTTP serving it cannot avoid, on that machine, at that moment.
type Hello struct {
	srv      *fasthttp.Server
	requests atomic.Int64
}

// NewHello returns a Hello server, not yet serving.
func NewHello() *Hello {
	h := &Hello{}
	h.srv = &fasthttp.Server{
		Name:                  "adx-hello",
		NoDefaultDate:         true,
		NoDefaultContentType:  true,
		NoDefaultServerHeader: true,
		Logger:                discardLogger{},
		Handler: func(ctx *fasthttp.RequestCtx) {
			h.requests.Add(1)
			ctx.SetStatusCode(fasthttp.StatusNoContent)
		},
	}
	return h
}

// Serve answers on ln until Close.
func (h *Hello) Serve(ln net.Listener) error { return h.srv.Serve(ln) }

// Close stops the server.
func (h *Hello) Close() error { return h.srv.Shutdown() }

// Requests counts the requests answered.
func (h *Hello) Requests() int64 { return h.requests.Load() }
