package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"
)

// The faults a fakeDSP plays when the URL it is called on has ?fault=NAME,
// so that one fakeDSP can be several demand partners. Each but faultHang
// first waits the configured latency.
const (
	faultNoBid        = "nobid"        // 204 No Content
	faultEmptySeatBid = "emptyseatbid" // 200 {"id":...,"seatbid":[]}
	faultGarbage      = "garbage"      // 200 with a body that is not JSON
	faultError        = "error"        // 500
	faultHang         = "hang"         // no answer until the client gives up or the fakeDSP closes
	faultBadBids      = "badbids"      // 200 with five bids the exchange must drop
	faultWrongID      = "wrongid"      // 200 with good bids under another response id
	faultSlowBody     = "slowbody"     // 200 with the body trickled in 10 pieces over 900 ms
	faultClose        = "close"        // the connection closed without an answer
)

// dspFaults lists every fault a fakeDSP plays.
var dspFaults = []string{faultNoBid, faultEmptySeatBid, faultGarbage, faultError,
	faultHang, faultBadBids, faultWrongID, faultSlowBody, faultClose}

// maxDSPWait bounds every wait of a fakeDSP (latency, hang), so that a test
// that forgets to close one is not held forever.
const maxDSPWait = 10 * time.Second

// dspConfig is how a fakeDSP answers without a fault.
type dspConfig struct {
	// Latency is waited before answering.
	Latency time.Duration
	// Price is each bid's CPM, raised to the imp's floor (or its first
	// deal's floor, on an imp with deals).
	Price float64
	// AdM, when set, is each banner bid's markup; NURL, BURL and LURL
	// each bid's win, billing and loss notice URLs (macros are left for
	// the exchange to expand).
	AdM, NURL, BURL, LURL string
	// Seat is the seat of the bids; empty: "fake".
	Seat string
}

// fakeDSP is a demand partner for the server's tests and benchmarks: a real
// fasthttp server that decodes each POSTed OpenRTB request and answers it
// with one bid per imp (or plays a fault). It reads only what a bid must
// match: the request id, the imp ids, floors and deals. Build it with
// listenFakeDSP, stop it with close.
type fakeDSP struct {
	cfg       dspConfig
	srv       *fasthttp.Server
	done      chan struct{} // closed by close: ends waits, hangs and trickles
	closeOnce sync.Once
	served    chan error
}

// dspRequest is the part of a BidRequest a fakeDSP reads.
type dspRequest struct {
	ID  string `json:"id"`
	Imp []struct {
		ID       string  `json:"id"`
		BidFloor float64 `json:"bidfloor"`
		PMP      *struct {
			Deals []struct {
				ID       string  `json:"id"`
				BidFloor float64 `json:"bidfloor"`
			} `json:"deals"`
		} `json:"pmp"`
		Banner json.RawMessage `json:"banner"`
		Native *struct {
			Request string `json:"request"`
		} `json:"native"`
	} `json:"imp"`
}

// listenFakeDSP starts a fakeDSP on a loopback listener and returns it with
// its base URL.
func listenFakeDSP(cfg dspConfig) (*fakeDSP, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("cannot listen for a fake DSP: %w", err)
	}
	d := &fakeDSP{cfg: cfg, done: make(chan struct{}), served: make(chan error, 1)}
	d.srv = &fasthttp.Server{Handler: d.handle, Name: "fake-dsp", NoDefaultDate: true, CloseOnShutdown: true}
	go func() { d.served <- d.srv.Serve(ln) }()
	return d, "http://" + ln.Addr().String(), nil
}

// startFakeDSP runs a fakeDSP until the test ends and returns its base URL.
func startFakeDSP(tb testing.TB, cfg dspConfig) string {
	tb.Helper()
	d, url, err := listenFakeDSP(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := d.close(); err != nil {
			tb.Error(err)
		}
	})
	return url
}

// close releases every waiting answer, closes the connections and waits
// for the handlers to return.
func (d *fakeDSP) close() error {
	var err error
	d.closeOnce.Do(func() {
		close(d.done)
		ctx, cancel := context.WithTimeout(context.Background(), maxDSPWait)
		defer cancel()
		if err = d.srv.ShutdownWithContext(ctx); err != nil {
			err = fmt.Errorf("cannot shut the fake DSP down: %w", err)
			return
		}
		if serr := <-d.served; serr != nil && !errors.Is(serr, net.ErrClosed) {
			err = fmt.Errorf("fake DSP: %w", serr)
		}
	})
	return err
}

// wait sleeps t (at most maxDSPWait), or until close; false if close
// came first.
func (d *fakeDSP) wait(t time.Duration) bool {
	if t <= 0 {
		return true
	}
	tm := time.NewTimer(min(t, maxDSPWait))
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-d.done:
		return false
	}
}

func (d *fakeDSP) handle(ctx *fasthttp.RequestCtx) {
	var req dspRequest
	if err := json.Unmarshal(ctx.PostBody(), &req); err != nil || req.ID == "" {
		ctx.Error("fake DSP: not a bid request", fasthttp.StatusBadRequest)
		return
	}
	fault := string(ctx.QueryArgs().Peek("fault"))
	if fault == faultHang {
		d.wait(maxDSPWait)
		ctx.SetConnectionClose()
		return
	}
	d.wait(d.cfg.Latency)
	switch fault {
	case "":
		d.sendJSON(ctx, d.bids(&req, req.ID))
	case faultNoBid:
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	case faultEmptySeatBid:
		id, _ := json.Marshal(req.ID)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"id":` + string(id) + `,"seatbid":[]}`) // BidResponse would omit the empty list
	case faultGarbage:
		ctx.SetContentType("application/json")
		ctx.SetBodyString("<html>fake DSP garbage {{{\x00\xff</html>")
	case faultError:
		ctx.Error("fake DSP: internal error", fasthttp.StatusInternalServerError)
	case faultBadBids:
		d.sendJSON(ctx, badBids(&req))
	case faultWrongID:
		d.sendJSON(ctx, d.bids(&req, req.ID+"-wrong"))
	case faultSlowBody:
		d.slowBody(ctx, d.bids(&req, req.ID))
	case faultClose:
		ctx.HijackSetNoResponse(true)
		ctx.Hijack(func(net.Conn) {}) // fasthttp closes the connection
	default:
		ctx.Error("fake DSP: unknown fault "+strconv.Quote(fault), fasthttp.StatusBadRequest)
	}
}

// bids answers req with one bid per imp, under response id id.
func (d *fakeDSP) bids(req *dspRequest, id string) *openrtb2.BidResponse {
	bids := make([]openrtb2.Bid, len(req.Imp))
	for i, imp := range req.Imp {
		b := &bids[i]
		b.ID, b.ImpID, b.AdM, b.CrID = "b"+strconv.Itoa(i), imp.ID, "<div>fake ad</div>", "fake-creative"
		switch {
		case imp.Banner != nil:
			if d.cfg.AdM != "" {
				b.AdM = d.cfg.AdM
			}
		case imp.Native != nil:
			b.AdM = fakeNative(imp.Native.Request)
		default: // video or audio
			b.AdM = `<VAST version="4.2"><Ad id="fake"/></VAST>`
		}
		b.NURL, b.BURL, b.LURL = d.cfg.NURL, d.cfg.BURL, d.cfg.LURL
		b.Price = max(d.cfg.Price, imp.BidFloor)
		if imp.PMP != nil && len(imp.PMP.Deals) > 0 {
			deal := imp.PMP.Deals[0]
			b.DealID, b.Price = deal.ID, max(b.Price, deal.BidFloor)
		}
	}
	seat := d.cfg.Seat
	if seat == "" {
		seat = "fake"
	}
	return &openrtb2.BidResponse{ID: id, Cur: "USD", SeatBid: []openrtb2.SeatBid{{Seat: seat, Bid: bids}}}
}

// fakeNative returns a Native response with an asset for each asset of
// the Native request, so that it holds every required one.
func fakeNative(request string) string {
	type assets struct {
		Assets []struct {
			ID int64 `json:"id"`
		} `json:"assets"`
	}
	var nr struct {
		assets
		Native *assets `json:"native"`
	}
	json.Unmarshal([]byte(request), &nr)
	if nr.Native != nil {
		nr.assets = *nr.Native
	}
	adm := `{"native":{"link":{"url":"https://dsp.example/click"},"assets":[`
	for i, a := range nr.Assets {
		if i > 0 {
			adm += ","
		}
		adm += `{"id":` + strconv.FormatInt(a.ID, 10) + `,"title":{"text":"fake"}}`
	}
	return adm + "]}}"
}

// badBids answers req with five bids an exchange must drop: an unknown
// impid, a zero price, no markup, no crid and a negative price.
func badBids(req *dspRequest) *openrtb2.BidResponse {
	impID := "1"
	if len(req.Imp) > 0 {
		impID = req.Imp[0].ID
	}
	good := openrtb2.Bid{ImpID: impID, Price: 1000, AdM: "<div>fake ad</div>", CrID: "fake-creative"}
	bids := []openrtb2.Bid{good, good, good, good, good}
	bids[0].ImpID = "unknown-" + impID
	bids[1].Price = 0
	bids[2].AdM = ""
	bids[3].CrID = ""
	bids[4].Price = -1
	for i := range bids {
		bids[i].ID = "bad" + strconv.Itoa(i)
	}
	return &openrtb2.BidResponse{ID: req.ID, Cur: "USD", SeatBid: []openrtb2.SeatBid{{Seat: "fake", Bid: bids}}}
}

func (d *fakeDSP) sendJSON(ctx *fasthttp.RequestCtx, resp *openrtb2.BidResponse) {
	b, err := json.Marshal(resp)
	if err != nil {
		ctx.Error("fake DSP: cannot encode the response: "+err.Error(), fasthttp.StatusInternalServerError)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// slowBody sends resp chunked in 10 pieces, 100 ms apart.
func (d *fakeDSP) slowBody(ctx *fasthttp.RequestCtx, resp *openrtb2.BidResponse) {
	b, err := json.Marshal(resp)
	if err != nil {
		ctx.Error("fake DSP: cannot encode the response: "+err.Error(), fasthttp.StatusInternalServerError)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		const pieces = 10
		size := (len(b) + pieces - 1) / pieces
		for i := 0; len(b) > 0; i++ {
			if i > 0 && !d.wait(100*time.Millisecond) {
				return
			}
			n := min(size, len(b))
			if _, err := w.Write(b[:n]); err != nil || w.Flush() != nil {
				return // the client went away
			}
			b = b[n:]
		}
	})
}
