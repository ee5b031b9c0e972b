package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"
)

// startMock serves a MockDSP on a fresh 127.0.0.1 port and returns it with
// its base URL; the test's cleanup closes it and checks Serve's result.
func startMock(t testing.TB, cfg MockDSPConfig) (*MockDSP, string) {
	t.Helper()
	m, err := NewMockDSP(cfg)
	if err != nil {
		t.Fatalf("NewMockDSP(%+v): %v", cfg, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- m.Serve(ln) }()
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after Close")
		}
	})
	return m, "http://" + ln.Addr().String() + "/bid"
}

var testClient = &http.Client{Timeout: 20 * time.Second}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func post(t testing.TB, url, body string) reply {
	t.Helper()
	resp, err := testClient.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading body: %v", url, err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

func decodeResponse(t testing.TB, r reply) openrtb2.BidResponse {
	t.Helper()
	var br openrtb2.BidResponse
	if err := json.Unmarshal(r.body, &br); err != nil {
		t.Fatalf("response is not a BidResponse: %v\n%s", err, r.body)
	}
	return br
}

func allBids(br openrtb2.BidResponse) []openrtb2.Bid {
	var bids []openrtb2.Bid
	for _, sb := range br.SeatBid {
		bids = append(bids, sb.Bid...)
	}
	return bids
}

const (
	bannerImp       = `{"id":"b1","banner":{"w":300,"h":250}}`
	bannerFormatImp = `{"id":"b2","banner":{"format":[{"w":728,"h":90},{"w":320,"h":50}]}}`
	videoImp        = `{"id":"v1","video":{"mimes":["video/mp4"],"w":640,"h":480}}`
	nativeImp       = `{"id":"n1","native":{"request":"{}","ver":"1.2"}}`
	audioImp        = `{"id":"a1","audio":{"mimes":["audio/mpeg"]}}`
)

func bidRequest(id string, imps ...string) string {
	return `{"id":"` + id + `","imp":[` + strings.Join(imps, ",") + `],"site":{"id":"s1","page":"https://pub.example/"},"tmax":300}`
}

func TestNewMockDSPValidates(t *testing.T) {
	nan := func() float64 { z := 0.0; return z / z }()
	bad := []MockDSPConfig{
		{Latency: -time.Millisecond},
		{Jitter: -1},
		{BidRate: 1.5},
		{BidRate: -0.1},
		{BidRate: nan},
		{Price: -1},
		{Price: nan},
		{PriceJitter: -0.5},
		{BidsPerImp: -1},
		{BidsPerImp: MaxBidsPerImp + 1},
		{Mode: "bogus"},
	}
	for _, cfg := range bad {
		if _, err := NewMockDSP(cfg); err == nil {
			t.Errorf("NewMockDSP(%+v) = nil error, want one", cfg)
		}
	}
	for _, mode := range append(MockDSPModes(), "normal") {
		if _, err := NewMockDSP(MockDSPConfig{Mode: mode, BidRate: 1, Price: 1}); err != nil {
			t.Errorf("mode %q: %v", mode, err)
		}
	}
	if _, err := NewMockDSP(MockDSPConfig{}); err != nil {
		t.Errorf("zero config: %v", err)
	}
}

func TestMockDSPNormalBids(t *testing.T) {
	m, url := startMock(t, MockDSPConfig{BidRate: 1, Price: 1.5})
	req := bidRequest("req-1", bannerImp, bannerFormatImp, videoImp, nativeImp, audioImp)
	r := post(t, url, req)
	if r.status != 200 {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	br := decodeResponse(t, r)
	if br.ID != "req-1" || br.Cur != "USD" || len(br.SeatBid) != 1 || br.SeatBid[0].Seat != "mock" {
		t.Errorf("response id=%q cur=%q seatbids=%d, want req-1 USD one seat mock", br.ID, br.Cur, len(br.SeatBid))
	}
	type want struct {
		mtype     openrtb2.MarkupType
		w, h      int64
		admSubstr string
	}
	wants := map[string]want{
		"b1": {openrtb2.MarkupBanner, 300, 250, "width='300' height='250'"},
		"b2": {openrtb2.MarkupBanner, 728, 90, "width='728' height='90'"},
		"v1": {openrtb2.MarkupVideo, 640, 480, "<VAST version='3.0'>"},
		"n1": {openrtb2.MarkupNative, 0, 0, `"native":{"ver":"1.2"`},
		"a1": {openrtb2.MarkupAudio, 0, 0, "audio/mpeg"},
	}
	bids := allBids(br)
	if len(bids) != len(wants) {
		t.Fatalf("%d bids, want one per imp (%d)", len(bids), len(wants))
	}
	ids := map[string]bool{}
	for _, b := range bids {
		w, ok := wants[b.ImpID]
		if !ok {
			t.Errorf("bid for unknown impid %q", b.ImpID)
			continue
		}
		delete(wants, b.ImpID)
		if ids[b.ID] || b.ID == "" {
			t.Errorf("bid id %q empty or repeated", b.ID)
		}
		ids[b.ID] = true
		if b.Price != 1.5 {
			t.Errorf("imp %s: price %v, want 1.5", b.ImpID, b.Price)
		}
		if b.MType != w.mtype || b.W != w.w || b.H != w.h {
			t.Errorf("imp %s: mtype %d %dx%d, want %d %dx%d", b.ImpID, b.MType, b.W, b.H, w.mtype, w.w, w.h)
		}
		if !strings.Contains(b.AdM, w.admSubstr) {
			t.Errorf("imp %s: adm %q lacks %q", b.ImpID, b.AdM, w.admSubstr)
		}
		if b.CrID == "" || len(b.ADomain) != 1 || b.ADomain[0] == "" {
			t.Errorf("imp %s: crid %q adomain %v", b.ImpID, b.CrID, b.ADomain)
		}
	}
	var native struct {
		Native struct{ Ver string } `json:"native"`
	}
	for _, b := range bids {
		if b.MType == openrtb2.MarkupNative {
			if err := json.Unmarshal([]byte(b.AdM), &native); err != nil || native.Native.Ver != "1.2" {
				t.Errorf("native adm %q: %v", b.AdM, err)
			}
		}
	}
	if got := m.Requests(); got != 1 {
		t.Errorf("Requests() = %d, want 1", got)
	}
}

func TestMockDSPModes(t *testing.T) {
	_, url := startMock(t, MockDSPConfig{BidRate: 1, Price: 2})
	req := bidRequest("req-9", bannerImp, videoImp)
	tests := []struct {
		mode   string
		status int
		check  func(t *testing.T, r reply)
	}{
		{"normal", 200, func(t *testing.T, r reply) {
			if br := decodeResponse(t, r); br.ID != "req-9" || len(allBids(br)) != 2 {
				t.Errorf("id %q, %d bids", br.ID, len(allBids(br)))
			}
		}},
		{"nobid", 204, func(t *testing.T, r reply) {
			if len(r.body) != 0 {
				t.Errorf("204 with body %q", r.body)
			}
		}},
		{"emptyseatbid", 200, func(t *testing.T, r reply) {
			if string(r.body) != `{"id":"req-9","seatbid":[]}` {
				t.Errorf("body %s", r.body)
			}
		}},
		{"garbage", 200, func(t *testing.T, r reply) {
			var v any
			if len(r.body) == 0 || json.Unmarshal(r.body, &v) == nil {
				t.Errorf("garbage body %q is empty or JSON", r.body)
			}
		}},
		{"error", 500, nil},
		{"wrongid", 200, func(t *testing.T, r reply) {
			br := decodeResponse(t, r)
			if br.ID == "req-9" || br.ID == "" || len(allBids(br)) != 2 {
				t.Errorf("id %q (want neither req-9 nor empty), %d bids", br.ID, len(allBids(br)))
			}
		}},
		{"badbids", 200, func(t *testing.T, r reply) {
			br := decodeResponse(t, r)
			if br.ID != "req-9" {
				t.Errorf("id %q", br.ID)
			}
			bids := allBids(br)
			var unknownImp, zero, noMarkup, noCrid, negative int
			for _, b := range bids {
				switch {
				case b.ImpID != "b1" && b.ImpID != "v1":
					unknownImp++
				case b.Price == 0:
					zero++
				case b.AdM == "" && b.NURL == "":
					noMarkup++
				case b.CrID == "":
					noCrid++
				case b.Price < 0:
					negative++
				default:
					t.Errorf("valid bid in badbids: %+v", b)
				}
			}
			if len(bids) != 5 || unknownImp != 1 || zero != 1 || noMarkup != 1 || noCrid != 1 || negative != 1 {
				t.Errorf("%d bids: unknown imp %d, price 0 %d, no markup %d, no crid %d, negative %d; want 5, one each",
					len(bids), unknownImp, zero, noMarkup, noCrid, negative)
			}
		}},
		{"slowbody", 200, func(t *testing.T, r reply) {
			if br := decodeResponse(t, r); br.ID != "req-9" || len(allBids(br)) != 2 {
				t.Errorf("id %q, %d bids", br.ID, len(allBids(br)))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			r := post(t, url+"?mode="+tt.mode, req)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d; body %q", r.status, tt.status, r.body)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestMockDSPModeFromConfig(t *testing.T) {
	_, url := startMock(t, MockDSPConfig{BidRate: 1, Price: 2, Mode: ModeError})
	if r := post(t, url, bidRequest("r", bannerImp)); r.status != 500 {
		t.Errorf("configured error mode: status %d", r.status)
	}
	if r := post(t, url+"?mode=normal", bidRequest("r", bannerImp)); r.status != 200 {
		t.Errorf("mode=normal over configured error: status %d", r.status)
	}
}

func TestMockDSPSlowBodyTrickles(t *testing.T) {
	_, url := startMock(t, MockDSPConfig{BidRate: 1, Price: 2, Mode: ModeSlowBody})
	var firstByte time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { firstByte = time.Now() }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
		"POST", url, strings.NewReader(bidRequest("s", bannerImp)))
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	trickle := time.Since(firstByte)
	// 10 pieces 100 ms apart: the body arrives >= 900 ms after the headers.
	if min := (slowBodyPieces - 1) * slowBodyPause * 8 / 10; trickle < min {
		t.Errorf("body took %v after the first byte, want at least %v", trickle, min)
	}
	if resp.StatusCode != 200 || !json.Valid(body) {
		t.Errorf("status %d body %q", resp.StatusCode, body)
	}
}

func TestMockDSPCloseMode(t *testing.T) {
	m, url := startMock(t, MockDSPConfig{BidRate: 1, Price: 2, Mode: ModeClose})
	resp, err := testClient.Post(url, "application/json", strings.NewReader(bidRequest("c", bannerImp)))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("close mode answered %d, want a connection error", resp.StatusCode)
	}
	if got := m.Requests(); got != 1 {
		t.Errorf("Requests() = %d, want 1", got)
	}
}

func TestMockDSPHangReleasesWhenClientGivesUp(t *testing.T) {
	m, url := startMock(t, MockDSPConfig{BidRate: 1, Price: 2})
	client := &http.Client{Timeout: 300 * time.Millisecond}
	start := time.Now()
	resp, err := client.Post(url+"?mode=hang", "application/json", strings.NewReader(bidRequest("h", bannerImp)))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("hang mode answered %d", resp.StatusCode)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("hang ended after %v, before the client's 300ms timeout", el)
	}
	// The client's disconnect releases the held request, well before MaxDelay.
	deadline := time.Now().Add(5 * time.Second)
	for m.Requests() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("hang not released 5s after the client left; Requests() = %d", m.Requests())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMockDSPCloseReleasesHang(t *testing.T) {
	m, err := NewMockDSP(MockDSPConfig{Mode: ModeHang})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- m.Serve(ln) }()
	got := make(chan error, 1)
	go func() {
		resp, err := testClient.Post("http://"+ln.Addr().String()+"/", "application/json",
			strings.NewReader(bidRequest("h", bannerImp)))
		if err == nil {
			resp.Body.Close()
		}
		got <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); m.hanging.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the hang")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-got; err == nil {
		t.Errorf("hung request got an answer")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Close took %v with a hung request", el)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestMockDSPBidRate(t *testing.T) {
	_, url := startMock(t, MockDSPConfig{BidRate: 1, Price: 1, Seed: 7})
	three := bidRequest("r", bannerImp, videoImp, nativeImp)
	if r := post(t, url+"?bidRate=0", three); r.status != 204 || len(r.body) != 0 {
		t.Errorf("bidRate=0: status %d body %q, want 204 and none", r.status, r.body)
	}
	if r := post(t, url+"?bidRate=0&mode=wrongid", three); r.status != 204 {
		t.Errorf("bidRate=0 wrongid: status %d, want 204", r.status)
	}
	for range 5 {
		r := post(t, url, three)
		if n := len(allBids(decodeResponse(t, r))); n != 3 {
			t.Fatalf("bidRate=1: %d bids for 3 imps", n)
		}
	}
	imps := make([]string, 400)
	for i := range imps {
		imps[i] = `{"id":"i` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `","banner":{"w":1,"h":1}}`
	}
	br := decodeResponse(t, post(t, url+"?bidRate=0.5", bidRequest("many", imps...)))
	if n := len(allBids(br)); n < 140 || n > 260 {
		t.Errorf("bidRate=0.5: %d bids for 400 imps", n)
	}
}

func TestMockDSPBidsPerImp(t *testing.T) {
	_, url := startMock(t, MockDSPConfig{BidRate: 1, Price: 1, BidsPerImp: 3})
	req := bidRequest("m", bannerImp, `{"id":"floored","banner":{"w":1,"h":1},"bidfloor":0.995}`)
	f := func(query string, want map[string][]float64) {
		t.Helper()
		got := map[string][]float64{}
		ids := map[string]bool{}
		for _, b := range allBids(decodeResponse(t, post(t, url+query, req))) {
			got[b.ImpID] = append(got[b.ImpID], b.Price)
			if ids[b.ID] {
				t.Errorf("%q: bid id %q repeated", query, b.ID)
			}
			ids[b.ID] = true
		}
		for imp, prices := range want {
			if len(got[imp]) != len(prices) {
				t.Errorf("%q: imp %s got prices %v, want %v", query, imp, got[imp], prices)
				continue
			}
			for i, p := range prices {
				if d := got[imp][i] - p; d > 1e-9 || d < -1e-9 {
					t.Errorf("%q: imp %s got prices %v, want %v", query, imp, got[imp], prices)
					break
				}
			}
		}
	}
	f("", map[string][]float64{"b1": {1, 0.99, 0.98}, "floored": {1, 0.995, 0.995}})
	f("?bidsPerImp=1", map[string][]float64{"b1": {1}, "floored": {1}})
	f("?bidsPerImp=0", map[string][]float64{"b1": {1}, "floored": {1}})
	if n := len(allBids(decodeResponse(t, post(t, url+"?bidsPerImp=25", req)))); n != 50 {
		t.Errorf("bidsPerImp=25: %d bids for 2 imps, want 50", n)
	}
	for _, bad := range []string{"-1", "101", "x"} {
		if r := post(t, url+"?bidsPerImp="+bad, req); r.status != 400 || !strings.Contains(string(r.body), "bidsPerImp") {
			t.Errorf("bidsPerImp=%s: status %d %q, want 400 naming bidsPerImp", bad, r.status, r.body)
		}
	}
}

func TestMockDSPPrices(t *testing.T) {
	_, url := startMock(t, MockDSPConfig{BidRate: 1, Price: 1})
	req := bidRequest("p",
		`{"id":"low","banner":{"w":1,"h":1},"bidfloor":0.5}`,
		`{"id":"high","banner":{"w":1,"h":1},"bidfloor":2.75}`)
	want := map[string]float64{"low": 1, "high": 2.75}
	for _, b := range allBids(decodeResponse(t, post(t, url, req))) {
		if b.Price != want[b.ImpID] {
			t.Errorf("imp %s: price %v, want %v", b.ImpID, b.Price, want[b.ImpID])
		}
	}
	for range 20 {
		for _, b := range allBids(decodeResponse(t, post(t, url+"?price=3&priceJitter=0.5", req))) {
			if b.Price < 3 || b.Price >= 3.5 {
				t.Errorf("imp %s: price %v outside [3, 3.5)", b.ImpID, b.Price)
			}
		}
	}
	// Price 0 still bids a valid price: the floor, or the 0.01 minimum.
	for _, b := range allBids(decodeResponse(t, post(t, url+"?price=0", req+""))) {
		if b.Price <= 0 {
			t.Errorf("price=0: bid priced %v", b.Price)
		}
	}
}

func TestMockDSPLatency(t *testing.T) {
	_, url := startMock(t, MockDSPConfig{BidRate: 1, Price: 1, Latency: 150 * time.Millisecond})
	req := bidRequest("l", bannerImp)
	for _, tt := range []struct {
		query string
		least time.Duration
	}{
		{"", 150 * time.Millisecond},
		{"?latency=250ms", 250 * time.Millisecond},
		{"?latency=50ms&jitter=100ms", 50 * time.Millisecond},
		{"?latency=200ms&mode=nobid", 200 * time.Millisecond},
		{"?latency=200ms&mode=error", 200 * time.Millisecond},
	} {
		start := time.Now()
		post(t, url+tt.query, req)
		if el := time.Since(start); el < tt.least {
			t.Errorf("%q answered after %v, want at least %v", tt.query, el, tt.least)
		}
	}
}

func TestMockDSPBadRequests(t *testing.T) {
	m, url := startMock(t, MockDSPConfig{BidRate: 1, Price: 1})
	good := bidRequest("g", bannerImp)
	tests := []struct{ name, query, body, inMsg string }{
		{"bad JSON", "", `{"id":`, "JSON"},
		{"wrong type", "", `{"id":"x","imp":{"id":1}}`, "JSON"},
		{"no id", "", `{"imp":[]}`, "no id"},
		{"empty body", "", ``, "JSON"},
		{"bad latency", "?latency=fast", good, "latency"},
		{"negative latency", "?latency=-5ms", good, "latency"},
		{"bad jitter", "?jitter=1", good, "jitter"},
		{"bidRate above 1", "?bidRate=1.5", good, "bidRate"},
		{"bidRate NaN", "?bidRate=NaN", good, "bidRate"},
		{"negative price", "?price=-1", good, "price"},
		{"infinite price", "?price=Inf", good, "price"},
		{"bad priceJitter", "?priceJitter=x", good, "priceJitter"},
		{"unknown mode", "?mode=explode", good, "mode"},
		{"bad JSON in fault mode", "?mode=garbage", `nope`, "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, url+tt.query, tt.body)
			if r.status != 400 || !strings.Contains(string(r.body), tt.inMsg) {
				t.Errorf("status %d body %q, want 400 mentioning %q", r.status, r.body, tt.inMsg)
			}
		})
	}
	resp, err := testClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET: status %d, want 405", resp.StatusCode)
	}
	if got, want := m.Requests(), int64(len(tests)+1); got != want {
		t.Errorf("Requests() = %d, want %d", got, want)
	}
	// Unknown query keys are tags, not errors; repeated queries use the cache.
	for range 3 {
		if r := post(t, url+"?dsp=a&bidRate=1", good); r.status != 200 {
			t.Errorf("tagged URL: status %d %q", r.status, r.body)
		}
	}
}

func TestMockDSPEscapesAndGzip(t *testing.T) {
	_, url := startMock(t, MockDSPConfig{BidRate: 1, Price: 1})
	id := "q\"uo\\te\n\x01\u2028é"
	idJSON, _ := json.Marshal(id)
	req := `{"id":` + string(idJSON) + `,"imp":[{"id":` + string(idJSON) + `,"banner":{"w":1,"h":2}}]}`
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte(req))
	zw.Close()
	hr, _ := http.NewRequest("POST", url, &zipped)
	hr.Header.Set("Content-Encoding", "gzip")
	resp, err := testClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	br := decodeResponse(t, reply{resp.StatusCode, resp.Header, body})
	if br.ID != id || len(br.SeatBid) != 1 || br.SeatBid[0].Bid[0].ImpID != id {
		t.Errorf("ids not echoed intact: %s", body)
	}
}

func TestMockDSPSeedReproducible(t *testing.T) {
	cfg := MockDSPConfig{BidRate: 0.5, Price: 1, PriceJitter: 1, Seed: 42}
	imps := []string{bannerImp, videoImp, nativeImp, audioImp, bannerFormatImp}
	run := func() []string {
		_, url := startMock(t, cfg)
		var out []string
		for range 10 {
			out = append(out, string(post(t, url, bidRequest("s", imps...)).body))
		}
		return out
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("answer %d differs between runs with the same seed:\n%s\n%s", i, a[i], b[i])
		}
	}
}

func TestMockDSPConcurrent(t *testing.T) {
	m, url := startMock(t, MockDSPConfig{BidRate: 0.7, Price: 1.5, PriceJitter: 0.5, Jitter: time.Millisecond})
	var wg sync.WaitGroup
	const workers, each = 32, 25
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			modes := []string{"", "?mode=nobid", "?mode=badbids", "?bidRate=1", "?mode=wrongid"}
			for i := range each {
				resp, err := testClient.Post(url+modes[(w+i)%len(modes)], "application/json",
					strings.NewReader(bidRequest("c", bannerImp, videoImp)))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 204 {
					errs <- errors.New(resp.Status)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := m.Requests(); got != workers*each {
		t.Errorf("Requests() = %d, want %d", got, workers*each)
	}
}

func TestMockDSPServeAfterClose(t *testing.T) {
	m, err := NewMockDSP(MockDSPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Serve(ln); !errors.Is(err, ErrMockDSPClosed) {
		t.Errorf("Serve after Close = %v, want ErrMockDSPClosed", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Errorf("Serve after Close left the listener open")
	}
}

func BenchmarkMockDSP(b *testing.B) {
	_, url := startMock(b, MockDSPConfig{BidRate: 0.7, Price: 1.5})
	body := []byte(bidRequest("bench", bannerImp, videoImp))
	client := &fasthttp.Client{MaxConnsPerHost: 512}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(url)
		req.Header.SetMethod("POST")
		req.SetBody(body)
		for pb.Next() {
			if err := client.Do(req, resp); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
