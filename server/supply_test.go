package server

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/openrtb"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// startSupplyPublic runs the public server for a config document on a
// loopback listener at addr, with its metrics on reg and its log to logw,
// and returns its base URL, http://host:port.
func startSupplyPublic(t *testing.T, addr, yaml string, reg prometheus.Registerer, logw io.Writer) string {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test")
	if err != nil {
		t.Fatal(err)
	}
	if logw == nil {
		logw = io.Discard
	}
	p := NewPublic(cfg, auction.FromConfig(cfg, nil, nil), NewMetrics(reg), slog.New(slog.NewJSONHandler(logw, nil)), Options{})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	t.Cleanup(func() { p.Shutdown(5 * time.Second) })
	return "http://" + ln.Addr().String()
}

const supplyHouse = `
demand:
  - {name: house, type: house, line_items: [{id: b, cpm: 0.5, adm: "<b/>"}]}
`

var supplyBanner = []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)

// A supply partner is named by the path (canonical) or by ?ssp=; a
// missing, unknown or conflicting name gets 403 with the JSON error.
func TestSupplyNamedByPath(t *testing.T) {
	base := startSupplyPublic(t, "127.0.0.1:0", `
supply:
  - {name: ssp-a, token: s3cret}
  - {name: ssp-b}
  - {name: ssp-off, disabled: true}
`+supplyHouse, nil, nil)
	bearer := map[string]string{"Authorization": "Bearer s3cret"}
	f := func(path string, header map[string]string, want int, wantErr string) {
		t.Helper()
		a := post(t, base+path, supplyBanner, header)
		if a.status != want {
			t.Errorf("%s: status %d, want %d (%s)", path, a.status, want, a.body)
			return
		}
		if wantErr != "" {
			if msg := errorOf(t, a); !strings.Contains(msg, wantErr) {
				t.Errorf("%s: error %q, want it to contain %q", path, msg, wantErr)
			}
		}
	}
	f("/openrtb2/auction/ssp-b", nil, 200, "")
	f("/openrtb2/auction/ssp-a", bearer, 200, "")
	f("/openrtb2/auction/ssp-a", nil, 401, "Bearer")
	f("/openrtb2/auction?ssp=ssp-b", nil, 200, "")
	f("/openrtb2/auction/ssp-b?ssp=ssp-b", nil, 200, "")
	f("/openrtb2/auction/ssp-b?ssp=ssp-a", bearer, 403, `"ssp-a"`)
	f("/openrtb2/auction/nobody", nil, 403, `unknown supply partner "nobody"`)
	f("/openrtb2/auction/ssp-off", nil, 403, "disabled")
	f("/openrtb2/auction/", nil, 403, "/openrtb2/auction/NAME")
	f("/openrtb2/auction", nil, 403, "/openrtb2/auction/NAME")
	f("/openrtb2/auction/ssp-b/extra", nil, 403, "unknown supply partner")
}

// allow_ips admits the partner's connections from its prefixes only, by
// the TCP peer address, IPv4 and IPv6; with a token both must hold.
func TestSupplyAllowIPs(t *testing.T) {
	base := startSupplyPublic(t, "127.0.0.1:0", `
supply:
  - {name: local, allow_ips: ["10.0.0.0/8", "127.0.0.0/8"]}
  - {name: elsewhere, allow_ips: ["192.0.2.0/24", "2001:db8::/32"]}
  - {name: both, token: s3cret, allow_ips: ["127.0.0.1"]}
`+supplyHouse, nil, nil)
	f := func(name string, header map[string]string, want int) {
		t.Helper()
		a := post(t, base+"/openrtb2/auction/"+name, supplyBanner, header)
		if a.status != want {
			t.Errorf("%s: status %d, want %d (%s)", name, a.status, want, a.body)
		}
		if want == 403 {
			if msg := errorOf(t, a); !strings.Contains(msg, "127.0.0.1") {
				t.Errorf("%s: error %q, want it to name the peer address", name, msg)
			}
		}
	}
	// A spoofed header changes nothing: the peer address decides.
	f("local", map[string]string{"X-Forwarded-For": "192.0.2.9"}, 200)
	f("elsewhere", map[string]string{"X-Forwarded-For": "192.0.2.9"}, 403)
	f("both", map[string]string{"Authorization": "Bearer s3cret"}, 200)
	f("both", nil, 401)

	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	ln.Close()
	base6 := startSupplyPublic(t, "[::1]:0", `
supply:
  - {name: v6, allow_ips: ["::1/128"]}
  - {name: v4only, allow_ips: ["127.0.0.0/8"]}
`+supplyHouse, nil, nil)
	if a := post(t, base6+"/openrtb2/auction/v6", supplyBanner, nil); a.status != 200 {
		t.Errorf("v6 from ::1: status %d, want 200 (%s)", a.status, a.body)
	}
	if a := post(t, base6+"/openrtb2/auction/v4only", supplyBanner, nil); a.status != 403 {
		t.Errorf("v4only from ::1: status %d, want 403 (%s)", a.status, a.body)
	}
}

// Past its rate_limit a partner's requests are answered 204 at once and
// counted; another partner is not affected.
func TestSupplyRateLimit(t *testing.T) {
	reg := prometheus.NewRegistry()
	// 0.1 a second holds one request and refills it in 10 s, far longer
	// than the test's requests take on a busy machine.
	base := startSupplyPublic(t, "127.0.0.1:0", `
supply:
  - {name: slow, rate_limit: 0.1}
  - {name: free}
`+supplyHouse, reg, nil)
	f := func(name string, want int) {
		t.Helper()
		a := post(t, base+"/openrtb2/auction/"+name, supplyBanner, nil)
		if a.status != want {
			t.Errorf("%s: status %d, want %d (%s)", name, a.status, want, a.body)
		}
		if want == 204 && len(a.body) != 0 {
			t.Errorf("%s: a rate-limited answer has body %q, want none", name, a.body)
		}
	}
	f("slow", 200)
	f("slow", 204)
	f("slow", 204)
	f("free", 200)
	f("free", 200)
	if got := counterValue(t, reg, "adx_http_shed_total", "reason", "ssp_rate"); got != 2 {
		t.Errorf("adx_http_shed_total{reason=ssp_rate} = %v, want 2", got)
	}
	if got := counterValue(t, reg, "adx_partner_rate_limited_total", "ssp", "slow"); got != 2 {
		t.Errorf("adx_partner_rate_limited_total{ssp=slow} = %v, want 2", got)
	}
	if got := counterValue(t, reg, "adx_partner_rate_limited_total", "ssp", "free"); got != 0 {
		t.Errorf("adx_partner_rate_limited_total{ssp=free} = %v, want 0", got)
	}
}

// counterValue reads the series of a registered counter with one label.
func counterValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}

func TestTokenBucket(t *testing.T) {
	start := time.Unix(1e9, 0)
	b := newTokenBucket(10)
	for i := range 10 {
		if !b.take(start) {
			t.Fatalf("take %d of a full bucket of 10 failed", i)
		}
	}
	if b.take(start) {
		t.Fatal("an empty bucket gave a token")
	}
	if b.take(start.Add(50 * time.Millisecond)) {
		t.Fatal("half a token's time gave a token")
	}
	if !b.take(start.Add(100 * time.Millisecond)) {
		t.Fatal("a token's time gave none")
	}
	// An earlier time (requests race) neither refills nor breaks it.
	if b.take(start) {
		t.Fatal("an earlier time gave a token")
	}
	if n := countTakes(b, start.Add(time.Hour)); n != 10 {
		t.Fatalf("after an hour the bucket gave %d tokens, want its burst of 10", n)
	}
}

func countTakes(b *tokenBucket, now time.Time) int {
	n := 0
	for b.take(now) {
		n++
	}
	return n
}

// What a demand partner receives from a configured supply partner: test=1,
// floors raised to floor_min where they are in the exchange currency, tmax
// within tmax_cap, and the exchange's node in the supply chain. The
// sampled log line names the supply partner.
func TestSupplyPolicyReachesDemand(t *testing.T) {
	got := make(chan []byte, 1)
	dsp := startRecordingDSP(t, got)
	var logs syncBuffer
	base := startSupplyPublic(t, "127.0.0.1:0", `
log: {sample_rate: 1}
exchange: {domain: adx.example}
supply:
  - name: ssp-a
    tmax_cap: 100ms
    floor_min: 0.5
    test: true
    seller_id: "1001"
    seller_type: PUBLISHER
    seller_name: Publisher A
    seller_domain: pub-a.example
demand: [{name: dsp, type: openrtb, endpoint: "`+dsp+`"}]
`, nil, &logs)
	a := post(t, base+"/openrtb2/auction/ssp-a", []byte(`{"id":"r-1","tmax":1000,"imp":[
		{"id":"none","banner":{"w":300,"h":250}},
		{"id":"low","bidfloor":0.1,"banner":{"w":300,"h":250}},
		{"id":"lowusd","bidfloor":0.1,"bidfloorcur":"USD","banner":{"w":300,"h":250}},
		{"id":"high","bidfloor":2,"banner":{"w":300,"h":250}},
		{"id":"eur","bidfloor":0.1,"bidfloorcur":"EUR","banner":{"w":300,"h":250}}]}`), nil)
	if a.status != 204 {
		t.Fatalf("status %d, want 204 from a DSP that does not bid (%s)", a.status, a.body)
	}
	var body []byte
	select {
	case body = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the DSP was never called")
	}
	var sent openrtb2.BidRequest
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Test != 1 {
		t.Errorf("DSP saw test %d, want 1", sent.Test)
	}
	if sent.TMax <= 0 || sent.TMax > 100 {
		t.Errorf("DSP saw tmax %d, want the time left within tmax_cap 100ms", sent.TMax)
	}
	floors := map[string]string{}
	for _, imp := range sent.Imp {
		floors[imp.ID] = strings.TrimSpace(strings.Join([]string{jsonNumber(imp.BidFloor), imp.BidFloorCur}, " "))
	}
	want := map[string]string{"none": "0.5 USD", "low": "0.5", "lowusd": "0.5 USD", "high": "2", "eur": "0.1 EUR"}
	for id, w := range want {
		if floors[id] != w {
			t.Errorf("imp %s: DSP saw floor %q, want %q", id, floors[id], w)
		}
	}
	if sent.Source == nil || sent.Source.SChain == nil || len(sent.Source.SChain.Nodes) != 1 {
		t.Fatalf("DSP saw source %s, want a chain of the exchange's node", body)
	}
	n := sent.Source.SChain.Nodes[0]
	if n.ASI != "adx.example" || n.SID != "1001" || n.RID != "r-1" || n.HP == nil || *n.HP != 1 || sent.Source.SChain.Complete != 1 {
		t.Errorf("DSP saw chain %+v, node %+v", sent.Source.SChain, n)
	}
	found := false
	for _, l := range logs.lines(t) {
		if l["msg"] == "auction" {
			found = true
			if l["ssp"] != "ssp-a" {
				t.Errorf("auction log line %v has ssp %v, want ssp-a", l, l["ssp"])
			}
		}
	}
	if !found {
		t.Error("no sampled auction log line at log.sample_rate 1")
	}
}

func jsonNumber(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// A 2.5-style chain in source.ext.schain that is malformed gets a 400
// naming the field.
func TestMalformedExtSChainGets400(t *testing.T) {
	base := startSupplyPublic(t, "127.0.0.1:0", `
exchange: {domain: adx.example}
supply: [{name: s, seller_id: "9", seller_type: BOTH, is_confidential: true}]
`+supplyHouse, nil, nil)
	f := func(source, wantErr string) {
		t.Helper()
		a := post(t, base+"/openrtb2/auction/s", []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}],"source":`+source+`}`), nil)
		if a.status != 400 {
			t.Errorf("%s: status %d, want 400 (%s)", source, a.status, a.body)
			return
		}
		if msg := errorOf(t, a); msg != wantErr {
			t.Errorf("%s: error %q, want %q", source, msg, wantErr)
		}
	}
	f(`{"ext":{"schain":7}}`, "source.ext.schain is not a SupplyChain object")
	f(`{"ext":{"schain":{"complete":1,"ver":"1.0","nodes":[{"asi":"a.example"}]}}}`, "source.ext.schain.nodes[0].sid is required")
	f(`{"ext":{"schain":{"complete":2,"ver":"1.0","nodes":[]}}}`, "source.ext.schain.complete must be 0 or 1")
	if a := post(t, base+"/openrtb2/auction/s", []byte(`{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}],"source":{"ext":{"x":"schain"}}}`), nil); a.status != 200 {
		t.Errorf("an ext holding the word schain as a value: status %d, want 200 (%s)", a.status, a.body)
	}
}

// TestSChainGolden: each testdata/schain/NAME.json request, decoded as
// the server decodes it, gets the exchange's node; its source must equal
// NAME.golden. go test -run TestSChainGolden -update rewrites them.
func TestSChainGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/schain/*.json")
	if len(files) < 5 {
		t.Fatalf("found %d cases in testdata/schain, want the absent, present, incomplete and ext forms", len(files))
	}
	for _, in := range files {
		t.Run(filepath.Base(in), func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var req openrtb2.BidRequest
			if err := openrtb.DecodeRequest(body, &req); err != nil {
				t.Fatal(err)
			}
			if err := extendSChain(&req, "adx.example", "seller-7"); err != nil {
				t.Fatal(err)
			}
			out, err := json.MarshalIndent(req.Source, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, '\n')
			golden := strings.TrimSuffix(in, ".json") + ".golden"
			if *updateGolden {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("source:\n%s\nwant (%s):\n%s", out, golden, want)
			}
		})
	}
}

// sellers.json is served from the config: contact fields, every enabled
// partner with a seller id, the confidential ones without name or domain;
// cacheable, revalidated with its ETag.
func TestSellersJSON(t *testing.T) {
	base := startSupplyPublic(t, "127.0.0.1:0", `
exchange: {domain: adx.example}
sellers:
  contact_email: adops@adx.example
  contact_address: 1 Exchange Street, Springfield
  identifiers: [{name: TAG-ID, value: abc123}]
supply:
  - {name: a, seller_id: "1001", seller_type: PUBLISHER, seller_name: Publisher A, seller_domain: pub-a.example}
  - {name: b, seller_id: "1002", seller_type: INTERMEDIARY, is_confidential: true}
  - {name: c}
  - {name: d, disabled: true, seller_id: "1004", seller_type: BOTH, seller_name: D, seller_domain: d.example}
`+supplyHouse, nil, nil)
	resp, err := client.Get(base + SellersPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d Content-Type %q, want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
		t.Errorf("Cache-Control %q, want a max-age", cc)
	}
	var got any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	var want any
	json.Unmarshal([]byte(`{"contact_email":"adops@adx.example","contact_address":"1 Exchange Street, Springfield","version":"1.0",
		"identifiers":[{"name":"TAG-ID","value":"abc123"}],
		"sellers":[{"seller_id":"1001","is_confidential":0,"seller_type":"PUBLISHER","name":"Publisher A","domain":"pub-a.example"},
		           {"seller_id":"1002","is_confidential":1,"seller_type":"INTERMEDIARY"}]}`), &want)
	if g, w := mustJSON(got), mustJSON(want); g != w {
		t.Errorf("sellers.json\n%s\nwant\n%s", g, w)
	}

	req, _ := http.NewRequest(http.MethodGet, base+SellersPath, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	again, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with ETag %q: status %d, want 304", resp.Header.Get("ETag"), again.StatusCode)
	}
	if a := post(t, base+SellersPath, nil, nil); a.status != 405 || a.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST sellers.json: status %d Allow %q, want 405 GET, HEAD", a.status, a.header.Get("Allow"))
	}

	// Without exchange.domain there is no sellers.json.
	plain := startSupplyPublic(t, "127.0.0.1:0", supplyHouse, nil, nil)
	r, err := client.Get(plain + SellersPath)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 404 {
		t.Errorf("sellers.json without exchange.domain: status %d, want 404", r.StatusCode)
	}
}

func mustJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}
