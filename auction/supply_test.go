package auction

import (
	"strings"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/config"
)

// A supply partner's demand lists keep a DSP and house demand from its
// auctions before their controls run: the excluded DSP spends no QPS
// token, and a DSP sharing its encoded request is still called.
func TestSupplyExcludesBeforeControls(t *testing.T) {
	capped := startFlakyDSP(t)
	other := startFlakyDSP(t)
	b := NewHTTPBidder(config.Demand{Name: "capped", Endpoint: capped.url, QPS: 1}, config.Defaults().DSPClient, "USD")
	clock := &fakeClock{}
	b.ctl.now = clock.now
	house := NewHouseBidder(config.Demand{Name: "house", Type: config.DemandHouse, LineItems: []config.LineItem{{ID: "h", CPM: 1, Adm: "<a/>"}}})
	m := NewMetrics(prometheus.NewRegistry())
	a := New([]Bidder{b, house, NewHTTPBidder(config.Demand{Name: "other", Endpoint: other.url}, config.Defaults().DSPClient, "USD")}, Rules{Currency: "USD"}, m)
	opts := a.SupplyOptions(&config.Supply{BlockDemand: []string{"capped", "house"}})
	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}
	for i := range 3 {
		res := a.RunWith(req, time.Now().Add(10*time.Second), &opts)
		for _, k := range []int{0, 1} {
			r := res.Bidders[k]
			if fe, ok := r.Err.(*FilteredError); r.Outcome != OutcomeNotEligible || !ok || fe.Reason != FilterSupply {
				t.Fatalf("auction %d: %s %v (%v), want not eligible for supply_blocked", i, r.Name, r.Outcome, r.Err)
			}
		}
		if r := res.Bidders[2]; r.Outcome != OutcomeNoBid {
			t.Fatalf("auction %d: other %v (%v), want called", i, r.Outcome, r.Err)
		}
	}
	// The positive control: without the SSP's lists the capped DSP has
	// its token and is called, and house bids.
	res := a.Run(req, time.Now().Add(10*time.Second))
	if res.Bidders[0].Outcome != OutcomeNoBid || res.Bidders[1].Outcome != OutcomeBid {
		t.Fatalf("without options: %v (%v), %v: want the capped DSP called and house bidding", res.Bidders[0].Outcome, res.Bidders[0].Err, res.Bidders[1].Outcome)
	}
	if got := capped.calls.Load(); got != 1 {
		t.Errorf("the capped DSP got %d calls, want 1", got)
	}
	if got := other.calls.Load(); got != 4 {
		t.Errorf("the other DSP got %d calls, want 4", got)
	}
	for name, want := range map[string]float64{"capped": 3, "house": 3, "other": 0} {
		if got := value(m.filtered.WithLabelValues(name, "supply_blocked")); got != want {
			t.Errorf("%s: supply_blocked counted %v, want %v", name, got, want)
		}
	}
	if got := value(m.filtered.WithLabelValues("capped", "qps")); got != 0 {
		t.Errorf("capped: qps counted %v, want 0", got)
	}
}

// SupplyOptions sets a bit for each bidder left out, past the first word
// too; a partner with no lists excludes none and allocates nothing.
func TestSupplyOptionsBits(t *testing.T) {
	var bidders []Bidder
	for i := range 70 {
		bidders = append(bidders, &staticBidder{name: "b" + string(rune('A'+i/26)) + string(rune('a'+i%26))})
	}
	a := New(bidders, Rules{Currency: "USD"}, nil)
	f := func(s config.Supply, excluded ...int) {
		t.Helper()
		o := a.SupplyOptions(&s)
		if len(excluded) == 0 && o.exclude != nil {
			t.Errorf("%+v: an exclusion set without exclusions", s)
		}
		for i := range bidders {
			if got, want := o.excludes(i), containsInt(excluded, i); got != want {
				t.Errorf("%+v: bidder %d excluded %v, want %v", s, i, got, want)
			}
		}
	}
	f(config.Supply{})
	f(config.Supply{BlockDemand: []string{"bAa", "bCr"}}, 0, 69)
	var all []int
	for i := range 70 {
		if i != 1 && i != 66 {
			all = append(all, i)
		}
	}
	f(config.Supply{Demand: []string{"bAb", "bCo"}}, all...)
	var none *RunOptions
	if none.excludes(3) {
		t.Error("nil options exclude a bidder")
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// A trace records what each DSP was sent (with its tmax, uncompressed
// even when sent gzip-compressed), its status and its answer, inflated,
// each cut to TraceBodyBytes; a DSP answering after the deadline has no
// status nor answer traced.
func TestTraceRecordsCalls(t *testing.T) {
	big := bidJSON("r", 3*TraceBodyBytes)
	gz := startCaptureDSP(t, func(ctx *fasthttp.RequestCtx, _ *openrtb2.BidRequest) {
		ctx.Response.Header.Set(fasthttp.HeaderContentEncoding, "gzip")
		ctx.SetBody(gzipBytes(t, big))
	})
	failing := startCaptureDSP(t, func(ctx *fasthttp.RequestCtx, _ *openrtb2.BidRequest) {
		ctx.Error("down for maintenance", fasthttp.StatusServiceUnavailable)
	})
	release := make(chan struct{})
	late := startCaptureDSP(t, func(ctx *fasthttp.RequestCtx, _ *openrtb2.BidRequest) {
		<-release
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	})
	defer close(release)
	client := config.Defaults().DSPClient
	a := New([]Bidder{
		NewHTTPBidder(config.Demand{Name: "gz", Endpoint: gz.url, Gzip: true}, client, "USD"),
		NewHTTPBidder(config.Demand{Name: "failing", Endpoint: failing.url}, client, "USD"),
		NewHTTPBidder(config.Demand{Name: "late", Endpoint: late.url}, client, "USD"),
	}, Rules{Currency: "USD"}, nil)
	o := a.SupplyOptions(&config.Supply{})
	o.Trace = &Trace{}
	// The deadline leaves the answering DSPs ample time on a loaded
	// machine; the late one answers only after the test.
	res := a.RunWith(bannerRequest(), time.Now().Add(2*time.Second), &o)
	if len(o.Trace.Calls) != 3 {
		t.Fatalf("%d calls traced, want 3", len(o.Trace.Calls))
	}
	c := o.Trace.Calls[0]
	if res.Bidders[0].Outcome != OutcomeBid || c.Status != 200 || c.AnswerBytes != len(big) || string(c.Answer) != string(big[:TraceBodyBytes]) {
		t.Errorf("gz: outcome %v (%v), status %d, answer %d of %d bytes: want the bid, 200 and the inflated answer cut to %d",
			res.Bidders[0].Outcome, res.Bidders[0].Err, c.Status, len(c.Answer), c.AnswerBytes, TraceBodyBytes)
	}
	if s := string(c.Request); !strings.HasPrefix(s, `{"tmax":`) || !strings.Contains(s, `"id":"r"`) || c.RequestBytes != len(s) {
		t.Errorf("gz: traced request %q (%d bytes), want the uncompressed request with its tmax", s, c.RequestBytes)
	}
	if c := o.Trace.Calls[1]; c.Status != 503 || !strings.Contains(string(c.Answer), "maintenance") || len(c.Request) == 0 {
		t.Errorf("failing: trace %+v, want status 503 with its body", c)
	}
	if c := o.Trace.Calls[2]; res.Bidders[2].Outcome != OutcomeTimeout || c.Status != 0 || len(c.Answer) != 0 {
		t.Errorf("late: outcome %v, trace %+v: want a timeout and nothing traced", res.Bidders[2].Outcome, c)
	}
}
