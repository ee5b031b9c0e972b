package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/internal/capture"
	"github.com/adx-exchange/adx/internal/memguard"
)

// startPublic runs the public server for a config document on loopback and
// returns the auction URL.
func startPublic(t testing.TB, yaml string) string {
	t.Helper()
	return startPublicWith(t, yaml, Options{})
}

// startPublicWith is startPublic with the server's optional parts.
func startPublicWith(t testing.TB, yaml string, opts Options) string {
	t.Helper()
	var cfg *config.Config
	var err error
	if yaml == "" {
		cfg, err = config.Load("")
	} else {
		cfg, err = config.Parse([]byte(yaml), "test")
	}
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	p := NewPublic(cfg, auction.FromConfig(cfg, nil, nil), NewMetrics(nil), log, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	t.Cleanup(func() { p.Shutdown(5 * time.Second) })
	return "http://" + ln.Addr().String() + AuctionPath
}

var client = &http.Client{Timeout: 10 * time.Second}

type answer struct {
	status int
	body   []byte
	header http.Header
}

func post(t *testing.T, url string, body []byte, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, b, resp.Header}
}

func errorOf(t *testing.T, a answer) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(a.body, &e); err != nil || e.Error == "" {
		t.Fatalf("status %d: body %q is not the JSON error shape", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	return e.Error
}

func decodeResponse(t *testing.T, a answer) *openrtb2.BidResponse {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", a.status, a.body)
	}
	var resp openrtb2.BidResponse
	if err := json.Unmarshal(a.body, &resp); err != nil {
		t.Fatalf("response %s: %v", a.body, err)
	}
	return &resp
}

// winners maps imp id to "seat:price".
func winners(resp *openrtb2.BidResponse) map[string]string {
	m := map[string]string{}
	for _, sb := range resp.SeatBid {
		for _, b := range sb.Bid {
			m[b.ImpID] = fmt.Sprintf("%s:%g", sb.Seat, b.Price)
		}
	}
	return m
}

const twoImps = `{"id":"req-1","tmax":300,"imp":[
 {"id":"1","banner":{"w":300,"h":250}},
 {"id":"2","video":{"mimes":["video/mp4"],"w":640,"h":360}}],
 "site":{"page":"https://news.example/a"},"device":{"ua":"Mozilla/5.0","ip":"192.0.2.1"}}`

func TestAuctionWithHouseAndDSP(t *testing.T) {
	dsp := startFakeDSP(t, dspConfig{Price: 3})
	url := startPublic(t, `
demand:
  - name: dsp-a
    type: openrtb
    endpoint: "`+dsp+`/bid"
    timeout: 200ms
    media_types: [banner]
  - name: house
    type: house
    line_items:
      - {id: v, cpm: 2.0, formats: [video], adm: "<VAST/>"}
      - {id: b, cpm: 0.5, sizes: ["300x250"], adm: "<b/>"}
`)
	resp := decodeResponse(t, post(t, url, []byte(twoImps), nil))
	if resp.ID != "req-1" || resp.Cur != "USD" {
		t.Errorf("response id %q cur %q, want req-1 USD", resp.ID, resp.Cur)
	}
	got := winners(resp)
	// The DSP's own seat is kept; house demand, which has none, is named.
	want := map[string]string{"1": "fake:3", "2": "house:2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("winners %v, want %v", got, want)
	}
}

func TestEmbeddedDefaultAnswersExamples(t *testing.T) {
	url := startPublic(t, "")
	files, _ := filepath.Glob("../examples/*.json")
	if len(files) == 0 {
		t.Fatal("no examples/*.json")
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		resp := decodeResponse(t, post(t, url, body, nil))
		if len(resp.SeatBid) == 0 || resp.SeatBid[0].Seat != "house" {
			t.Errorf("%s: want a house bid, got %+v", f, resp)
		}
	}
}

func TestSlowDSPCostsNoMoreThanTmax(t *testing.T) {
	slow := startFakeDSP(t, dspConfig{Price: 9, Latency: 3 * time.Second})
	url := startPublic(t, `
auction: {safety_margin: 10ms}
demand:
  - {name: slow, type: openrtb, endpoint: "`+slow+`/bid"}
  - name: house
    type: house
    line_items: [{id: b, cpm: 0.5, adm: "<b/>"}]
`)
	const tmax = 120 * time.Millisecond
	body := []byte(`{"id":"r","tmax":120,"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)
	var took []time.Duration
	for range 5 {
		start := time.Now()
		resp := decodeResponse(t, post(t, url, body, nil))
		took = append(took, time.Since(start))
		if got := winners(resp)["1"]; got != "house:0.5" {
			t.Fatalf("winner %q, want the house bid: the slow DSP must not win", got)
		}
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	if median := took[2]; median > tmax+15*time.Millisecond {
		t.Errorf("median answer took %v with tmax %v; want at most tmax plus a few ms (all: %v)", median, tmax, took)
	}
	if took[0] < tmax-10*time.Millisecond-5*time.Millisecond {
		t.Errorf("fastest answer took %v: the deadline (tmax - margin) was not waited for", took[0])
	}
}

func TestFaultyDSPsNeverFailTheAuction(t *testing.T) {
	dsp := startFakeDSP(t, dspConfig{Price: 5})
	yaml := "auction: {default_tmax: 150ms}\ndemand:\n"
	for _, fault := range dspFaults {
		yaml += fmt.Sprintf("  - {name: %s, type: openrtb, endpoint: \"%s/bid?fault=%s\"}\n", fault, dsp, fault)
	}
	yaml += "  - {name: dead, type: openrtb, endpoint: \"http://127.0.0.1:1/bid\"}\n"
	yaml += "  - {name: house, type: house, line_items: [{id: b, cpm: 0.5, adm: \"<b/>\"}]}\n"
	url := startPublic(t, yaml)
	for range 3 {
		resp := decodeResponse(t, post(t, url, []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}]}`), nil))
		if got := winners(resp)["1"]; got != "house:0.5" {
			t.Fatalf("winner %q, want house:0.5: no faulty DSP may win", got)
		}
	}
}

func TestBadRequestsGetJSONErrors(t *testing.T) {
	url := startPublic(t, "")
	f := func(name string, body []byte, header map[string]string, wantStatus int, wantErr string) {
		t.Helper()
		a := post(t, url, body, header)
		if a.status != wantStatus {
			t.Errorf("%s: status %d, want %d (body %s)", name, a.status, wantStatus, a.body)
			return
		}
		if got := errorOf(t, a); !strings.Contains(got, wantErr) {
			t.Errorf("%s: error %q, want it to contain %q", name, got, wantErr)
		}
	}
	f("duplicate imp id", []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}},{"id":"1","banner":{"w":1,"h":1}}]}`), nil, 400, "imp[1].id is duplicated")
	f("no imp", []byte(`{"id":"r","imp":[]}`), nil, 400, "imp")
	f("no id", []byte(`{"imp":[{"id":"1","banner":{"w":1,"h":1}}]}`), nil, 400, "id")
	f("negative floor", []byte(`{"id":"r","imp":[{"id":"1","bidfloor":-1,"banner":{"w":1,"h":1}}]}`), nil, 400, "imp[0].bidfloor")
	f("site and app", []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],"site":{},"app":{}}`), nil, 400, "site")
	f("not json", []byte(`<xml/>`), nil, 400, "request")
	f("array", []byte(`[]`), nil, 400, "request")
	f("empty", nil, nil, 400, "request")
	f("wrong type", []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":"300","h":1}}]}`), nil, 400, "w")
	f("bad gzip", []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"}, 400, "gzip")
	f("unknown encoding", []byte("{}"), map[string]string{"Content-Encoding": "br"}, 415, "Content-Encoding")
}

func TestBodyLimitsMethodsAndGzip(t *testing.T) {
	url := startPublic(t, "http: {max_body_bytes: 4096}\ndemand: [{name: house, type: house, line_items: [{id: b, cpm: 0.5, adm: \"<b/>\"}]}]")
	valid := []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)

	big := []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}],"ext":{"pad":"` + strings.Repeat("x", 5000) + `"}}`)
	if a := post(t, url, big, nil); a.status != 413 {
		t.Errorf("oversized body: status %d, want 413", a.status)
	} else {
		errorOf(t, a)
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(valid)
	zw.Close()
	decodeResponse(t, post(t, url, gz.Bytes(), map[string]string{"Content-Encoding": "gzip"}))

	// A gzip bomb: 1 MiB of spaces after a valid object compresses to about
	// 1 KiB, under the 4 KiB limit, and inflates far past it.
	gz.Reset()
	zw = gzip.NewWriter(&gz)
	zw.Write(valid)
	zw.Write(bytes.Repeat([]byte(" "), 1<<20))
	zw.Close()
	if gz.Len() > 4096 {
		t.Fatalf("bomb is %d bytes compressed; it must pass the raw limit", gz.Len())
	}
	a := post(t, url, gz.Bytes(), map[string]string{"Content-Encoding": "gzip"})
	if a.status != 413 || !strings.Contains(errorOf(t, a), "after inflation") {
		t.Errorf("gzip bomb: status %d body %s, want 413 naming the inflated limit", a.status, a.body)
	}

	for _, method := range []string{"GET", "PUT", "DELETE"} {
		req, _ := http.NewRequest(method, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
			t.Errorf("%s: status %d Allow %q, want 405 and Allow: POST", method, resp.StatusCode, resp.Header.Get("Allow"))
		}
		errorOf(t, answer{resp.StatusCode, b, resp.Header})
	}

	for _, path := range []string{"/metrics", "/debug/pprof/", "/livez", "/"} {
		a := post(t, strings.TrimSuffix(url, AuctionPath)+path, valid, nil)
		if a.status != 404 {
			t.Errorf("public %s: status %d, want 404: admin endpoints never answer on the public port", path, a.status)
		}
	}
}

func TestTmaxDefaultAndCap(t *testing.T) {
	slow := startFakeDSP(t, dspConfig{Price: 9, Latency: 5 * time.Second})
	url := startPublic(t, `
auction: {default_tmax: 80ms, max_tmax: 150ms, safety_margin: 5ms}
demand:
  - {name: slow, type: openrtb, endpoint: "`+slow+`/bid"}
  - {name: house, type: house, line_items: [{id: b, cpm: 0.5, adm: "<b/>"}]}
`)
	f := func(name, tmax string, min, max time.Duration) {
		t.Helper()
		body := []byte(`{"id":"r",` + tmax + `"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)
		start := time.Now()
		decodeResponse(t, post(t, url, body, nil))
		if took := time.Since(start); took < min || took > max {
			t.Errorf("%s: took %v, want between %v and %v", name, took, min, max)
		}
	}
	f("absent tmax uses default_tmax", ``, 70*time.Millisecond, 400*time.Millisecond)
	f("tmax 0 uses default_tmax", `"tmax":0,`, 70*time.Millisecond, 400*time.Millisecond)
	f("tmax above max_tmax is capped", `"tmax":60000,`, 140*time.Millisecond, 600*time.Millisecond)
}

func TestSupplyPartners(t *testing.T) {
	url := startPublic(t, `
supply:
  - {name: ssp-a, token: s3cret}
  - {name: ssp-b}
  - {name: ssp-off, disabled: true}
demand:
  - {name: house, type: house, line_items: [{id: b, cpm: 0.5, adm: "<b/>"}]}
`)
	body := []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)
	f := func(query string, header map[string]string, want int) {
		t.Helper()
		if a := post(t, url+query, body, header); a.status != want {
			t.Errorf("%s %v: status %d, want %d (%s)", query, header, a.status, want, a.body)
		}
	}
	f("", nil, 403)
	f("?ssp=nobody", nil, 403)
	f("?ssp=ssp-off", nil, 403)
	f("?ssp=ssp-a", nil, 401)
	f("?ssp=ssp-a", map[string]string{"Authorization": "Bearer wrong"}, 401)
	f("?ssp=ssp-a", map[string]string{"Authorization": "Bearer s3cret"}, 200)
	f("?ssp=ssp-b", nil, 200)
}

// corpusNativePlaceholders are the valid bid requests of the corpus whose
// imp.native.request is documentation text standing in for a Native request
// ("...Native Spec request as an encoded string...", "assets":[ ... ]): a
// 400 naming the field is their right answer (openrtb/request_test.go).
var corpusNativePlaceholders = map[string]bool{
	"valid/bsm-openrtb/bidrequest-native.json":                        true,
	"valid/prebid-openrtb-2.5-spec-samples/bidrequest-native-ad.json": true,
}

// TestRealRequests posts every bid request of the OpenRTB corpus in
// testdata/openrtb (IAB spec, Prebid Server and openrtb library examples):
// valid ones are answered 200 or 204, invalid ones that follow from the
// OpenRTB object model or the Native request model get a 400 JSON error,
// and nothing gets a 5xx.
func TestRealRequests(t *testing.T) {
	data, err := os.ReadFile("../testdata/openrtb/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var manifest []struct {
		File  string `json:"file"`
		Kind  string `json:"kind"`
		Valid *bool  `json:"valid"`
		Scope string `json:"scope"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	url := startPublic(t, "")
	checked := 0
	for _, m := range manifest {
		body, err := os.ReadFile(filepath.Join("../testdata/openrtb", m.File))
		if os.IsNotExist(err) {
			continue // not copied: not a bid request
		}
		if err != nil {
			t.Fatal(err)
		}
		a := post(t, url, body, nil)
		checked++
		if a.status >= 500 {
			t.Errorf("%s: status %d: %s", m.File, a.status, a.body)
			continue
		}
		if m.Kind != "bidrequest" || m.Valid == nil {
			continue
		}
		switch {
		case corpusNativePlaceholders[m.File]:
			if a.status != 400 || !strings.HasPrefix(errorOf(t, a), "imp[0].native.request ") {
				t.Errorf("%s: placeholder Native request got %d: %s", m.File, a.status, a.body)
			}
		case *m.Valid && a.status != 200 && a.status != 204:
			t.Errorf("%s: valid request got %d: %s", m.File, a.status, a.body)
		case !*m.Valid && (m.Scope == "openrtb-generic" || m.Scope == "openrtb-native"):
			if a.status != 400 {
				t.Errorf("%s: invalid request got %d, want 400", m.File, a.status)
			} else {
				errorOf(t, a)
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d corpus files found; testdata/openrtb is incomplete", checked)
	}
}

// startGatedDSP runs a real HTTP DSP on loopback that reports each request
// on arrived as it comes in, and answers it with a bid on imp "1" of
// request "r" only once release is called (or the caller gives up).
func startGatedDSP(t *testing.T) (url string, arrived <-chan struct{}, release func()) {
	t.Helper()
	arrivals := make(chan struct{}, 16)
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		arrivals <- struct{}{}
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"r","seatbid":[{"seat":"gated","bid":[{"id":"b","impid":"1","price":2,"adm":"<div>ad</div>","crid":"c","w":300,"h":250}]}],"cur":"USD"}`)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(release) // runs first: Close waits for the handlers
	return srv.URL + "/bid", arrivals, release
}

// TestShedPastMaxInflight: with one auction running (held by the DSP) and
// max_inflight 1, a second request is answered shed_status at once: while
// the first is still held, and without reaching the DSP.
func TestShedPastMaxInflight(t *testing.T) {
	for _, status := range []int{204, 503} {
		dsp, arrived, release := startGatedDSP(t)
		url := startPublic(t, fmt.Sprintf(`
http: {max_inflight: 1, shed_status: %d}
auction: {max_tmax: 30s}
demand: [{name: gated, type: openrtb, endpoint: "%s"}]
`, status, dsp))
		body := []byte(`{"id":"r","tmax":30000,"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)
		first := make(chan answer, 1)
		go func() { first <- post(t, url, body, nil) }()
		select {
		case <-arrived: // the first auction is now waiting on the DSP
		case <-time.After(10 * time.Second):
			t.Fatal("the first auction never reached the DSP")
		}
		// The DSP still holds the first auction: the second must be
		// answered without it, and without reaching the DSP.
		second := make(chan answer, 1)
		go func() { second <- post(t, url, body, nil) }()
		var a answer
		select {
		case a = <-second:
		case <-arrived:
			t.Fatalf("shed_status %d: the second request reached the DSP: admitted past max_inflight 1", status)
		}
		if a.status != status {
			t.Errorf("shed_status %d: second request got %d, want %d", status, a.status, status)
		}
		if status == 503 {
			if msg := errorOf(t, a); !strings.Contains(msg, "overloaded") {
				t.Errorf("503 body %q, want it to say overloaded", msg)
			}
		}
		// An admitted auction calls the DSP before it answers, so its
		// arrival would be here by now (the first shows it would be seen).
		select {
		case <-arrived:
			t.Errorf("shed_status %d: the second request reached the DSP", status)
		default:
		}
		release()
		if got := <-first; got.status != 200 {
			t.Errorf("first request: status %d, want 200 (it was admitted)", got.status)
		}
	}
}

// TestShedNearMemoryLimit: while the memory guard reports pressure every
// auction is shed at once with shed_status; when pressure ends auctions run
// again. The pressure is real: a Go memory limit the live heap stands
// close to.
func TestShedNearMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(1 << 30)
	defer debug.SetMemoryLimit(old)
	runtime.GC()
	probe := memguard.New(memguard.Options{})
	probe.Sample()
	need, _ := probe.Need()
	// A ratio the process already needs more than: pressure from the first
	// sample on.
	guard := memguard.New(memguard.Options{Ratio: float64(need) / (1 << 30) / 2})
	guard.Sample()
	if !guard.Pressure() {
		t.Fatalf("no pressure at ratio %v with %d bytes needed", guard.Ratio(), need)
	}
	body := []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)
	for _, status := range []int{204, 503} {
		url := startPublicWith(t, fmt.Sprintf("http: {shed_status: %d}\n", status), Options{Memory: guard})
		a := post(t, url, body, nil)
		if a.status != status {
			t.Errorf("shed_status %d: got %d under memory pressure", status, a.status)
		}
		if status == 503 {
			if msg := errorOf(t, a); !strings.Contains(msg, "memory") {
				t.Errorf("503 body %q, want it to name memory", msg)
			}
		}
	}
	debug.SetMemoryLimit(math.MaxInt64) // no limit: pressure ends
	guard.Sample()
	url := startPublicWith(t, "", Options{Memory: guard})
	if a := post(t, url, body, nil); a.status != 200 {
		t.Errorf("after the pressure: status %d, want 200 (a house bid)", a.status)
	}
}

// TestInflightMemoryBudget: running auctions are charged (8 + 2 × remote
// DSPs) × their body plus 16 KiB against http.inflight_memory_ratio of the
// Go memory limit; requests that do not fit are shed at once, and one is
// always admitted.
func TestInflightMemoryBudget(t *testing.T) {
	old := debug.SetMemoryLimit(256 << 20)
	defer debug.SetMemoryLimit(old)
	guard := memguard.New(memguard.Options{}) // samples the limit, never pressure
	if guard.Limit() != 256<<20 {
		t.Fatalf("guard sees limit %d", guard.Limit())
	}
	slow := startFakeDSP(t, dspConfig{Price: 2, Latency: 300 * time.Millisecond})
	// Budget 0.005 × 256 MiB = 1.3 MB: two 53 KB requests (0.55 MB each)
	// fit.
	url := startPublicWith(t, fmt.Sprintf(`
http: {inflight_memory_ratio: 0.005, shed_status: 503}
auction: {max_imps: 120}
demand: [{name: slow, type: openrtb, endpoint: "%s/bid"}]
`, slow), Options{Memory: guard})
	var b strings.Builder
	b.WriteString(`{"id":"big","tmax":1000,"imp":[`)
	for i := range 120 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%d","banner":{"w":300,"h":250},"tagid":"%s"}`, i, strings.Repeat("t", 400))
	}
	b.WriteString(`]}`)
	body := []byte(b.String())
	answers := make(chan answer, 8)
	for range cap(answers) {
		go func() { answers <- post(t, url, body, nil) }()
	}
	var ok, shed int
	for range cap(answers) {
		switch a := <-answers; a.status {
		case 200:
			ok++
		case 503:
			shed++
			if msg := errorOf(t, a); !strings.Contains(msg, "memory") {
				t.Errorf("503 body %q, want it to name memory", msg)
			}
		default:
			t.Errorf("status %d: %s", a.status, a.body)
		}
	}
	if ok < 1 || ok > 3 || shed < 5 {
		t.Errorf("%d answered, %d shed of 8 concurrent 53 KB requests; want 2 (3 with timing) answered", ok, shed)
	}
}

func TestCaptureSamplesValidRequestsAsSent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "capture.jsonl")
	w, err := capture.Open(capture.Options{Path: path, Rate: 1})
	if err != nil {
		t.Fatal(err)
	}
	url := startPublicWith(t, "", Options{Capture: w})
	decodeResponse(t, post(t, url, []byte(`{"id":"c1","regs":{"coppa":1},"imp":[{"id":"1","banner":{"w":300,"h":250}}],"device":{"ip":"81.2.69.160"},"user":{"id":"u-1"}}`), nil))
	post(t, url, []byte(`{"id":"bad","imp":[]}`), nil) // invalid: not captured
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"id":"c1"`) {
		t.Fatalf("capture holds %q, want the one valid request", lines)
	}
	if strings.Contains(lines[0], "81.2.69.160") || strings.Contains(lines[0], "u-1") || !strings.Contains(lines[0], `"ip":"81.2.69.0"`) {
		t.Errorf("capture line %s: want the IP cut to /24 and the user id hashed", lines[0])
	}
}
