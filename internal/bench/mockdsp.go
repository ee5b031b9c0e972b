package bench

import (
	"bufio"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goccy/go-json"
	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/internal/jsonstr"
)

// Modes of a MockDSP, set by MockDSPConfig.Mode or per request by the
// `mode` query key. Every mode first validates the request like ModeNormal
// (a bad one gets 400) and, except ModeHang, waits the configured latency
// before doing what it names.
const (
	// ModeNormal answers with bids as configured, or 204 when no imp won a
	// bid. "normal" is accepted as a synonym, so a query can turn a faulty
	// default back to normal.
	ModeNormal = ""
	// ModeNoBid always answers 204 No Content.
	ModeNoBid = "nobid"
	// ModeEmptySeatBid answers 200 with {"id":<request id>,"seatbid":[]}.
	ModeEmptySeatBid = "emptyseatbid"
	// ModeGarbage answers 200 with a body that is not JSON.
	ModeGarbage = "garbage"
	// ModeError answers 500 Internal Server Error.
	ModeError = "error"
	// ModeHang never answers: it holds the connection until the client
	// closes it, MaxDelay passes or the MockDSP is closed, then closes it.
	ModeHang = "hang"
	// ModeBadBids answers 200 with five bids an exchange must drop: one for
	// an unknown impid, one priced 0, one with neither adm nor nurl, one
	// without crid and one with a negative price.
	ModeBadBids = "badbids"
	// ModeWrongID answers like ModeNormal but with a response id that
	// differs from the request id (still 204 when no imp won a bid).
	ModeWrongID = "wrongid"
	// ModeSlowBody answers 200 like ModeNormal (with an empty seatbid when
	// no imp won a bid, so there always is a body) but trickles the chunked
	// body in 10 pieces, 100 ms apart: the headers and first piece go out at
	// once, the last one about 900 ms later.
	ModeSlowBody = "slowbody"
	// ModeClose closes the connection without answering.
	ModeClose = "close"
)

// MockDSPModes returns the names of the modes a MockDSP knows, ModeNormal
// first. The slice is the caller's.
func MockDSPModes() []string {
	return []string{ModeNormal, ModeNoBid, ModeEmptySeatBid, ModeGarbage, ModeError,
		ModeHang, ModeBadBids, ModeWrongID, ModeSlowBody, ModeClose}
}

// MaxBidsPerImp caps MockDSPConfig.BidsPerImp, so that one answer stays
// within what an exchange reads (100 imps x 100 bids is about 4 MB).
const MaxBidsPerImp = 100

// MaxDelay caps every wait of a MockDSP: latency plus jitter before an
// answer, and how long ModeHang holds a connection.
const MaxDelay = 10 * time.Second

const (
	mockSeat        = "mock"
	mockMinPrice    = 0.01 // floor of a normal bid's price, so it stays valid
	slowBodyPieces  = 10
	slowBodyPause   = 100 * time.Millisecond
	queryCacheLimit = 4096 // distinct query strings whose parse is remembered
	closeWait       = MaxDelay + 5*time.Second
)

type mockMode uint8

const (
	mNormal mockMode = iota
	mNoBid
	mEmptySeatBid
	mGarbage
	mError
	mHang
	mBadBids
	mWrongID
	mSlowBody
	mClose
)

var mockModes = map[string]mockMode{
	ModeNormal: mNormal, "normal": mNormal, ModeNoBid: mNoBid,
	ModeEmptySeatBid: mEmptySeatBid, ModeGarbage: mGarbage, ModeError: mError,
	ModeHang: mHang, ModeBadBids: mBadBids, ModeWrongID: mWrongID,
	ModeSlowBody: mSlowBody, ModeClose: mClose,
}

// MockDSPConfig is how a MockDSP answers by default. Each field but Seed can
// be overridden per request by the query string of the URL the request was
// sent to, under the key named in the field's comment, so one MockDSP can play
// several DSPs, each with its own endpoint URL, e.g.
// http://127.0.0.1:9001/bid?latency=300ms&bidRate=1&mode=garbage. Durations
// in a query are Go durations ("300ms"); unknown query keys are ignored, so a
// URL may carry a tag such as dsp=a.
type MockDSPConfig struct {
	// Latency is waited before answering (query key latency); >= 0.
	// Latency plus jitter is capped at MaxDelay.
	Latency time.Duration
	// Jitter adds a uniform random extra latency in [0, Jitter) (query key
	// jitter); >= 0.
	Jitter time.Duration
	// BidRate is the probability that an imp gets a bid, 0..1 (query key
	// bidRate). The zero value never bids.
	BidRate float64
	// Price is the CPM of each bid in the exchange's currency (query key
	// price); finite and >= 0. A bid is never priced below the imp's bidfloor
	// nor below 0.01.
	Price float64
	// PriceJitter adds a uniform random extra price in [0, PriceJitter)
	// (query key priceJitter); finite and >= 0.
	PriceJitter float64
	// Mode is one of the Mode constants; "" is ModeNormal (query key mode).
	Mode string
	// BidsPerImp is how many bids an imp that gets a bid receives (query
	// key bidsPerImp), 0..MaxBidsPerImp; 0 means 1. The first is priced as
	// Price says, each further one 0.01 lower, never below the imp's
	// bidfloor nor 0.01. Many bids per imp test how an exchange copes with
	// large answers.
	BidsPerImp int
	// Seed seeds the random choices (jitters and which imps get bids) and the
	// bid id prefix. With a non-zero Seed a client that sends the same
	// requests one at a time gets the same answers from every run; 0 seeds
	// from the clock.
	Seed int64
}

// mockParams is a MockDSPConfig resolved for one request.
type mockParams struct {
	latency, jitter             time.Duration
	bidRate, price, priceJitter float64
	mode                        mockMode
	extraBids                   int // bids per imp beyond the first; 0 keeps a zero mockParams at one
}

func (c MockDSPConfig) params() (mockParams, error) {
	p := mockParams{latency: c.Latency, jitter: c.Jitter, bidRate: c.BidRate,
		price: c.Price, priceJitter: c.PriceJitter, extraBids: max(c.BidsPerImp-1, 0)}
	m, ok := mockModes[c.Mode]
	switch {
	case c.Latency < 0:
		return p, errors.New("bench: mock DSP latency must be >= 0")
	case c.Jitter < 0:
		return p, errors.New("bench: mock DSP jitter must be >= 0")
	case !validRate(c.BidRate):
		return p, errors.New("bench: mock DSP bid rate must be within 0..1")
	case !validPrice(c.Price):
		return p, errors.New("bench: mock DSP price must be finite and >= 0")
	case !validPrice(c.PriceJitter):
		return p, errors.New("bench: mock DSP price jitter must be finite and >= 0")
	case c.BidsPerImp < 0 || c.BidsPerImp > MaxBidsPerImp:
		return p, errors.New("bench: mock DSP bids per imp must be within 0.." + strconv.Itoa(MaxBidsPerImp))
	case !ok:
		return p, errors.New("bench: unknown mock DSP mode " + strconv.Quote(c.Mode))
	}
	p.mode = m
	return p, nil
}

func validRate(r float64) bool  { return r >= 0 && r <= 1 } // false for NaN
func validPrice(p float64) bool { return p >= 0 && !math.IsInf(p, 1) }

// delay is the wait for one request given a uniform draw u in [0, 1).
func (p *mockParams) delay(u float64) time.Duration {
	d := min(p.latency, MaxDelay)
	if p.jitter > 0 {
		d += time.Duration(u * float64(min(p.jitter, MaxDelay)))
	}
	return min(d, MaxDelay)
}

// MockDSP is a real HTTP server (fasthttp) that answers OpenRTB 2.x bid
// requests POSTed to any path with bids, no-bids, delays and faults, as set
// by its MockDSPConfig and each request's query string. It is safe for
// concurrent use. Create it with NewMockDSP, run it with Serve and stop it
// with Close.
type MockDSP struct {
	base     mockParams
	srv      *fasthttp.Server
	done     chan struct{} // closed by Close: ends waits, hangs and trickles
	idPrefix string
	requests atomic.Int64
	hanging  atomic.Int64 // connections held by ModeHang right now
	bidSeq   atomic.Uint64

	rngMu sync.Mutex
	rng   *rand.Rand // nil: use the lock-free global source

	qmu    sync.RWMutex
	qcache map[string]queryParse

	mu     sync.Mutex
	closed bool
	lns    []net.Listener
	bg     sync.WaitGroup // hang handlers and slow-body writers; Add under mu
}

type queryParse struct {
	p   mockParams
	msg string // non-empty: the 400 message
}

// NewMockDSP validates cfg and returns a MockDSP that is not yet serving.
func NewMockDSP(cfg MockDSPConfig) (*MockDSP, error) {
	p, err := cfg.params()
	if err != nil {
		return nil, err
	}
	m := &MockDSP{base: p, done: make(chan struct{}), qcache: make(map[string]queryParse)}
	if cfg.Seed != 0 {
		m.rng = rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6d6f636b647370)) // "mockdsp"
		m.idPrefix = strconv.FormatUint(uint64(cfg.Seed)&0xffffffffff, 36) + "-"
	} else {
		m.idPrefix = strconv.FormatUint(rand.Uint64()&0xffffffffff, 36) + "-"
	}
	m.srv = &fasthttp.Server{
		Handler:                      m.handle,
		Name:                         "adx-mockdsp",
		ReadTimeout:                  30 * time.Second,
		IdleTimeout:                  60 * time.Second,
		NoDefaultDate:                true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		DisablePreParseMultipartForm: true,
		Logger:                       discardLogger{},
	}
	return m, nil
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// ErrMockDSPClosed is returned by Serve on a MockDSP that was closed.
var ErrMockDSPClosed = errors.New("bench: mock DSP closed")

// Serve answers requests arriving on ln until Close, then returns nil; it
// returns ln's error if accepting fails for another reason, and
// ErrMockDSPClosed at once (closing ln) if Close came first. Serve may be
// called several times, on different listeners, even concurrently; Close
// closes all of them.
func (m *MockDSP) Serve(ln net.Listener) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		_ = ln.Close()
		return ErrMockDSPClosed
	}
	m.lns = append(m.lns, ln)
	m.mu.Unlock()
	err := m.srv.Serve(ln)
	if err != nil && m.isClosed() && errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Close stops the MockDSP: it closes the listeners, cuts short pending
// latencies, hangs and slow bodies, and waits (at most MaxDelay plus a few
// seconds) for in-flight requests to end. Later calls do nothing and return
// nil.
func (m *MockDSP) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	lns := m.lns
	m.lns = nil
	m.mu.Unlock()

	// Close the listeners here too: a Serve that has not yet handed its
	// listener to fasthttp would otherwise miss the shutdown.
	for _, ln := range lns {
		_ = ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	err := m.srv.ShutdownWithContext(ctx)
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	bgDone := make(chan struct{})
	go func() { m.bg.Wait(); close(bgDone) }()
	select {
	case <-bgDone:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}

// Requests returns how many requests the MockDSP has finished handling so
// far, whatever the outcome (bids, no-bid, fault or 4xx); a ModeHang request
// counts when it is released. Safe to call at any time, also after Close.
func (m *MockDSP) Requests() int64 { return m.requests.Load() }

func (m *MockDSP) isClosed() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// startBG registers a goroutine that Close waits for; false once closed.
func (m *MockDSP) startBG() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.bg.Add(1)
	return true
}

// reqState is the pooled per-request scratch space.
type reqState struct {
	req   openrtb2.BidRequest
	buf   []byte
	draws []float64
}

var reqStatePool = sync.Pool{New: func() any { return &reqState{buf: make([]byte, 0, 4096)} }}

func (st *reqState) release() {
	st.req = openrtb2.BidRequest{}
	if cap(st.buf) > 1<<20 {
		st.buf = make([]byte, 0, 4096)
	}
	reqStatePool.Put(st)
}

// fill sets st.draws to n uniform draws in [0, 1).
func (m *MockDSP) fill(st *reqState, n int) {
	if cap(st.draws) < n {
		st.draws = make([]float64, n)
	}
	d := st.draws[:n]
	if m.rng == nil {
		for i := range d {
			d[i] = rand.Float64()
		}
	} else {
		m.rngMu.Lock()
		for i := range d {
			d[i] = m.rng.Float64()
		}
		m.rngMu.Unlock()
	}
	st.draws = d
}

// wait sleeps d or until Close.
func (m *MockDSP) wait(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-m.done:
		t.Stop()
	}
}

var (
	ctJSON      = []byte("application/json")
	ctText      = []byte("text/plain; charset=utf-8")
	hdrORTBVer  = []byte("X-Openrtb-Version")
	valORTBVer  = []byte("2.6")
	garbageBody = []byte("<html><body>mock DSP garbage: this is not JSON {{{\x00\xff</body></html>")
	errorBody   = []byte("mock DSP: internal server error (mode=error)\n")
)

func (m *MockDSP) handle(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		m.reject(ctx, fasthttp.StatusMethodNotAllowed, "mock DSP: bid requests must be POSTed")
		return
	}
	p, msg := m.paramsFor(ctx)
	if msg != "" {
		m.reject(ctx, fasthttp.StatusBadRequest, msg)
		return
	}
	body, err := ctx.Request.BodyUncompressed()
	if err != nil {
		m.reject(ctx, fasthttp.StatusBadRequest, "mock DSP: cannot decode request body: "+err.Error())
		return
	}
	st := reqStatePool.Get().(*reqState)
	defer st.release()
	if err := json.Unmarshal(body, &st.req); err != nil {
		m.reject(ctx, fasthttp.StatusBadRequest, "mock DSP: bad bid request JSON: "+err.Error())
		return
	}
	req := &st.req
	if req.ID == "" {
		m.reject(ctx, fasthttp.StatusBadRequest, "mock DSP: bid request has no id")
		return
	}
	if p.mode == mHang {
		m.hang(ctx)
		return
	}
	// Draws: [0] latency jitter, then per imp a bid draw and a price draw,
	// always all of them so a seeded sequence does not depend on the mode.
	m.fill(st, 1+2*len(req.Imp))
	m.wait(p.delay(st.draws[0]))

	switch p.mode {
	case mNoBid:
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	case mEmptySeatBid:
		st.buf = appendEmptySeatBid(st.buf[:0], req.ID)
		m.sendJSON(ctx, st.buf)
	case mGarbage:
		ctx.SetContentTypeBytes(ctJSON)
		ctx.SetBody(garbageBody)
	case mError:
		ctx.SetStatusCode(fasthttp.StatusInternalServerError)
		ctx.SetContentTypeBytes(ctText)
		ctx.SetBody(errorBody)
	case mBadBids:
		st.buf = m.appendBadBids(st.buf[:0], req, &p)
		m.sendJSON(ctx, st.buf)
	case mClose:
		ctx.HijackSetNoResponse(true)
		ctx.Hijack(func(net.Conn) {}) // fasthttp closes the connection
	default: // mNormal, mWrongID, mSlowBody
		id := req.ID
		if p.mode == mWrongID {
			id += "-wrong"
		}
		b, n := m.appendBids(st.buf[:0], req, id, &p, st.draws[1:])
		switch {
		case p.mode == mSlowBody:
			if n == 0 {
				b = appendEmptySeatBid(b[:0], id)
			}
			m.slowBody(ctx, b)
		case n == 0:
			ctx.SetStatusCode(fasthttp.StatusNoContent)
		default:
			m.sendJSON(ctx, b)
		}
		st.buf = b
	}
	m.requests.Add(1)
}

func (m *MockDSP) reject(ctx *fasthttp.RequestCtx, code int, msg string) {
	ctx.SetStatusCode(code)
	ctx.SetContentTypeBytes(ctText)
	ctx.SetBodyString(msg + "\n")
	m.requests.Add(1)
}

func (m *MockDSP) sendJSON(ctx *fasthttp.RequestCtx, b []byte) {
	ctx.SetContentTypeBytes(ctJSON)
	ctx.Response.Header.SetBytesKV(hdrORTBVer, valORTBVer)
	ctx.SetBody(b) // copies b
}

// hang holds the connection, unanswered, until the client closes it,
// MaxDelay passes or the MockDSP closes.
func (m *MockDSP) hang(ctx *fasthttp.RequestCtx) {
	if !m.startBG() {
		ctx.SetConnectionClose()
		m.reject(ctx, fasthttp.StatusServiceUnavailable, "mock DSP: shutting down")
		return
	}
	deadline := time.Now().Add(MaxDelay)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer m.bg.Done()
		defer m.requests.Add(1)
		m.hanging.Add(1)
		defer m.hanging.Add(-1)
		_ = c.SetReadDeadline(deadline)
		stop, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			select {
			case <-m.done:
				_ = c.SetReadDeadline(time.Now())
			case <-stop:
			}
		}()
		var buf [512]byte
		for {
			if _, err := c.Read(buf[:]); err != nil {
				break // EOF: the client gave up; or deadline; or Close
			}
		}
		close(stop)
		<-stopped // c must not be touched once this handler returns
	})
}

// slowBody sends body chunked in slowBodyPieces pieces, slowBodyPause apart.
func (m *MockDSP) slowBody(ctx *fasthttp.RequestCtx, body []byte) {
	ctx.SetContentTypeBytes(ctJSON)
	ctx.Response.Header.SetBytesKV(hdrORTBVer, valORTBVer)
	if !m.startBG() {
		ctx.SetBody(body)
		return
	}
	b := append([]byte(nil), body...) // body is pooled; the writer runs later
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer m.bg.Done()
		piece := (len(b) + slowBodyPieces - 1) / slowBodyPieces
		t := time.NewTimer(0)
		defer t.Stop()
		for i := 0; len(b) > 0; i++ {
			if i > 0 {
				t.Reset(slowBodyPause)
				select {
				case <-t.C:
				case <-m.done:
					return
				}
			}
			n := min(piece, len(b))
			if _, err := w.Write(b[:n]); err != nil {
				return
			}
			if err := w.Flush(); err != nil {
				return // the client went away
			}
			b = b[n:]
		}
	})
}

// paramsFor resolves the request's query string over the configuration.
// A non-empty msg is the reason for a 400.
func (m *MockDSP) paramsFor(ctx *fasthttp.RequestCtx) (mockParams, string) {
	q := ctx.URI().QueryString()
	if len(q) == 0 {
		return m.base, ""
	}
	m.qmu.RLock()
	e, ok := m.qcache[string(q)]
	m.qmu.RUnlock()
	if ok {
		return e.p, e.msg
	}
	e.p, e.msg = m.parseQuery(ctx.QueryArgs())
	m.qmu.Lock()
	if len(m.qcache) < queryCacheLimit {
		m.qcache[string(q)] = e
	}
	m.qmu.Unlock()
	return e.p, e.msg
}

func (m *MockDSP) parseQuery(args *fasthttp.Args) (mockParams, string) {
	p := m.base
	for k, v := range args.All() {
		var bad string
		switch key := string(k); key {
		case "latency", "jitter":
			d, err := time.ParseDuration(string(v))
			if err != nil || d < 0 {
				bad = "a duration >= 0 such as 300ms"
			} else if key == "latency" {
				p.latency = d
			} else {
				p.jitter = d
			}
		case "bidRate":
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil || !validRate(f) {
				bad = "a number within 0..1"
			}
			p.bidRate = f
		case "price", "priceJitter":
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil || !validPrice(f) {
				bad = "a finite number >= 0"
			} else if key == "price" {
				p.price = f
			} else {
				p.priceJitter = f
			}
		case "bidsPerImp":
			n, err := strconv.Atoi(string(v))
			if err != nil || n < 0 || n > MaxBidsPerImp {
				bad = "an integer within 0.." + strconv.Itoa(MaxBidsPerImp)
			}
			p.extraBids = max(n-1, 0)
		case "mode":
			md, ok := mockModes[string(v)]
			if !ok {
				bad = "one of normal, nobid, emptyseatbid, garbage, error, hang, badbids, wrongid, slowbody, close"
			}
			p.mode = md
		default:
			continue // a tag such as dsp=a
		}
		if bad != "" {
			return p, "mock DSP: bad query value " + string(k) + "=" + strconv.Quote(string(v)) + ": want " + bad
		}
	}
	return p, ""
}

// Pre-built JSON fragments. Markup uses single quotes so that it needs no
// escaping inside a JSON string.
const (
	frBidID        = `{"id":"`
	frImpID        = `","impid":`
	frPrice        = `,"price":`
	frAdm          = `,"adid":"mock-ad","adm":"`
	frAdomain      = `","adomain":["mock-advertiser.example"],"cid":"mock-campaign"`
	frAdomainNoAdm = `,"adid":"mock-ad","adomain":["mock-advertiser.example"],"cid":"mock-campaign"`
	frCrid         = `,"crid":"mock-`
	frW            = `,"w":`
	frH            = `,"h":`
	frMType        = `,"mtype":`

	bannerA      = `<a href='https://mock-advertiser.example/click' target='_blank'><img src='https://mock-advertiser.example/creative/`
	bannerB      = `.png' width='`
	bannerC      = `' height='`
	bannerD      = `' alt='mock ad `
	bannerE      = `'></a>`
	bannerNoSize = `<a href='https://mock-advertiser.example/click' target='_blank'>` +
		`<img src='https://mock-advertiser.example/creative/responsive.png' alt='mock ad'></a>`

	vastA = `<VAST version='3.0'><Ad id='mock'><InLine><AdSystem>adx-mockdsp</AdSystem>` +
		`<AdTitle>mock ad</AdTitle><Impression><![CDATA[https://mock-advertiser.example/imp]]></Impression>` +
		`<Creatives><Creative><Linear><Duration>00:00:15</Duration><MediaFiles>` +
		`<MediaFile delivery='progressive' type='`
	vastVideoType = `video/mp4`
	vastAudioType = `audio/mpeg`
	vastB         = `' width='`
	vastC         = `' height='`
	vastD         = `'><![CDATA[https://mock-advertiser.example/creative/ad`
	vastVideoExt  = `.mp4`
	vastAudioExt  = `.mp3`
	vastE         = `]]></MediaFile></MediaFiles></Linear></Creative></Creatives></InLine></Ad></VAST>`

	nativeAdm = `{\"native\":{\"ver\":\"1.2\",\"assets\":[{\"id\":1,\"title\":{\"text\":\"Mock native ad\"}},` +
		`{\"id\":2,\"img\":{\"url\":\"https://mock-advertiser.example/1200x628.png\",\"w\":1200,\"h\":628}}],` +
		`\"link\":{\"url\":\"https://mock-advertiser.example/click\"},` +
		`\"imptrackers\":[\"https://mock-advertiser.example/imp\"]}}`

	respA = `{"id":`
	respB = `,"seatbid":[{"seat":"` + mockSeat + `","bid":[`
	respC = `]}],"cur":"USD"}`
)

// creative is what a bid for one imp looks like.
type creative struct {
	mtype openrtb2.MarkupType
	w, h  int64
}

// creativeFor picks banner, then video, native, audio; ok is false for an imp
// with none of them.
func creativeFor(imp *openrtb2.Imp) (c creative, ok bool) {
	switch {
	case imp.Banner != nil:
		c.mtype = openrtb2.MarkupBanner
		if b := imp.Banner; b.W != nil && b.H != nil && *b.W > 0 && *b.H > 0 {
			c.w, c.h = *b.W, *b.H
		} else if len(b.Format) > 0 && b.Format[0].W > 0 && b.Format[0].H > 0 {
			c.w, c.h = b.Format[0].W, b.Format[0].H
		}
	case imp.Video != nil:
		c.mtype = openrtb2.MarkupVideo
		if v := imp.Video; v.W != nil && v.H != nil && *v.W > 0 && *v.H > 0 {
			c.w, c.h = *v.W, *v.H
		}
	case imp.Native != nil:
		c.mtype = openrtb2.MarkupNative
	case imp.Audio != nil:
		c.mtype = openrtb2.MarkupAudio
	default:
		return c, false
	}
	return c, true
}

func appendSize(b []byte, w, h int64) []byte {
	b = strconv.AppendInt(b, w, 10)
	b = append(b, 'x')
	return strconv.AppendInt(b, h, 10)
}

func (c *creative) appendAdm(b []byte) []byte {
	switch c.mtype {
	case openrtb2.MarkupBanner:
		if c.w == 0 {
			return append(b, bannerNoSize...)
		}
		b = append(b, bannerA...)
		b = appendSize(b, c.w, c.h)
		b = append(b, bannerB...)
		b = strconv.AppendInt(b, c.w, 10)
		b = append(b, bannerC...)
		b = strconv.AppendInt(b, c.h, 10)
		b = append(b, bannerD...)
		b = appendSize(b, c.w, c.h)
		return append(b, bannerE...)
	case openrtb2.MarkupNative:
		return append(b, nativeAdm...)
	}
	w, h, typ, ext := c.w, c.h, vastVideoType, vastVideoExt
	if c.mtype == openrtb2.MarkupAudio {
		typ, ext = vastAudioType, vastAudioExt
	} else if w == 0 {
		w, h = 640, 360
	}
	b = append(b, vastA...)
	b = append(b, typ...)
	b = append(b, vastB...)
	b = strconv.AppendInt(b, w, 10)
	b = append(b, vastC...)
	b = strconv.AppendInt(b, h, 10)
	b = append(b, vastD...)
	b = append(b, ext...)
	return append(b, vastE...)
}

func (c *creative) appendCrid(b []byte) []byte {
	switch c.mtype {
	case openrtb2.MarkupBanner:
		b = append(b, "banner"...)
	case openrtb2.MarkupVideo:
		b = append(b, "video"...)
	case openrtb2.MarkupAudio:
		return append(b, "audio"...)
	default:
		return append(b, "native"...)
	}
	if c.w > 0 {
		b = append(b, '-')
		b = appendSize(b, c.w, c.h)
	}
	return b
}

// appendBid appends one bid; noAdm and noCrid leave those fields out.
func (m *MockDSP) appendBid(b []byte, impID string, c *creative, price float64, noAdm, noCrid bool) []byte {
	b = append(b, frBidID...)
	b = append(b, m.idPrefix...)
	b = strconv.AppendUint(b, m.bidSeq.Add(1), 36)
	b = append(b, frImpID...)
	b = jsonstr.Append(b, impID)
	b = append(b, frPrice...)
	b = strconv.AppendFloat(b, price, 'f', -1, 64)
	if noAdm {
		b = append(b, frAdomainNoAdm...)
	} else {
		b = append(b, frAdm...)
		b = c.appendAdm(b)
		b = append(b, frAdomain...)
	}
	if !noCrid {
		b = append(b, frCrid...)
		b = c.appendCrid(b)
		b = append(b, '"')
	}
	if c.w > 0 {
		b = append(b, frW...)
		b = strconv.AppendInt(b, c.w, 10)
		b = append(b, frH...)
		b = strconv.AppendInt(b, c.h, 10)
	}
	b = append(b, frMType...)
	b = strconv.AppendInt(b, int64(c.mtype), 10)
	return append(b, '}')
}

// appendBids appends a whole response with id and returns how many bids it
// holds. draws holds two draws per imp: whether it gets a bid, its price;
// an imp that gets a bid gets 1 + p.extraBids of them.
func (m *MockDSP) appendBids(b []byte, req *openrtb2.BidRequest, id string, p *mockParams, draws []float64) ([]byte, int) {
	b = append(b, respA...)
	b = jsonstr.Append(b, id)
	b = append(b, respB...)
	n := 0
	for i := range req.Imp {
		imp := &req.Imp[i]
		if draws[2*i] >= p.bidRate {
			continue
		}
		c, ok := creativeFor(imp)
		if !ok {
			continue
		}
		price := p.price + draws[2*i+1]*p.priceJitter
		for k := range 1 + p.extraBids {
			if n > 0 {
				b = append(b, ',')
			}
			b = m.appendBid(b, imp.ID, &c, max(price-0.01*float64(k), imp.BidFloor, mockMinPrice), false, false)
			n++
		}
	}
	return append(b, respC...), n
}

// appendBadBids appends a response whose every bid is invalid.
func (m *MockDSP) appendBadBids(b []byte, req *openrtb2.BidRequest, p *mockParams) []byte {
	impID, c := "1", creative{mtype: openrtb2.MarkupBanner, w: 300, h: 250}
	if len(req.Imp) > 0 {
		impID = req.Imp[0].ID
		if c2, ok := creativeFor(&req.Imp[0]); ok {
			c = c2
		}
	}
	price := max(p.price, mockMinPrice)
	if len(req.Imp) > 0 {
		price = max(price, req.Imp[0].BidFloor)
	}
	b = append(b, respA...)
	b = jsonstr.Append(b, req.ID)
	b = append(b, respB...)
	b = m.appendBid(b, "mock-unknown-imp-"+impID, &c, price, false, false)
	b = append(b, ',')
	b = m.appendBid(b, impID, &c, 0, false, false)
	b = append(b, ',')
	b = m.appendBid(b, impID, &c, price, true, false)
	b = append(b, ',')
	b = m.appendBid(b, impID, &c, price, false, true)
	b = append(b, ',')
	b = m.appendBid(b, impID, &c, -price, false, false)
	return append(b, respC...)
}

func appendEmptySeatBid(b []byte, id string) []byte {
	b = append(b, respA...)
	b = jsonstr.Append(b, id)
	return append(b, `,"seatbid":[]}`...)
}
