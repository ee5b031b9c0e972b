package reliability

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/bench"
	"github.com/adx-exchange/adx/internal/stalltest"
)

// adx's default auction settings.
const (
	defaultTmax  = 200 * time.Millisecond
	maxTmax      = time.Second
	safetyMargin = 10 * time.Millisecond
)

// answerSlack is how late past its deadline an answer may reach the
// client on a loaded 2-core machine: scheduling, the loopback round trip
// and the answer's encoding. With a dozen runnable threads per core
// (other test suites), a process may wait over 150ms for a CPU
// (measured: a request to a 2ms mock DSP answered after 177ms). Every
// figure reports the raw time as well.
const answerSlack = 100 * time.Millisecond

// testOddTmax: against a DSP that never answers, every tmax is answered
// within its effective value (capped at auction.max_tmax) plus slack; a
// negative or non-integer tmax gets 400 naming tmax; no auction stays in
// flight afterwards.
func testOddTmax(t *testing.T) {
	_, url := startDSP(t, bench.MockDSPConfig{Mode: bench.ModeHang})
	a := startAdx(t, nil, writeConfig(t, "demand:\n  - {name: dsp, type: openrtb, endpoint: \""+url+"\"}\n"))

	cases := []struct {
		name, tmax string
		status     int
		effective  time.Duration // the tmax adx must apply
	}{
		{"huge_ms", "9223372036855", 204, maxTmax}, // overflows int64 nanoseconds
		{"max_int64", "9223372036854775807", 204, maxTmax},
		{"just_over_cap", "1001", 204, maxTmax},
		{"one", "1", 204, time.Millisecond}, // less than the safety margin: no time for demand
		{"zero", "0", 204, defaultTmax},
		{"absent", "", 204, defaultTmax},
		{"minus_one", "-1", 400, 0},
		{"string", `"100"`, 400, 0},
		{"fraction", "100.5", 400, 0},
	}
	const repeats = 3
	got := make([][repeats]answer, len(cases))
	stall := stalltest.Watch()
	var wg sync.WaitGroup
	c := clientFrom("127.0.0.1", true, 5*time.Second)
	for i, tc := range cases {
		for r := range repeats {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i][r] = postJSON(c, a.auctionURL(), bannerRequest(tc.name+"-"+strconv.Itoa(r), tc.tmax))
			}()
		}
	}
	wg.Wait()
	// On a machine with more runnable threads than cores, every process
	// waits its turn, adx as well as this one. The slack grows by the
	// longer of two delays measured in this burst: the longest a 1ms sleep
	// of this process overslept, and the slowest 400 (an answer that waits
	// for nothing but decoding), so that only lateness adx adds to its
	// deadline fails the test.
	delay := stall()
	for i, tc := range cases {
		for _, r := range got[i] {
			if tc.status == 400 && r.err == nil {
				delay = max(delay, r.took)
			}
		}
	}
	slack := answerSlack + delay

	var parts []any
	for i, tc := range cases {
		var took []string
		for _, r := range got[i] {
			took = append(took, strconv.Itoa(r.status)+"@"+ms(r.took))
			switch {
			case r.err != nil:
				t.Errorf("tmax %s: %v", tc.tmax, r.err)
				continue
			case r.status != tc.status:
				t.Errorf("tmax %s: status %d %s, want %d", tc.tmax, r.status, r.body, tc.status)
			case tc.status == 400 && !strings.Contains(jsonError(r.body), "tmax"):
				t.Errorf("tmax %s: 400 %s does not name tmax", tc.tmax, r.body)
			}
			if tc.status != 204 {
				continue
			}
			if late := tc.effective + slack; r.took > late {
				t.Errorf("tmax %s: answered after %v, want within %v (effective tmax %v + %v slack + %v measured delay)", tc.tmax, r.took, late, tc.effective, answerSlack, delay)
			}
			// The DSP must have had its time: the auction waits until its
			// deadline, arrival + tmax - safety margin.
			if early := tc.effective - safetyMargin - 5*time.Millisecond; r.took < early {
				t.Errorf("tmax %s: answered after %v, before the deadline of the effective tmax %v (%v): the DSP was not given its time", tc.tmax, r.took, tc.effective, early)
			}
		}
		parts = append(parts, tc.name, strings.Join(took, ","))
	}

	inflight := -1.0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if inflight = a.scrape(t).sum("adx_auctions_inflight"); inflight == 0 {
			break
		}
	}
	parts = append(parts, "machine_delay", ms(delay), "inflight_after", inflight)
	figure(t, "tmax", parts...)
	if inflight != 0 {
		t.Errorf("adx_auctions_inflight is %v 5s after the last answer, want 0", inflight)
	}
}
