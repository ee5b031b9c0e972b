package reliability

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/bench"
)

// faultModes lists each mock DSP mode with the outcome adx must count
// for it in adx_demand_requests_total and the bids it must drop.
var faultModes = []struct {
	mode, outcome string
	dropped       int // bids dropped per call
}{
	{"normal", "bid", 0},
	{bench.ModeNoBid, "nobid", 0},
	{bench.ModeEmptySeatBid, "nobid", 0},
	{bench.ModeGarbage, "error", 0},
	{bench.ModeError, "error", 0},
	{bench.ModeHang, "timeout", 0},
	{bench.ModeClose, "error", 0},
	{bench.ModeSlowBody, "timeout", 0}, // the body trickles for 900ms, past tmax
	{bench.ModeBadBids, "bid", 5},      // five bids, each invalid
	{bench.ModeWrongID, "error", 0},
}

// testDSPFaults: for each mock DSP fault alone, and for all of them at
// once, every request is answered within tmax plus slack, never with a
// 5xx, and adx counts each call's outcome as the fault implies.
func testDSPFaults(t *testing.T) {
	sz := sizes()
	const tmax = 150 * time.Millisecond
	_, url := startDSP(t, bench.MockDSPConfig{Latency: 2 * time.Millisecond, BidRate: 1, Price: 1})
	endpoint := func(mode string) string { return url + "?mode=" + mode }

	for _, f := range faultModes {
		t.Run(f.mode, func(t *testing.T) {
			a := startAdx(t, nil, writeConfig(t, "demand:\n  - {name: dsp, type: openrtb, endpoint: \""+endpoint(f.mode)+"\"}\n"))
			wantStatus := 204
			if f.outcome == "bid" && f.dropped == 0 {
				wantStatus = 200
			}
			took, statuses := faultLoad(t, a, sz.faultRequests, tmax, wantStatus)
			m := a.scrape(t)
			got := m.sum("adx_demand_requests_total", "demand", "dsp", "outcome", f.outcome)
			dropped := m.sum("adx_bids_dropped_total", "demand", "dsp")
			figure(t, "dspfaults/"+f.mode, "requests", sz.faultRequests, "tmax", tmax, "statuses", statuses, "slowest", ms(took),
				"outcomes", outcomeSummary(nil, m, "dsp"), "dropped", dropped)
			if int(got) != sz.faultRequests {
				t.Errorf("adx_demand_requests_total{outcome=%q} = %v after %d calls; all outcomes %s", f.outcome, got, sz.faultRequests, outcomeSummary(nil, m, "dsp"))
			}
			if want := float64(f.dropped * sz.faultRequests); dropped != want {
				t.Errorf("adx_bids_dropped_total = %v, want %v", dropped, want)
			}
			if n := m.status5xx(); n > 0 {
				t.Errorf("adx counted %v 5xx answers", n)
			}
		})
	}

	t.Run("mix", func(t *testing.T) {
		cfg := "demand:\n"
		for _, f := range faultModes {
			cfg += "  - {name: dsp-" + f.mode + ", type: openrtb, endpoint: \"" + endpoint(f.mode) + "\"}\n"
		}
		a := startAdx(t, nil, writeConfig(t, cfg))
		took, statuses := faultLoad(t, a, sz.faultRequests, tmax, 200) // the normal DSP always bids
		m := a.scrape(t)
		figure(t, "dspfaults/mix", "requests", sz.faultRequests, "dsps", len(faultModes), "tmax", tmax, "statuses", statuses, "slowest", ms(took))
		for _, f := range faultModes {
			name := "dsp-" + f.mode
			if got := m.sum("adx_demand_requests_total", "demand", name, "outcome", f.outcome); int(got) != sz.faultRequests {
				t.Errorf("%s: adx_demand_requests_total{outcome=%q} = %v after %d calls; all outcomes %s", name, f.outcome, got, sz.faultRequests, outcomeSummary(nil, m, name))
			}
			if got, want := m.sum("adx_bids_dropped_total", "demand", name), float64(f.dropped*sz.faultRequests); got != want {
				t.Errorf("%s: adx_bids_dropped_total = %v, want %v", name, got, want)
			}
		}
		if n := m.status5xx(); n > 0 {
			t.Errorf("adx counted %v 5xx answers", n)
		}
	})
}

// faultLoad sends n requests, four at a time, each with tmax, checks that
// each is answered with want within tmax plus slack, and returns the
// slowest answer and the statuses seen.
func faultLoad(t *testing.T, a *adxProc, n int, tmax time.Duration, want int) (slowest time.Duration, statuses string) {
	t.Helper()
	c := clientFrom("127.0.0.1", true, 5*time.Second)
	answers := make([]answer, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			answers[i] = postJSON(c, a.auctionURL(), bannerRequest("f"+strconv.Itoa(i), strconv.Itoa(int(tmax.Milliseconds()))))
			<-sem
		}()
	}
	wg.Wait()
	seen := newTally()
	for _, r := range answers {
		if r.err != nil {
			seen.add(errOutcome(r.err))
			t.Errorf("no answer after %v: %v", r.took, r.err)
			continue
		}
		seen.add(outcome{kind: "answer", status: r.status})
		slowest = max(slowest, r.took)
		if r.status != want {
			t.Errorf("status %d %s, want %d", r.status, r.body, want)
		}
		if r.took > tmax+answerSlack {
			t.Errorf("answered after %v, want within tmax %v + %v", r.took, tmax, answerSlack)
		}
	}
	return slowest, strings.ReplaceAll(seen.String(), ",", "+")
}
