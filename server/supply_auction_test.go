package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/adx-exchange/adx/auction"
	"github.com/adx-exchange/adx/config"
)

// startSupplyAuction runs the public server for yaml with the auction's
// metrics on reg too, and returns its auction URL prefix,
// http://host:port/openrtb2/auction/.
func startSupplyAuction(t *testing.T, yaml string, reg *prometheus.Registry) string {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPublic(cfg, auction.FromConfig(cfg, nil, auction.NewMetrics(reg)), NewMetrics(reg), slog.New(slog.NewJSONHandler(io.Discard, nil)), Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	t.Cleanup(func() { p.Shutdown(5 * time.Second) })
	return "http://" + ln.Addr().String() + auctionPrefix
}

// seriesValue returns the counter name{labels} on reg; 0 when it has no
// such series.
func seriesValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// Each supply partner's auction type, take rate and demand lists shape
// its auctions, and the demand partners it leaves out are counted.
func TestSupplyAuctionSettings(t *testing.T) {
	dspA := startFakeDSP(t, dspConfig{Price: 3, Seat: "a"})
	dspB := startFakeDSP(t, dspConfig{Price: 2, Seat: "b"})
	reg := prometheus.NewRegistry()
	base := startSupplyAuction(t, `
auction: {take_rate: 0.1}
supply:
  - {name: open}
  - {name: only-b, demand: [dsp-b]}
  - {name: no-a, block_demand: [dsp-a], auction_type: 2, take_rate: 0.5}
  - {name: own-rate, take_rate: 0.5}
demand:
  - {name: dsp-a, type: openrtb, endpoint: "`+dspA+`"}
  - {name: dsp-b, type: openrtb, endpoint: "`+dspB+`", take_rate: 0.2}
  - {name: house, type: house, line_items: [{id: h, cpm: 0.5, adm: "<b/>"}]}
`, reg)
	f := func(ssp, want string) {
		t.Helper()
		a := post(t, base+ssp, []byte(`{"id":"r","tmax":2000,"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`), nil)
		if got := winners(decodeResponse(t, a))["1"]; got != want {
			t.Errorf("%s: winner %s, want %s", ssp, got, want)
		}
	}
	// First price, the exchange's take rate: 3 x 0.9.
	f("open", "a:2.7")
	// dsp-b alone is called (not house either): 2 x 0.8, its own rate.
	f("only-b", "b:1.6")
	// Second price without dsp-a: dsp-b nets 1.6 (its own rate), house
	// 0.25 (the SSP's 0.5): 0.25 + the increment 0.01.
	f("no-a", "b:0.26")
	// The SSP's 0.5 for dsp-a (1.5), dsp-b's own 0.2 (1.6): dsp-b wins.
	f("own-rate", "b:1.6")
	want := map[string]float64{"dsp-a": 2, "dsp-b": 0, "house": 1}
	for dsp, n := range want {
		labels := map[string]string{"demand": dsp, "reason": "supply_blocked"}
		if got := seriesValue(t, reg, "adx_demand_filtered_total", labels); got != n {
			t.Errorf("adx_demand_filtered_total{demand=%q,reason=supply_blocked} = %v, want %v", dsp, got, n)
		}
		labels = map[string]string{"demand": dsp, "outcome": "not_eligible"}
		if got := seriesValue(t, reg, "adx_demand_requests_total", labels); got != n {
			t.Errorf("adx_demand_requests_total{demand=%q,outcome=not_eligible} = %v, want %v", dsp, got, n)
		}
	}
	if got := seriesValue(t, reg, "adx_demand_requests_total", map[string]string{"demand": "dsp-a", "outcome": "bid"}); got != 2 {
		t.Errorf("dsp-a bid in %v auctions, want 2 (open and own-rate)", got)
	}
}

// debugTrace is the ext.debug of a debugging response.
type debugTrace struct {
	Debug *struct {
		Demand []debugDemand `json:"demand"`
	} `json:"debug"`
}

// A supply partner with debug on that asks with ext.debug: 1 gets each
// demand call traced in the response, with or without a winner; nobody
// else gets one.
func TestSupplyDebugTrace(t *testing.T) {
	dsp := startFakeDSP(t, dspConfig{Price: 3, Seat: "a"})
	base := startSupplyAuction(t, `
supply:
  - {name: dbg, debug: true}
  - {name: dbg-none, debug: true, demand: [quiet]}
  - {name: plain}
demand:
  - {name: dsp-a, type: openrtb, endpoint: "`+dsp+`"}
  - {name: quiet, type: openrtb, endpoint: "`+dsp+`?fault=nobid"}
  - {name: house, type: house, line_items: [{id: h, cpm: 0.5, adm: "<b/>"}]}
`, prometheus.NewRegistry())
	const asks = `{"id":"r","tmax":2000,"ext":{"debug": 1},"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`
	trace := func(a answer) map[string]debugDemand {
		t.Helper()
		var ext debugTrace
		if err := json.Unmarshal(decodeResponse(t, a).Ext, &ext); err != nil || ext.Debug == nil {
			t.Fatalf("response %s: no ext.debug (%v)", a.body, err)
		}
		m := map[string]debugDemand{}
		for _, d := range ext.Debug.Demand {
			m[d.Name] = d
		}
		return m
	}

	tr := trace(post(t, base+"dbg", []byte(asks), nil))
	a := tr["dsp-a"]
	if a.Outcome != "bid" || a.Status != 200 || a.Bids != 1 || a.LatencyMS <= 0 ||
		!strings.Contains(a.Request, `"tmax":`) || !strings.Contains(a.Request, `"id":"r"`) || a.RequestBytes != len(a.Request) ||
		!strings.Contains(a.Answer, `"seatbid"`) || a.AnswerBytes != len(a.Answer) {
		t.Errorf("dsp-a's trace %+v: want its bid, status 200, the request sent and the answer", a)
	}
	if h := tr["house"]; h.Outcome != "bid" || h.Request != "" || h.Status != 0 {
		t.Errorf("house's trace %+v: want its bid and no HTTP call", h)
	}
	if q := tr["quiet"]; q.Outcome != "nobid" || q.Status != 204 {
		t.Errorf("quiet's trace %+v: want a no-bid with status 204", q)
	}

	// No winner: 200 with the trace and no seatbid rather than 204.
	none := post(t, base+"dbg-none", []byte(asks), nil)
	tr = trace(none)
	if resp := decodeResponse(t, none); len(resp.SeatBid) != 0 || resp.ID != "r" {
		t.Errorf("no-winner debug response %s: want id r and no seatbid", none.body)
	}
	if q := tr["quiet"]; q.Outcome != "nobid" || q.Status != 204 {
		t.Errorf("quiet's trace %+v: want a no-bid with status 204", q)
	}
	if d := tr["dsp-a"]; d.Outcome != "not_eligible" || !strings.Contains(d.Error, "supply_blocked") {
		t.Errorf("dsp-a's trace %+v: want not eligible, supply_blocked", d)
	}

	f := func(ssp, body string) {
		t.Helper()
		a := post(t, base+ssp, []byte(body), nil)
		if resp := decodeResponse(t, a); resp.Ext != nil {
			t.Errorf("%s %s: response ext %s, want none", ssp, body, resp.Ext)
		}
	}
	f("plain", asks) // debug off for the SSP
	f("dbg", `{"id":"r","tmax":2000,"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)
	f("dbg", `{"id":"r","tmax":2000,"ext":{"debug":0},"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)
}

func TestWantsDebug(t *testing.T) {
	f := func(ext string, want bool) {
		t.Helper()
		if got := wantsDebug([]byte(ext)); got != want {
			t.Errorf("wantsDebug(%s) = %v, want %v", ext, got, want)
		}
	}
	f(``, false)
	f(`{}`, false)
	f(`{"debug":1}`, true)
	f(`{"debug" : 1 }`, true)
	f(`{"a":{"x":"debug"},"debug":1}`, true)
	f(`{"debug":0}`, false)
	f(`{"debug":10}`, false)
	f(`{"debug":1.5}`, false)
	f(`{"debug":"1"}`, false)
	f(`{"debug":true}`, false)
	f(`{"nodebug":1}`, false)
	f(`{"debug"`, false)
	f(`{"debug":`, false)
}

// A request's test=1 reaches demand as the SSP sent it, for a partner
// without supply[].test too.
func TestTestFlagPassedToDemand(t *testing.T) {
	got := make(chan []byte, 1)
	dsp := startRecordingDSP(t, got)
	base := startSupplyAuction(t, `
supply: [{name: ssp}]
demand: [{name: dsp, type: openrtb, endpoint: "`+dsp+`"}]
`, prometheus.NewRegistry())
	a := post(t, base+"ssp", []byte(`{"id":"r","test":1,"tmax":1000,"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`), nil)
	if a.status != 204 {
		t.Fatalf("status %d, want 204 from a DSP that does not bid (%s)", a.status, a.body)
	}
	select {
	case body := <-got:
		var sent openrtb2.BidRequest
		if err := json.Unmarshal(body, &sent); err != nil {
			t.Fatal(err)
		}
		if sent.Test != 1 {
			t.Errorf("DSP saw test %d in %s, want 1", sent.Test, body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the DSP was never called")
	}
}
