package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"
	"github.com/valyala/fasthttp"
	"gopkg.in/yaml.v3"

	"github.com/adx-exchange/adx/openrtb"
)

func fleetBodies(t *testing.T, n int) [][]byte {
	t.Helper()
	s, err := NewSynth(DefaultSynthConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Bodies(n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadFleetProfile(t *testing.T) {
	p, err := LoadFleetProfile(filepath.Join("testdata", "fleet", "profile.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.DSPs) != 2 || p.DSPs[0].Latency.Median != 8*time.Millisecond || p.DSPs[1].Gzip != GzipAlways || p.Timeout != 100*time.Millisecond {
		t.Errorf("unexpected profile %+v", p)
	}
	f := func(name string, d DSPProfile, wantErr string) {
		t.Helper()
		p := FleetProfile{DSPs: []DSPProfile{d}}
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: got %v, want an error with %q", name, err, wantErr)
		}
	}
	f("bid rate", DSPProfile{BidRate: 1.5}, "bid_rate")
	f("fault sum", DSPProfile{Error5xx: 0.6, Reset: 0.6}, "error_5xx + reset")
	f("tail sum", DSPProfile{Latency: LatencyProfile{SpikeProb: 0.7, TimeoutProb: 0.7}}, "spike_prob + timeout_prob")
	f("negative latency", DSPProfile{Latency: LatencyProfile{Median: -1}}, "latencies")
	f("sigma", DSPProfile{Latency: LatencyProfile{Sigma: -1}}, "sigma")
	f("gzip", DSPProfile{Gzip: "sometimes"}, "gzip")
	f("pad", DSPProfile{PadBytes: -1}, "pad_bytes")
	f("price", DSPProfile{Price: PriceProfile{Median: math.NaN()}}, "price")
	f("rule rate", DSPProfile{BidRates: []BidRateRule{{Country: "USA", Rate: 2}}}, "bid_rates[0].rate")
	f("rule format", DSPProfile{BidRates: []BidRateRule{{Rate: 0.5}, {Format: "popup", Rate: 0.5}}}, "bid_rates[1].format")
	f("rule inventory", DSPProfile{BidRates: []BidRateRule{{Inventory: "dooh"}}}, "bid_rates[0].inventory")
	f("rule device type", DSPProfile{BidRates: []BidRateRule{{DeviceType: 9}}}, "bid_rates[0].device_type")
	if err := (&FleetProfile{}).Validate(); err == nil {
		t.Error("empty profile accepted")
	}
}

// TestFleetDistributions sends 2,000 valid requests to a loopback DSP and
// checks what it drew against its profile: the shares of bids, 5xx, resets
// and spikes within binomial confidence intervals, and the latency
// quantiles within order-statistic ones.
//
// A client measures the DSP's latency plus its own overhead (waiting for
// the CPU, the race detector), which on a busy machine can outgrow the
// latency itself. The overhead only adds, so the lower bound of each
// latency quantile is checked as measured. The upper bound of the lower
// quantiles adds the overhead measured on a control: a plain server that
// does the DSP's decoding and waits a fixed time, the profile's 75th
// percentile, called by the same clients in alternation. It sees the same
// load, and a request held longer meets more of the machine's stalls, so
// the control's overhead bounds that of every request drawn shorter.
func TestFleetDistributions(t *testing.T) {
	const (
		n       = 2000
		workers = 32
		z       = 4.0 // a check fails by chance with probability ~6e-5
	)
	prof := DSPProfile{
		Name:    "d",
		Latency: LatencyProfile{Median: 20 * time.Millisecond, Sigma: 0.3, SpikeProb: 0.05, Spike: 120 * time.Millisecond},
		BidRate: 0.6, Price: PriceProfile{Median: 2, Sigma: 0.3}, Error5xx: 0.1, Reset: 0.02,
	}
	fl, err := StartFleet(FleetProfile{Seed: 5, DSPs: []DSPProfile{prof}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	d := fl.DSPs()[1]
	ctlWait := latencyQuantile(prof.Latency, 0.75)
	ctl := startServer(t, func(ctx *fasthttp.RequestCtx) {
		var req openrtb2.BidRequest
		if openrtb.DecodeRequest(ctx.PostBody(), &req) != nil || openrtb.ValidateRequest(&req, openrtb.Limits{}) != nil {
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
			return
		}
		time.Sleep(ctlWait)
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	})

	bodies := fleetBodies(t, 200)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var (
		mu         sync.Mutex
		lats, over []time.Duration
		status     = map[int]int{}
		errs       int
		wg         sync.WaitGroup
		next       = make(chan int)
	)
	post := func(url string, body []byte) (int, time.Duration, error) {
		t0 := time.Now()
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(t0), err
	}
	for range workers {
		wg.Go(func() {
			for i := range next {
				body := bodies[i%len(bodies)]
				code, el, err := post(d.Endpoint(), body)
				ctlCode, ctlEl, ctlErr := post(ctl, body)
				mu.Lock()
				if err != nil {
					errs++
				} else {
					status[code]++
					lats = append(lats, el)
				}
				if ctlErr != nil || ctlCode != fasthttp.StatusNoContent {
					t.Errorf("control: status %d, %v", ctlCode, ctlErr)
				} else {
					over = append(over, ctlEl-ctlWait)
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()

	st := d.Stats()
	if st.Requests != n || st.Malformed != 0 {
		t.Fatalf("stats %+v: want %d requests, none malformed", st, n)
	}
	if int64(status[200]) != st.Bids || int64(status[204]) != st.NoBids || int64(status[503]) != st.Errors5xx || int64(errs) != st.Resets {
		t.Errorf("client saw %v and %d errors; DSP stats %+v", status, errs, st)
	}
	if fl.DSPs()[0].Stats().Requests != 0 {
		t.Error("the other DSP got requests")
	}

	share := func(name string, k, of int64, p float64) {
		t.Helper()
		got, tol := float64(k)/float64(of), z*math.Sqrt(p*(1-p)/float64(of))
		if math.Abs(got-p) > tol {
			t.Errorf("%s = %.4f (%d of %d), want %.4f ± %.4f", name, got, k, of, p, tol)
		} else {
			t.Logf("%s = %.4f (want %.4f ± %.4f)", name, got, p, tol)
		}
	}
	share("bid rate", st.Bids, st.Bids+st.NoBids, prof.BidRate)
	share("5xx share", st.Errors5xx, n, prof.Error5xx)
	share("reset share", st.Resets, n, prof.Reset)
	share("spike share", st.Spikes, n, prof.Latency.SpikeProb)

	slices.Sort(lats)
	slices.Sort(over)
	for _, q := range []float64{0.1, 0.25, 0.5, 0.75, 0.9, 0.97} {
		want := latencyQuantile(prof.Latency, q)
		lo, hi := orderStatCI(len(lats), q, z)
		t.Logf("latency q%.2f: profile %v, measured %v..%v", q, want, lats[lo], lats[hi])
		if lats[hi] < want {
			t.Errorf("latency q%.2f: measured at most %v, below the profile's %v: the DSP answers too fast", q, lats[hi], want)
		}
		// P(X+Y > a+b) <= P(X > a) + P(Y > b): the q-quantile of latency
		// plus overhead is at most the sum of their (1+q)/2-quantiles. The
		// control's overhead stands for Y while (1+q)/2 <= 0.75.
		if q2 := (1 + q) / 2; q2 <= 0.75 {
			_, overHi := orderStatCI(len(over), q2, z)
			ceiling := latencyQuantile(prof.Latency, q2) + over[overHi]
			t.Logf("latency q%.2f: at most %v: the profile's q%.3f plus the control's overhead %v", q, ceiling, q2, over[overHi])
			if lats[lo] > ceiling {
				t.Errorf("latency q%.2f: measured at least %v, above the profile's q%.3f %v plus the control's overhead %v: the DSP answers too slowly",
					q, lats[lo], q2, latencyQuantile(prof.Latency, q2), over[overHi])
			}
		}
	}
}

// orderStatCI returns the 0-based indexes lo <= hi of the sorted sample of
// size n between which its q-quantile lies with confidence ~1-2Φ(-z): the
// count of values below the quantile is binomial(n, q).
func orderStatCI(n int, q, z float64) (lo, hi int) {
	mid, sd := float64(n)*q, z*math.Sqrt(float64(n)*q*(1-q))
	lo = max(int(math.Floor(mid-sd))-1, 0)
	hi = min(int(math.Ceil(mid+sd)), n-1)
	return lo, hi
}

// latencyQuantile returns the q-quantile of the latency a LatencyProfile
// draws: lognormal, with spike_prob of the draws at spike and timeout_prob
// at timeout_delay.
func latencyQuantile(p LatencyProfile, q float64) time.Duration {
	cdf := func(x time.Duration) float64 {
		var f float64 // of the lognormal draws
		switch {
		case p.Sigma > 0 && x > 0:
			f = 0.5 * math.Erfc(-math.Log(float64(x)/float64(p.Median))/p.Sigma/math.Sqrt2)
		case p.Sigma == 0 && x >= p.Median:
			f = 1
		}
		f *= 1 - p.SpikeProb - p.TimeoutProb
		if x >= p.Spike {
			f += p.SpikeProb
		}
		if x >= p.TimeoutDelay {
			f += p.TimeoutProb
		}
		return f
	}
	lo, hi := time.Duration(0), time.Hour
	for hi-lo > time.Microsecond {
		if mid := (lo + hi) / 2; cdf(mid) >= q {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// TestFleetMalformed checks that bad requests are counted and answered 400.
func TestFleetMalformed(t *testing.T) {
	fl, err := StartFleet(FleetProfile{DSPs: []DSPProfile{{BidRate: 1, Price: PriceProfile{Median: 1}}}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	d := fl.DSPs()[0]
	f := func(method, body string, want int) {
		t.Helper()
		req, _ := http.NewRequest(method, d.Endpoint(), strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s %q: status %d, want %d", method, body, resp.StatusCode, want)
		}
	}
	f("POST", "not json", 400)
	f("POST", `{"id":"x"}`, 400)                        // no imp
	f("POST", `{"id":"x","imp":[{"id":"1"}]}`+"}", 400) // trailing garbage
	f("GET", "", 400)
	f("POST", string(fleetBodies(t, 1)[0]), 200)
	if st := d.Stats(); st.Malformed != 4 || st.Requests != 5 || st.Bids != 1 {
		t.Errorf("stats %+v: want 5 requests, 4 malformed, 1 bid", st)
	}
}

// TestFleetGzipPadding checks compressed, padded responses and the demand
// config.
func TestFleetGzipPadding(t *testing.T) {
	fl, err := StartFleet(FleetProfile{Timeout: 80 * time.Millisecond, DSPs: []DSPProfile{
		{Name: "gz", BidRate: 1, Price: PriceProfile{Median: 1}, Gzip: GzipAlways, PadBytes: 1000},
		{Name: "plain", BidRate: 1, Price: PriceProfile{Median: 1}},
	}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	body := fleetBodies(t, 1)[0]
	for i, d := range fl.DSPs() {
		req, _ := http.NewRequest("POST", d.Endpoint(), bytes.NewReader(body))
		req.Header.Set("Accept-Encoding", "gzip") // set by hand: no transparent decoding
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		gz := resp.Header.Get("Content-Encoding") == "gzip"
		if gz != (i == 0) {
			t.Fatalf("%s: gzip %v", d.Name(), gz)
		}
		if gz {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ = io.ReadAll(zr)
		}
		var r struct {
			ID  string `json:"id"`
			Ext struct {
				Pad string `json:"pad"`
			} `json:"ext"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("%s: %v in %s", d.Name(), err, raw)
		}
		if wantPad := []int{1000, 0}[i]; len(r.Ext.Pad) != wantPad || r.ID == "" {
			t.Errorf("%s: id %q, pad %d bytes, want %d", d.Name(), r.ID, len(r.Ext.Pad), wantPad)
		}
	}
	var cfg struct {
		Demand []struct {
			Name, Type, Endpoint, Timeout string
		}
	}
	if err := yaml.Unmarshal([]byte(fl.DemandConfig()), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Demand) != 2 || cfg.Demand[0].Name != "gz-1" || cfg.Demand[1].Type != "openrtb" ||
		cfg.Demand[1].Endpoint != fl.DSPs()[1].Endpoint() || cfg.Demand[0].Timeout != "80ms" {
		t.Errorf("demand config %+v from\n%s", cfg, fl.DemandConfig())
	}
}

// TestFleetBidRatesByRequest: with bid_rates, each kind of request gets
// bids at the rate of the first rule it matches, and at bid_rate when it
// matches none, each within a binomial tolerance of four deviations.
func TestFleetBidRatesByRequest(t *testing.T) {
	prof := DSPProfile{Name: "skew", BidRate: 0.1, BidRates: []BidRateRule{
		{Country: "USA", Format: "video", Rate: 0.9},
		{Country: "USA", Rate: 0.5},
		{Inventory: "site", Rate: 0},
		{DeviceType: 3, Rate: 1},
	}}
	fl, err := StartFleet(FleetProfile{Seed: 7, DSPs: []DSPProfile{prof}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	d := fl.DSPs()[0]
	const n = 400
	client := &fasthttp.Client{}
	f := func(name, body string, want float64) {
		t.Helper()
		bids := 0
		for range n {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI(d.Endpoint())
			req.Header.SetMethod(fasthttp.MethodPost)
			req.SetBodyString(body)
			if err := client.DoTimeout(req, resp, 10*time.Second); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			switch resp.StatusCode() {
			case fasthttp.StatusOK:
				bids++
			case fasthttp.StatusNoContent:
			default:
				t.Fatalf("%s: status %d: %s", name, resp.StatusCode(), resp.Body())
			}
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(resp)
		}
		got, tol := float64(bids)/n, 4*math.Sqrt(want*(1-want)/n)
		if math.Abs(got-want) > tol {
			t.Errorf("%s: bid rate %.3f, want %.2f +- %.3f", name, got, want, tol)
		}
	}
	const (
		banner = `"imp":[{"id":"1","banner":{"w":300,"h":250}}]`
		video  = `"imp":[{"id":"1","banner":{"w":300,"h":250}},{"id":"2","video":{"mimes":["video/mp4"]}}]`
	)
	f("USA video", `{"id":"a",`+video+`,"app":{"id":"x"},"device":{"geo":{"country":"USA"}}}`, 0.9)
	f("USA banner", `{"id":"b",`+banner+`,"app":{"id":"x"},"device":{"geo":{"country":"USA"}}}`, 0.5)
	f("DEU site", `{"id":"c",`+banner+`,"site":{"id":"x"},"device":{"geo":{"country":"DEU"}}}`, 0)
	f("DEU connected TV", `{"id":"d",`+banner+`,"app":{"id":"x"},"device":{"devicetype":3,"geo":{"country":"DEU"}}}`, 1)
	f("DEU app", `{"id":"e",`+video+`,"app":{"id":"x"},"device":{"geo":{"country":"DEU"}}}`, 0.1)
}
