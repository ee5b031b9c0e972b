package auction

import (
	"math"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/internal/waittest"
)

func ptr[T any](v T) *T { return &v }

// value reads a counter or a gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// Each pretargeting rule, and the first failing one named when several
// fail.
func TestTargetingCheck(t *testing.T) {
	f := func(name string, tc config.Targeting, req openrtb2.BidRequest, want FilterReason, wantOK bool) {
		t.Helper()
		x := newTargeting(&tc)
		if x == nil {
			x = &targeting{}
		}
		got, ok := x.check(&req)
		if ok != wantOK || (!ok && got != want) {
			t.Errorf("%s: (%v, %v), want (%v, %v)", name, got, ok, want, wantOK)
		}
	}
	usa := &openrtb2.Device{Geo: &openrtb2.Geo{Country: "USA"}, DeviceType: 4, OS: "iOS"}
	app := &openrtb2.App{Bundle: "com.example.game"}
	site := &openrtb2.Site{Domain: "news.example.com"}
	f("nothing targeted", config.Targeting{}, openrtb2.BidRequest{}, 0, true)

	f("inventory app: app", config.Targeting{Inventory: []string{"app"}}, openrtb2.BidRequest{App: app}, 0, true)
	f("inventory app: site", config.Targeting{Inventory: []string{"app"}}, openrtb2.BidRequest{Site: site}, FilterInventory, false)
	f("inventory both: site", config.Targeting{Inventory: []string{"app", "site"}}, openrtb2.BidRequest{Site: site}, 0, true)
	f("inventory site: dooh", config.Targeting{Inventory: []string{"site"}}, openrtb2.BidRequest{}, FilterInventory, false)

	f("country in", config.Targeting{Countries: []string{"CAN", "USA"}}, openrtb2.BidRequest{Device: usa}, 0, true)
	f("country out", config.Targeting{Countries: []string{"CAN"}}, openrtb2.BidRequest{Device: usa}, FilterCountry, false)
	f("country alpha-2 never matches", config.Targeting{Countries: []string{"USA"}}, openrtb2.BidRequest{Device: &openrtb2.Device{Geo: &openrtb2.Geo{Country: "US"}}}, FilterCountry, false)
	f("country unknown", config.Targeting{Countries: []string{"USA"}}, openrtb2.BidRequest{Device: &openrtb2.Device{}}, FilterCountry, false)
	f("country no device", config.Targeting{Countries: []string{"USA"}}, openrtb2.BidRequest{}, FilterCountry, false)

	f("device type in", config.Targeting{DeviceTypes: []int{1, 4}}, openrtb2.BidRequest{Device: usa}, 0, true)
	f("device type out", config.Targeting{DeviceTypes: []int{2}}, openrtb2.BidRequest{Device: usa}, FilterDeviceType, false)
	f("device type unknown", config.Targeting{DeviceTypes: []int{2}}, openrtb2.BidRequest{}, FilterDeviceType, false)

	f("os any case", config.Targeting{OS: []string{"ios"}}, openrtb2.BidRequest{Device: usa}, 0, true)
	f("os out", config.Targeting{OS: []string{"Android"}}, openrtb2.BidRequest{Device: usa}, FilterOS, false)
	f("os unknown", config.Targeting{OS: []string{"Android"}}, openrtb2.BidRequest{Device: &openrtb2.Device{}}, FilterOS, false)

	f("bundle allowed", config.Targeting{Bundles: []string{"com.example.game"}}, openrtb2.BidRequest{App: app}, 0, true)
	f("bundle not allowed", config.Targeting{Bundles: []string{"com.other"}}, openrtb2.BidRequest{App: app}, FilterBundle, false)
	f("bundle blocked", config.Targeting{BlockBundles: []string{"com.example.game"}}, openrtb2.BidRequest{App: app}, FilterBundle, false)
	f("bundle rules skip sites", config.Targeting{Bundles: []string{"com.other"}}, openrtb2.BidRequest{Site: site}, 0, true)
	many := []string{"a.1", "a.2", "a.3", "a.4", "a.5", "a.6", "a.7", "a.8", "a.9", "com.example.game"}
	f("bundle blocked, long list", config.Targeting{BlockBundles: many}, openrtb2.BidRequest{App: app}, FilterBundle, false)
	f("bundle not blocked, long list", config.Targeting{BlockBundles: many[:9]}, openrtb2.BidRequest{App: app}, 0, true)

	f("domain allowed", config.Targeting{Domains: []string{"news.example.com"}}, openrtb2.BidRequest{Site: site}, 0, true)
	f("domain allowed by parent", config.Targeting{Domains: []string{"example.com"}}, openrtb2.BidRequest{Site: site}, 0, true)
	f("domain lookalike", config.Targeting{Domains: []string{"example.com"}}, openrtb2.BidRequest{Site: &openrtb2.Site{Domain: "badexample.com"}}, FilterDomain, false)
	f("domain not allowed", config.Targeting{Domains: []string{"other.com"}}, openrtb2.BidRequest{Site: site}, FilterDomain, false)
	f("domain missing", config.Targeting{Domains: []string{"other.com"}}, openrtb2.BidRequest{Site: &openrtb2.Site{}}, FilterDomain, false)
	f("domain blocked by parent", config.Targeting{BlockDomains: []string{"example.com"}}, openrtb2.BidRequest{Site: site}, FilterDomain, false)
	f("domain rules skip apps", config.Targeting{Domains: []string{"other.com"}}, openrtb2.BidRequest{App: app}, 0, true)

	f("first failing rule: inventory before country", config.Targeting{Inventory: []string{"app"}, Countries: []string{"CAN"}},
		openrtb2.BidRequest{Site: site, Device: usa}, FilterInventory, false)
	f("first failing rule: country before os", config.Targeting{Countries: []string{"CAN"}, OS: []string{"Android"}},
		openrtb2.BidRequest{Device: usa}, FilterCountry, false)
	f("all pass", config.Targeting{Inventory: []string{"site"}, Countries: []string{"USA"}, DeviceTypes: []int{4}, OS: []string{"iOS"},
		Domains: []string{"example.com"}, BlockDomains: []string{"ads.example.com"}}, openrtb2.BidRequest{Site: site, Device: usa}, 0, true)
}

// An imp stays when one of its banner or video sizes is targeted, or when
// sizes cannot judge it.
func TestTargetingSizes(t *testing.T) {
	x := newTargeting(&config.Targeting{Sizes: []string{"300x250", "640x480"}})
	f := func(name string, imp openrtb2.Imp, media mediaMask, want bool) {
		t.Helper()
		if got := x.fits(&imp, impMedia(&imp)&media); got != want {
			t.Errorf("%s: fits %v, want %v", name, got, want)
		}
	}
	f("banner w/h", openrtb2.Imp{Banner: &openrtb2.Banner{W: ptr[int64](300), H: ptr[int64](250)}}, mediaAll, true)
	f("banner format", openrtb2.Imp{Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 728, H: 90}, {W: 300, H: 250}}}}, mediaAll, true)
	f("banner other size", openrtb2.Imp{Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 728, H: 90}}}}, mediaAll, false)
	f("banner unsized", openrtb2.Imp{Banner: &openrtb2.Banner{}}, mediaAll, true)
	f("video size", openrtb2.Imp{Video: &openrtb2.Video{W: ptr[int64](640), H: ptr[int64](480)}}, mediaAll, true)
	f("video other size", openrtb2.Imp{Video: &openrtb2.Video{W: ptr[int64](1920), H: ptr[int64](1080)}}, mediaAll, false)
	f("audio", openrtb2.Imp{Audio: &openrtb2.Audio{}}, mediaAll, true)
	f("native", openrtb2.Imp{Native: &openrtb2.Native{}}, mediaAll, true)
	both := openrtb2.Imp{Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 728, H: 90}}}, Video: &openrtb2.Video{W: ptr[int64](640), H: ptr[int64](480)}}
	f("banner and video, video fits", both, mediaAll, true)
	f("banner and video, sent as banner only", both, mediaBanner, false)
}

// The bucket lets through its burst at once, then one call per interval;
// time is driven by hand.
func TestTokenBucket(t *testing.T) {
	f := func(qps int, burst int) {
		t.Helper()
		b := newTokenBucket(qps)
		now := int64(1e12)
		n := 0
		for b.allow(now) {
			if n++; n > 10*burst {
				t.Fatalf("qps %d: the bucket never runs dry", qps)
			}
		}
		if n != burst {
			t.Errorf("qps %d: a burst of %d, want %d", qps, n, burst)
		}
		// Over ten seconds, calls offered every millisecond: qps a second,
		// plus the burst.
		allowed := 0
		for ms := int64(1); ms <= 10_000; ms++ {
			if b.allow(now + ms*1e6) {
				allowed++
			}
		}
		if want := 10 * qps; allowed < want-1 || allowed > want+1 {
			t.Errorf("qps %d: %d calls in 10s, want %d", qps, allowed, want)
		}
	}
	f(1, 1)
	f(10, 1)
	f(100, 10)
	f(500, 50)
}

// flakyDSP is a real DSP on loopback that answers 500 while failing is
// set, else no-bid, and counts the calls it gets.
type flakyDSP struct {
	url     string
	failing atomic.Bool
	calls   atomic.Int64
}

func startFlakyDSP(t *testing.T) *flakyDSP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &flakyDSP{url: "http://" + ln.Addr().String() + "/bid"}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		d.calls.Add(1)
		if d.failing.Load() {
			ctx.SetStatusCode(fasthttp.StatusInternalServerError)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	}}
	go srv.Serve(ln) //nolint:errcheck // ends with the listener
	t.Cleanup(func() { srv.Shutdown() })
	return d
}

// fakeClock drives the controls' time by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() int64              { return c.ns.Load() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// The breaker opens after the failures, stays open for open_for, lets
// probes through after it, opens again on a failed probe and closes when
// the probes succeed; the DSP is a real server, time a driven clock.
func TestBreakerOpensProbesAndCloses(t *testing.T) {
	d := startFlakyDSP(t)
	dem := config.Demand{Name: "dsp", Endpoint: d.url,
		Breaker: config.Breaker{FailureRatio: 0.5, MinRequests: 4, Window: config.Duration(time.Minute), OpenFor: config.Duration(time.Second), HalfOpenProbes: 2}}
	b := NewHTTPBidder(dem, config.Defaults().DSPClient, "USD")
	clock := &fakeClock{}
	clock.ns.Store(1e12)
	b.ctl.now = clock.now
	m := NewMetrics(prometheus.NewRegistry())
	a := New([]Bidder{b}, Rules{Currency: "USD"}, m)
	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}
	run := func(step string, want Outcome, wantState int32) {
		t.Helper()
		res := a.Run(req, time.Now().Add(10*time.Second))
		if got := res.Bidders[0].Outcome; got != want {
			t.Fatalf("%s: outcome %v (%v), want %v", step, got, res.Bidders[0].Err, want)
		}
		if got := value(m.breakerState.WithLabelValues("dsp")); got != float64(wantState) {
			t.Fatalf("%s: breaker state %v, want %v", step, got, wantState)
		}
	}
	filtered := func() float64 { return value(m.filtered.WithLabelValues("dsp", "breaker_open")) }

	run("healthy", OutcomeNoBid, breakerClosed)
	d.failing.Store(true)
	run("failure 1 of 4 calls", OutcomeError, breakerClosed)
	run("failure 2 of 4 calls", OutcomeError, breakerClosed)
	run("failure 3: 3 of 4 calls failed", OutcomeError, breakerOpen)
	calls := d.calls.Load()
	run("open", OutcomeNotEligible, breakerOpen)
	clock.advance(999 * time.Millisecond)
	run("still open", OutcomeNotEligible, breakerOpen)
	if got := d.calls.Load(); got != calls {
		t.Fatalf("an open breaker let %d calls through", got-calls)
	}
	if got := filtered(); got != 2 {
		t.Fatalf("breaker_open counted %v times, want 2", got)
	}

	clock.advance(time.Millisecond)
	run("half-open probe fails", OutcomeError, breakerOpen)
	run("open again", OutcomeNotEligible, breakerOpen)

	d.failing.Store(false)
	clock.advance(time.Second)
	run("probe 1 succeeds", OutcomeNoBid, breakerHalfOpen)
	run("probe 2 succeeds", OutcomeNoBid, breakerClosed)
	run("closed", OutcomeNoBid, breakerClosed)
	if got := filtered(); got != 3 {
		t.Errorf("breaker_open counted %v times, want 3", got)
	}
}

// Half-open, no more calls go through than the probes while they are out.
func TestBreakerHalfOpenProbesBound(t *testing.T) {
	br := newBreaker(config.Breaker{FailureRatio: 1, MinRequests: 1, Window: config.Duration(time.Minute), OpenFor: config.Duration(time.Second), HalfOpenProbes: 2})
	gen, ok := br.allow(0)
	if !ok {
		t.Fatal("a closed breaker refused a call")
	}
	br.done(gen, callFailure, 0)
	if _, ok := br.allow(1); ok || !br.isOpen(1) {
		t.Fatal("one failure at failure_ratio 1, min_requests 1: want the breaker open")
	}
	now := int64(time.Second)
	g1, ok1 := br.allow(now)
	g2, ok2 := br.allow(now)
	_, ok3 := br.allow(now)
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("half-open with 2 probes: allowed %v %v %v, want true true false", ok1, ok2, ok3)
	}
	br.done(g1, callNone, now) // not made: its probe is free again
	g3, ok3 := br.allow(now)
	if !ok3 {
		t.Fatal("a probe not made was not given back")
	}
	br.done(g2, callSuccess, now)
	br.done(g3, callSuccess, now)
	if s := br.state.Load(); s != breakerClosed {
		t.Errorf("two probes succeeded: state %d, want closed", s)
	}
	br.done(gen, callFailure, now) // from an old generation: ignored
	if s := br.state.Load(); s != breakerClosed {
		t.Errorf("a call of an old generation changed the state to %d", s)
	}
}

// Over its cap, a DSP is not called and the auction counts it under qps.
func TestQPSCapInAuction(t *testing.T) {
	d := startFlakyDSP(t)
	b := NewHTTPBidder(config.Demand{Name: "dsp", Endpoint: d.url, QPS: 1}, config.Defaults().DSPClient, "USD")
	clock := &fakeClock{}
	b.ctl.now = clock.now
	m := NewMetrics(prometheus.NewRegistry())
	a := New([]Bidder{b}, Rules{Currency: "USD"}, m)
	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}
	for i, want := range []Outcome{OutcomeNoBid, OutcomeNotEligible, OutcomeNotEligible} {
		res := a.Run(req, time.Now().Add(10*time.Second))
		if got := res.Bidders[0].Outcome; got != want {
			t.Fatalf("auction %d: %v (%v), want %v", i, got, res.Bidders[0].Err, want)
		}
		if fe, ok := res.Bidders[0].Err.(*FilteredError); want == OutcomeNotEligible && (!ok || fe.Reason != FilterQPS) {
			t.Fatalf("auction %d: err %v, want a FilteredError for qps", i, res.Bidders[0].Err)
		}
	}
	clock.advance(time.Second)
	if res := a.Run(req, time.Now().Add(10*time.Second)); res.Bidders[0].Outcome != OutcomeNoBid {
		t.Fatalf("a second later: %v, want the DSP called", res.Bidders[0].Outcome)
	}
	if got := d.calls.Load(); got != 2 {
		t.Errorf("the DSP got %d calls, want 2", got)
	}
	if got := value(m.filtered.WithLabelValues("dsp", "qps")); got != 2 {
		t.Errorf("qps counted %v, want 2", got)
	}
}

// Pretargeting in the fan-out: a request a DSP does not want is not sent
// and counted under the rule; formats and sizes remove imps; DSPs sharing
// an encoding are unaffected by one that is filtered.
func TestPretargetingFanOut(t *testing.T) {
	plain, usa, banner, sized, tiny := startRecordingDSP(t), startRecordingDSP(t), startRecordingDSP(t), startRecordingDSP(t), startRecordingDSP(t)
	bidder := func(name string, d *recordingDSP, tg config.Targeting) Bidder {
		return NewHTTPBidder(config.Demand{Name: name, Endpoint: d.url, Targeting: tg}, config.Defaults().DSPClient, "USD")
	}
	m := NewMetrics(prometheus.NewRegistry())
	a := New([]Bidder{
		bidder("plain", plain, config.Targeting{}),
		bidder("usa", usa, config.Targeting{Countries: []string{"USA"}}),
		bidder("banner", banner, config.Targeting{Formats: []string{"banner"}}),
		bidder("sized", sized, config.Targeting{Sizes: []string{"300x250"}}),
		bidder("tiny", tiny, config.Targeting{Sizes: []string{"1x1"}, Formats: []string{"banner"}}),
	}, Rules{Currency: "USD"}, m)
	req := &openrtb2.BidRequest{ID: "r", Device: &openrtb2.Device{Geo: &openrtb2.Geo{Country: "DEU"}}, Imp: []openrtb2.Imp{
		{ID: "1", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}},
		{ID: "2", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 728, H: 90}}}},
		{ID: "3", Video: &openrtb2.Video{MIMEs: []string{"video/mp4"}, W: ptr[int64](640), H: ptr[int64](480)}},
	}}
	for range 2 { // the second time on pooled bodies
		res := a.Run(req, time.Now().Add(5*time.Second))
		want := map[string]Outcome{"plain": OutcomeNoBid, "usa": OutcomeNotEligible, "banner": OutcomeNoBid, "sized": OutcomeNoBid, "tiny": OutcomeNotEligible}
		for _, br := range res.Bidders {
			if br.Outcome != want[br.Name] {
				t.Errorf("%s: %v (%v), want %v", br.Name, br.Outcome, br.Err, want[br.Name])
			}
		}
	}
	imps := func(d *recordingDSP) (ids string) {
		got := d.requests()
		if len(got) != 2 {
			return "calls: " + string(rune('0'+len(got)))
		}
		for _, imp := range got[1].Imp {
			ids += imp.ID
		}
		return ids
	}
	for _, c := range []struct {
		name string
		d    *recordingDSP
		want string
	}{{"plain", plain, "123"}, {"banner", banner, "12"}, {"sized", sized, "1"}} {
		if got := imps(c.d); got != c.want {
			t.Errorf("%s was sent imps %q, want %q", c.name, got, c.want)
		}
	}
	if n := len(usa.requests()) + len(tiny.requests()); n != 0 {
		t.Errorf("filtered DSPs got %d requests", n)
	}
	for _, c := range []struct {
		dsp, reason string
		want        float64
	}{{"usa", "pretargeting_country", 2}, {"tiny", "pretargeting_size", 2}, {"plain", "pretargeting_country", 0}, {"banner", "pretargeting_format", 0}} {
		if got := value(m.filtered.WithLabelValues(c.dsp, c.reason)); got != c.want {
			t.Errorf("%s %s counted %v, want %v", c.dsp, c.reason, got, c.want)
		}
	}

	// A video-only request: the banner-only DSP is filtered by format.
	vreq := &openrtb2.BidRequest{ID: "v", Imp: req.Imp[2:]}
	res := a.Run(vreq, time.Now().Add(5*time.Second))
	if br := res.Bidders[2]; br.Outcome != OutcomeNotEligible || value(m.filtered.WithLabelValues("banner", "pretargeting_format")) != 1 {
		t.Errorf("banner-only DSP on a video request: %v (%v), want not eligible and counted as pretargeting_format", br.Outcome, br.Err)
	}
}

func TestFilterReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := range numFilterReasons {
		n := r.String()
		if n == "" || seen[n] {
			t.Errorf("reason %d: name %q empty or repeated", r, n)
		}
		seen[n] = true
	}
}

// The breaker's window slides: a burst of failures is judged with the
// calls of the window before it, across a step boundary, and calls leave
// the window a window after they ended. A window restarting empty would
// have missed the burst split by its start, and kept the old successes.
func TestBreakerWindowSlides(t *testing.T) {
	type ev struct {
		at        time.Duration
		r         callResult
		wantState int32
	}
	f := func(name string, events ...ev) {
		t.Helper()
		br := newBreaker(config.Breaker{FailureRatio: 0.5, MinRequests: 4, Window: config.Duration(10 * time.Second),
			OpenFor: config.Duration(time.Hour), HalfOpenProbes: 1})
		for i, e := range events {
			now := int64(1e12) + int64(e.at)
			if gen, ok := br.allow(now); ok {
				br.done(gen, e.r, now)
			}
			if got := br.state.Load(); got != e.wantState {
				t.Fatalf("%s: event %d at %v: state %d, want %d", name, i, e.at, got, e.wantState)
			}
		}
	}
	ok, fail := callSuccess, callFailure
	f("a burst across a step boundary",
		ev{0, ok, breakerClosed}, ev{9900 * time.Millisecond, fail, breakerClosed}, ev{9950 * time.Millisecond, fail, breakerClosed},
		ev{10100 * time.Millisecond, fail, breakerClosed}, ev{10150 * time.Millisecond, fail, breakerOpen})
	f("old successes leave the window",
		ev{0, ok, breakerClosed}, ev{0, ok, breakerClosed}, ev{0, ok, breakerClosed}, ev{0, ok, breakerClosed},
		ev{9 * time.Second, fail, breakerClosed}, ev{9 * time.Second, fail, breakerClosed}, ev{9 * time.Second, fail, breakerClosed},
		ev{10500 * time.Millisecond, fail, breakerOpen})
	f("old successes still in the window",
		ev{0, ok, breakerClosed}, ev{0, ok, breakerClosed}, ev{0, ok, breakerClosed}, ev{0, ok, breakerClosed},
		ev{9 * time.Second, fail, breakerClosed}, ev{9 * time.Second, fail, breakerClosed}, ev{9 * time.Second, fail, breakerClosed},
		ev{9500 * time.Millisecond, ok, breakerClosed})
	f("old failures leave the window",
		ev{0, fail, breakerClosed}, ev{0, fail, breakerClosed}, ev{0, fail, breakerClosed},
		ev{25 * time.Second, fail, breakerClosed}, ev{25 * time.Second, ok, breakerClosed}, ev{25 * time.Second, ok, breakerClosed},
		ev{26 * time.Second, ok, breakerClosed})
	f("calls not made count for nothing",
		ev{0, callNone, breakerClosed}, ev{0, callNone, breakerClosed}, ev{0, callNone, breakerClosed}, ev{0, callNone, breakerClosed},
		ev{time.Second, fail, breakerClosed}, ev{time.Second, fail, breakerClosed}, ev{time.Second, fail, breakerClosed},
		ev{time.Second, fail, breakerOpen})
}

// A timeout counts against the DSP only when its call was sent with a fair
// share of its time left.
func TestFairChance(t *testing.T) {
	ms := time.Millisecond
	f := func(timeout, waited, left time.Duration, want bool) {
		t.Helper()
		c := controls{timeout: timeout}
		if got := c.fairChance(waited, left); got != want {
			t.Errorf("timeout %v, waited %v, left %v: fair %v, want %v", timeout, waited, left, got, want)
		}
	}
	f(0, ms, 89*ms, true)           // sent at once
	f(0, 45*ms, 45*ms, true)        // half its budget spent waiting for a worker
	f(0, 50*ms, 40*ms, false)       // more than half
	f(0, 0, 15*ms, false)           // the request came to the auction late
	f(0, 0, 20*ms, true)            // just enough
	f(100*ms, 50*ms, 250*ms, true)  // its own timeout binds: a full timeout left
	f(100*ms, 240*ms, 60*ms, true)  // 60 of the 100ms it takes
	f(100*ms, 260*ms, 40*ms, false) // under half of its timeout
	f(10*ms, 0, 89*ms, true)        // a DSP of 10ms needs 5ms, not 20
	f(10*ms, 86*ms, 4*ms, false)
}

// slowDSP is a real DSP on loopback that answers after delay, and counts
// its calls.
func startSlowDSP(t *testing.T, delay time.Duration) *flakyDSP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &flakyDSP{url: "http://" + ln.Addr().String() + "/bid"}
	stop := make(chan struct{})
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		d.calls.Add(1)
		select {
		case <-time.After(delay):
		case <-stop:
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	}}
	go srv.Serve(ln) //nolint:errcheck // ends with the listener
	t.Cleanup(func() { close(stop); srv.Shutdown() })
	return d
}

// Timeouts of calls that had little of their time, because the request
// came to the auction late or the call waited in adx, or that adx noticed
// long after their deadline, because it was kept from running, leave the
// breaker closed; the same timeouts with time to spare, noticed in time,
// open it.
func TestBreakerIgnoresOverloadTimeouts(t *testing.T) {
	d := startSlowDSP(t, 5*time.Second)
	dem := config.Demand{Name: "dsp", Endpoint: d.url,
		Breaker: config.Breaker{FailureRatio: 1, MinRequests: 1, Window: config.Duration(time.Hour), OpenFor: config.Duration(time.Hour)}}
	b := NewHTTPBidder(dem, config.Defaults().DSPClient, "USD")
	// The controls' clock runs with the real one, but 500ms ahead once
	// the DSP holds more calls than lagAfter: the time adx's goroutines
	// are kept from running while a call is out.
	var lagAfter atomic.Int64
	lagAfter.Store(math.MaxInt64)
	b.ctl.now = func() int64 {
		if d.calls.Load() > lagAfter.Load() {
			return monoNow() + int64(500*time.Millisecond)
		}
		return monoNow()
	}
	m := NewMetrics(prometheus.NewRegistry())
	a := New([]Bidder{b}, Rules{Currency: "USD"}, m)
	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}
	state := func() float64 { return value(m.breakerState.WithLabelValues("dsp")) }
	// The breaker hears of a call once its worker is done with it, after
	// the auction.
	workerDone := func() {
		waittest.For(t, "the call told to the breaker", func() bool { return a.workers.idleWorkers() == 1 })
	}

	// Late to the auction: 12ms left.
	for range 3 {
		if res := a.Run(req, time.Now().Add(12*time.Millisecond)); res.Bidders[0].Outcome != OutcomeTimeout {
			t.Fatalf("12ms left: %v (%v), want a timeout", res.Bidders[0].Outcome, res.Bidders[0].Err)
		}
		workerDone()
	}
	if s := state(); s != float64(breakerClosed) {
		t.Fatalf("timeouts with 12ms left opened the breaker (state %v)", s)
	}

	// Waited in adx: admitted 300ms before it was sent with 100ms left.
	run := func(waited, left time.Duration) {
		t.Helper()
		var c call
		if _, ok := a.admit(b.control(), req, mediaBanner, mediaAll, mediaAll, &c); !ok || c.breaker == nil {
			t.Fatal("the call was not let through by the breaker")
		}
		body, err := encodeFor(req, b.bodyKind(), nil, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		answers := make(chan answer, 1)
		c.a, c.i, c.req, c.body, c.answers = a, 0, req, body, answers
		c.deadline = time.Now().Add(left)
		c.admitted -= int64(waited) // as if admitted that long before
		c.run()
		if ans := <-answers; ans.r.Outcome != OutcomeTimeout {
			t.Fatalf("%v left: %v (%v), want a timeout", left, ans.r.Outcome, ans.r.Err)
		}
	}
	run(300*time.Millisecond, 100*time.Millisecond)
	if s := state(); s != float64(breakerClosed) {
		t.Fatalf("a timeout after waiting 300ms of 400 in adx opened the breaker (state %v)", s)
	}

	// Noticed late: sent at once with 300ms left, its worker ran 500ms
	// after the deadline.
	lagAfter.Store(d.calls.Load())
	late := value(m.lateTimeouts.WithLabelValues("dsp"))
	run(0, 300*time.Millisecond)
	if s := state(); s != float64(breakerClosed) {
		t.Fatalf("a timeout noticed 500ms after its deadline opened the breaker (state %v)", s)
	}
	if n := value(m.lateTimeouts.WithLabelValues("dsp")) - late; n != 1 {
		t.Errorf("adx_demand_timeouts_noticed_late_total grew by %v, want 1", n)
	}
	// The positive control: the same DSP, sent with its whole budget.
	if res := a.Run(req, time.Now().Add(300*time.Millisecond)); res.Bidders[0].Outcome != OutcomeTimeout {
		t.Fatalf("300ms left: %v, want a timeout", res.Bidders[0].Outcome)
	}
	waittest.For(t, "the breaker open", func() bool { return state() == float64(breakerOpen) })
}

// A config reload hands a DSP that stays its token bucket, breaker and
// learnt bid rates when their settings are unchanged, and starts afresh
// those whose settings changed.
func TestReloadKeepsControls(t *testing.T) {
	d := startFlakyDSP(t)
	d.failing.Store(true)
	demand := func(qps int, openFor time.Duration, window time.Duration) config.Demand {
		return config.Demand{Name: "dsp", Type: config.DemandOpenRTB, Endpoint: d.url, QPS: qps,
			Breaker: config.Breaker{FailureRatio: 1, MinRequests: 1, OpenFor: config.Duration(openFor)},
			Shaping: config.Shaping{Window: config.Duration(window)}}
	}
	cfgWith := func(ds ...config.Demand) *config.Config {
		c := config.Defaults()
		c.Demand = ds
		return c
	}
	m := NewMetrics(prometheus.NewRegistry())
	clock := &fakeClock{}
	clock.ns.Store(1e12)
	build := func(prev *Auction, ds ...config.Demand) *Auction {
		a := FromConfigAfter(cfgWith(ds...), nil, m, prev)
		for _, b := range a.bidders {
			b.(*HTTPBidder).ctl.now = clock.now
		}
		return a
	}
	ctl := func(a *Auction) *controls { return a.bidders[0].(encodedBidder).control() }
	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}

	a1 := build(nil, demand(1000, time.Hour, 10*time.Second))
	if res := a1.Run(req, time.Now().Add(5*time.Second)); res.Bidders[0].Outcome != OutcomeError {
		t.Fatalf("first call: %v, want the DSP's error", res.Bidders[0].Outcome)
	}
	waittest.For(t, "the breaker open", func() bool { return ctl(a1).breaker.isOpen(clock.now()) })
	tat := ctl(a1).bucket.tat.Load()
	sh := ctl(a1).shaper
	sh.admit(clock.now(), shapeKey(req, mediaBanner))

	// The same settings, another partner added: everything kept.
	other := demand(0, time.Minute, 0)
	other.Name = "other"
	a2 := build(a1, demand(1000, time.Hour, 10*time.Second), other)
	c2 := ctl(a2)
	if c2.breaker != ctl(a1).breaker || c2.bucket != ctl(a1).bucket || c2.shaper != sh {
		t.Fatal("unchanged settings: the breaker, bucket or shaper was not kept")
	}
	if res := a2.Run(req, time.Now().Add(5*time.Second)); !isFiltered(res.Bidders[0], FilterBreakerOpen) {
		t.Errorf("after the reload: %v (%v), want the open breaker kept", res.Bidders[0].Outcome, res.Bidders[0].Err)
	}
	if got := value(m.breakerState.WithLabelValues("dsp")); got != float64(breakerOpen) {
		t.Errorf("after the reload the breaker gauge is %v, want open", got)
	}
	if c2.bucket.tat.Load() != tat {
		t.Error("the bucket's calls were not kept")
	}
	if b, _ := sh.table.Load().find(shapeKey(req, mediaBanner)); b < 0 {
		t.Error("the learnt bucket was lost")
	}

	// A new qps: a new bucket, the shaper kept with the new cap. A new
	// breaker: closed, the DSP called again.
	a3 := build(a2, demand(500, time.Minute, 10*time.Second))
	c3 := ctl(a3)
	if c3.bucket == c2.bucket || c3.breaker == c2.breaker || c3.shaper != sh || sh.qps.Load() != 500 {
		t.Errorf("qps and breaker changed: bucket kept %v, breaker kept %v, shaper kept %v with qps %d; want new, new, kept, 500",
			c3.bucket == c2.bucket, c3.breaker == c2.breaker, c3.shaper == sh, sh.qps.Load())
	}
	calls := d.calls.Load()
	if res := a3.Run(req, time.Now().Add(5*time.Second)); res.Bidders[0].Outcome != OutcomeError || d.calls.Load() != calls+1 {
		t.Errorf("with a new breaker: %v, want the DSP called", res.Bidders[0].Outcome)
	}
	// A new shaping window: learnt afresh.
	if c4 := ctl(build(a3, demand(500, time.Minute, 20*time.Second))); c4.shaper == sh {
		t.Error("a new shaping window kept the old shaper")
	}
}

func isFiltered(r BidderResult, reason FilterReason) bool {
	fe, ok := r.Err.(*FilteredError)
	return r.Outcome == OutcomeNotEligible && ok && fe.Reason == reason
}
