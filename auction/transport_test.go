package auction

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/openrtb"
)

// sentRequest is what a captureDSP was sent: the body inflated (with the
// standard library's gzip, not the one adx compresses with) when it came
// gzip-compressed, and the headers that shape it.
type sentRequest struct {
	body                          []byte
	contentEncoding, acceptEncode string
	version                       string
	req                           openrtb2.BidRequest
}

// captureDSP is a real DSP on loopback that keeps what it was sent and
// answers with answer.
type captureDSP struct {
	url string
	mu  sync.Mutex
	got []sentRequest
}

func startCaptureDSP(t *testing.T, answer func(ctx *fasthttp.RequestCtx, req *openrtb2.BidRequest)) *captureDSP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &captureDSP{url: "http://" + ln.Addr().String() + "/bid"}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		s := sentRequest{
			body:            append([]byte(nil), ctx.PostBody()...),
			contentEncoding: string(ctx.Request.Header.ContentEncoding()),
			acceptEncode:    string(ctx.Request.Header.Peek(fasthttp.HeaderAcceptEncoding)),
			version:         string(ctx.Request.Header.Peek("X-Openrtb-Version")),
		}
		if s.contentEncoding == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(s.body))
			if err == nil {
				s.body, err = io.ReadAll(zr)
			}
			if err != nil {
				t.Errorf("the DSP was sent a gzip body that does not inflate: %v", err)
			}
		}
		if err := openrtb.DecodeRequest(s.body, &s.req); err != nil {
			t.Errorf("the DSP was sent a body that does not decode: %v: %s", err, s.body)
		}
		d.mu.Lock()
		d.got = append(d.got, s)
		d.mu.Unlock()
		answer(ctx, &s.req)
	}}
	go srv.Serve(ln) //nolint:errcheck // ends with the listener
	t.Cleanup(func() { srv.Shutdown() })
	return d
}

func (d *captureDSP) sent(t *testing.T) sentRequest {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.got) != 1 {
		t.Fatalf("the DSP got %d requests, want 1", len(d.got))
	}
	return d.got[0]
}

func (d *captureDSP) reset() {
	d.mu.Lock()
	d.got = nil
	d.mu.Unlock()
}

func noBid(ctx *fasthttp.RequestCtx, _ *openrtb2.BidRequest) {
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// bidJSON is an answer with one bid on imp 1, its JSON padded with pad
// spaces.
func bidJSON(id string, pad int) []byte {
	return []byte(`{"id":"` + id + `",` + strings.Repeat(" ", pad) + `"seatbid":[{"bid":[{"id":"b","impid":"1","price":1,"adm":"x","crid":"c"}]}]}`)
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func bannerRequest() *openrtb2.BidRequest {
	return &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}}}}
}

// A DSP may answer gzip-compressed: every call offers it, and the answer
// is inflated up to maxDSPResponseBytes. A bomb past the bound, a broken
// gzip body and an unknown coding are refused, counted as errors and by
// reason.
func TestGzipAnswers(t *testing.T) {
	f := func(name, encoding string, body []byte, want Outcome, wantReason string) {
		t.Helper()
		dsp := startCaptureDSP(t, func(ctx *fasthttp.RequestCtx, req *openrtb2.BidRequest) {
			ctx.Response.Header.Set(fasthttp.HeaderContentEncoding, encoding)
			ctx.SetBody(body)
		})
		m := NewMetrics(nil)
		a := New([]Bidder{NewHTTPBidder(config.Demand{Name: "dsp", Endpoint: dsp.url}, config.Defaults().DSPClient, "USD")}, Rules{Currency: "USD"}, m)
		res := a.Run(bannerRequest(), time.Now().Add(30*time.Second))
		if r := res.Bidders[0]; r.Outcome != want {
			t.Errorf("%s: outcome %v (%v), want %v", name, r.Outcome, r.Err, want)
		} else if wantReason != "" && !strings.Contains(r.Err.Error(), wantReason) {
			t.Errorf("%s: error %q, want it to name the reason %q", name, r.Err, wantReason)
		}
		if s := dsp.sent(t); s.acceptEncode != "gzip" {
			t.Errorf("%s: the call sent Accept-Encoding %q, want gzip", name, s.acceptEncode)
		}
		for r := range numRefuseReasons {
			var c dto.Metric
			if err := m.refused.WithLabelValues("dsp", r.String()).Write(&c); err != nil {
				t.Fatal(err)
			}
			n, want := c.GetCounter().GetValue(), 0.0
			if r.String() == wantReason {
				want = 1
			}
			if n != want {
				t.Errorf("%s: adx_demand_answers_refused_total{reason=%q} = %v, want %v", name, r, n, want)
			}
		}
	}
	f("plain", "", bidJSON("r", 0), OutcomeBid, "")
	f("gzip", "gzip", gzipBytes(t, bidJSON("r", 0)), OutcomeBid, "")
	f("GZIP", "GZIP", gzipBytes(t, bidJSON("r", 0)), OutcomeBid, "")
	f("x-gzip", "x-gzip", gzipBytes(t, bidJSON("r", 0)), OutcomeBid, "")
	// The bound is on the inflated size: just under it passes, just over
	// it (a 2 KiB gzip bomb) is refused.
	f("gzip under the bound", "gzip", gzipBytes(t, bidJSON("r", maxDSPResponseBytes-200)), OutcomeBid, "")
	f("gzip bomb", "gzip", gzipBytes(t, bidJSON("r", maxDSPResponseBytes)), OutcomeError, "too_large")
	f("plain too large", "", bidJSON("r", maxDSPResponseBytes), OutcomeError, "too_large")
	f("broken gzip", "gzip", bidJSON("r", 0), OutcomeError, "bad_gzip")
	f("truncated gzip", "gzip", gzipBytes(t, bidJSON("r", 0))[:30], OutcomeError, "bad_gzip")
	f("brotli", "br", bidJSON("r", 0), OutcomeError, "bad_encoding")
}

// A gzip bomb never costs more than the bound: inflating it allocates
// at most twice the bound (the buffer doubling up to it), not its
// inflated size.
func TestGzipBombIsBounded(t *testing.T) {
	bomb := gzipBytes(t, make([]byte, 16<<20)) // 16 MiB of zeros in 16 KiB
	var before, after runtimeMem
	before.read()
	_, z, err := answerBody([]byte("gzip"), bomb, maxDSPResponseBytes)
	after.read()
	if err == nil || !strings.Contains(err.Error(), "too_large") {
		t.Fatalf("a 16 MiB bomb: error %v, want too_large", err)
	}
	z.Release()
	if grew := after.total - before.total; grew > 3*maxDSPResponseBytes {
		t.Errorf("inflating the bomb allocated %d bytes, want at most 3 times the %d bound (the buffer doubles up to it)", grew, maxDSPResponseBytes)
	}
}

// A gzip DSP is sent the same request as a plain one, compressed once for
// both (the shared prefix) with its own tmax at the end; a request that
// inflates wrong fails the DSP's decoding in startCaptureDSP.
func TestGzipRequests(t *testing.T) {
	plain, gz1, gz2 := startCaptureDSP(t, noBid), startCaptureDSP(t, noBid), startCaptureDSP(t, noBid)
	bidder := func(name string, d *captureDSP, gzip bool) Bidder {
		return NewHTTPBidder(config.Demand{Name: name, Endpoint: d.url, Gzip: gzip}, config.Defaults().DSPClient, "USD")
	}
	a := New([]Bidder{bidder("plain", plain, false), bidder("gz1", gz1, true), bidder("gz2", gz2, true)}, Rules{Currency: "USD"}, nil)
	req := bannerRequest()
	req.Site = &openrtb2.Site{Page: "https://example.com/a?b=<c>&d=\u00e9", Domain: "example.com"}
	for i := range 3 { // the pooled bodies and compressors are reused
		plain.reset()
		gz1.reset()
		gz2.reset()
		res := a.Run(req, time.Now().Add(30*time.Second))
		for _, r := range res.Bidders {
			if r.Outcome != OutcomeNoBid {
				t.Fatalf("auction %d: %s: outcome %v (%v), want a no-bid", i, r.Name, r.Outcome, r.Err)
			}
		}
		p := plain.sent(t)
		if p.contentEncoding != "" {
			t.Errorf("the plain DSP was sent Content-Encoding %q", p.contentEncoding)
		}
		for _, d := range []*captureDSP{gz1, gz2} {
			s := d.sent(t)
			if s.contentEncoding != "gzip" {
				t.Errorf("a gzip DSP was sent Content-Encoding %q", s.contentEncoding)
			}
			if s.req.TMax <= 0 || s.req.TMax > 30000 {
				t.Errorf("a gzip DSP was sent tmax %d, want the time left", s.req.TMax)
			}
			s.req.TMax = p.req.TMax
			if got, want := mustJSON(t, s.req), mustJSON(t, p.req); got != want {
				t.Errorf("a gzip DSP was sent\n%s\nthe plain one\n%s", got, want)
			}
		}
	}
}

// network_allowance comes off the tmax a DSP is sent, down to 1ms, while
// the auction still waits for the DSP until its own deadline.
func TestNetworkAllowance(t *testing.T) {
	const lag = 50 * time.Millisecond // the DSP's answer on its way back
	plain := startCaptureDSP(t, noBid)
	short := startCaptureDSP(t, noBid)
	late := startCaptureDSP(t, func(ctx *fasthttp.RequestCtx, req *openrtb2.BidRequest) {
		time.Sleep(time.Duration(req.TMax)*time.Millisecond + lag) // answers after its own tmax
		ctx.SetBody(bidJSON(req.ID, 0))
	})
	bidder := func(name string, d *captureDSP, allowance time.Duration) Bidder {
		return NewHTTPBidder(config.Demand{Name: name, Endpoint: d.url, NetworkAllowance: config.Duration(allowance)}, config.Defaults().DSPClient, "USD")
	}
	a := New([]Bidder{bidder("plain", plain, 0), bidder("short", short, 10*time.Second), bidder("late", late, 40*time.Second)}, Rules{Currency: "USD"}, nil)
	res := a.Run(bannerRequest(), time.Now().Add(30*time.Second))
	if r := res.Bidders[2]; r.Outcome != OutcomeBid {
		t.Errorf("a DSP answering after its tmax but before the auction's deadline: outcome %v (%v), want its bid", r.Outcome, r.Err)
	}
	// Each tmax is taken when the DSP is called: on a loaded machine the
	// calls may start seconds apart, not 10s.
	if tm := plain.sent(t).req.TMax; tm <= 20000 || tm > 30000 {
		t.Errorf("without an allowance the DSP was sent tmax %d, want the time left (20000-30000)", tm)
	}
	if tm := short.sent(t).req.TMax; tm <= 10000 || tm > 20000 {
		t.Errorf("with a 10s allowance the DSP was sent tmax %d, want the time left less 10s (10000-20000)", tm)
	}
	if tm := late.sent(t).req.TMax; tm != minTMax {
		t.Errorf("with an allowance past the time left the DSP was sent tmax %d, want the floor %d", tm, minTMax)
	}
}

// An OpenRTB 2.5 DSP is sent the 2.6 fields where 2.5 keeps them, with
// its version in X-Openrtb-Version, gzip or not; a 2.6 DSP in the same
// auction is sent the request as it is, and the request is not changed.
func TestOpenRTB25Demand(t *testing.T) {
	v26, v25, v25gz := startCaptureDSP(t, noBid), startCaptureDSP(t, noBid), startCaptureDSP(t, noBid)
	bidder := func(name string, d *captureDSP, version string, gzip bool) Bidder {
		return NewHTTPBidder(config.Demand{Name: name, Endpoint: d.url, OpenRTBVersion: version, Gzip: gzip}, config.Defaults().DSPClient, "USD")
	}
	a := New([]Bidder{bidder("v26", v26, "", false), bidder("v25", v25, "2.5", false), bidder("v25gz", v25gz, "2.5", true)}, Rules{Currency: "USD"}, nil)
	gdpr := int8(1)
	req := bannerRequest()
	req.Imp[0].Rwdd = 1
	req.Regs = &openrtb2.Regs{GDPR: &gdpr, USPrivacy: "1YNN"}
	req.User = &openrtb2.User{ID: "u", Consent: "CONSENT", EIDs: []openrtb2.EID{{Source: "id5-sync.com", UIDs: []openrtb2.UID{{ID: "x"}}}}}
	req.Source = &openrtb2.Source{TID: "t", SChain: &openrtb2.SupplyChain{Complete: 1, Ver: "1.0", Nodes: []openrtb2.SupplyChainNode{{ASI: "ssp.com", SID: "1", HP: openrtb2.Int8Ptr(1)}}}}
	before := mustJSON(t, req)
	res := a.Run(req, time.Now().Add(30*time.Second))
	for _, r := range res.Bidders {
		if r.Outcome != OutcomeNoBid {
			t.Fatalf("%s: outcome %v (%v), want a no-bid", r.Name, r.Outcome, r.Err)
		}
	}
	if after := mustJSON(t, req); after != before {
		t.Errorf("the auction changed the request:\n%s\nwas\n%s", after, before)
	}
	if s := v26.sent(t); s.version != "2.6" || s.req.Regs.GDPR == nil || s.req.User.Consent != "CONSENT" || s.req.Imp[0].Rwdd != 1 {
		t.Errorf("the 2.6 DSP was sent version %q and %s", s.version, s.body)
	}
	for _, d := range []*captureDSP{v25, v25gz} {
		s := d.sent(t)
		if s.version != "2.5" {
			t.Errorf("a 2.5 DSP was sent X-Openrtb-Version %q", s.version)
		}
		var got struct {
			Imp []struct {
				Rwdd int             `json:"rwdd"`
				Ext  json.RawMessage `json:"ext"`
			} `json:"imp"`
			Regs   map[string]json.RawMessage `json:"regs"`
			User   map[string]json.RawMessage `json:"user"`
			Source map[string]json.RawMessage `json:"source"`
		}
		if err := json.Unmarshal(s.body, &got); err != nil {
			t.Fatal(err)
		}
		const wantUserExt = `{"consent":"CONSENT","eids":[{"source":"id5-sync.com","uids":[{"id":"x"}]}]}`
		if got.Regs["gdpr"] != nil || got.User["eids"] != nil || got.Source["schain"] != nil || got.Imp[0].Rwdd != 0 ||
			string(got.Regs["ext"]) != `{"gdpr":1,"us_privacy":"1YNN"}` || string(got.User["ext"]) != wantUserExt ||
			!strings.Contains(string(got.Source["ext"]), `"schain":{"complete":1`) ||
			string(got.Imp[0].Ext) != `{"prebid":{"is_rewarded_inventory":1}}` {
			t.Errorf("a 2.5 DSP (gzip %q) was sent %s", s.contentEncoding, s.body)
		}
	}
}

// runtimeMem is the heap allocated so far.
type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}

// appendGzipTMax closes a gzipPrefix into one gzip member that inflates
// to the body with its tmax, the empty object included.
func TestAppendGzipTMax(t *testing.T) {
	f := func(body, want string) {
		t.Helper()
		gz, crc, err := gzipPrefix(nil, []byte(body[:len(body)-1]))
		if err != nil {
			t.Fatal(err)
		}
		out := appendGzipTMax([]byte("kept"), gz, crc, []byte(body), 42)
		if string(out[:4]) != "kept" {
			t.Fatalf("%s: dst's bytes were overwritten", body)
		}
		zr, err := gzip.NewReader(bytes.NewReader(out[4:]))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr) // checks the CRC-32 and the size
		if err != nil || string(got) != want {
			t.Errorf("%s: inflates to %q (%v), want %q", body, got, err, want)
		}
	}
	f(`{}`, `{"tmax":42}`)
	f(`{"id":"r"}`, `{"id":"r","tmax":42}`)
	f(`{"id":"`+strings.Repeat("x", 100<<10)+`"}`, `{"id":"`+strings.Repeat("x", 100<<10)+`","tmax":42}`)
}
