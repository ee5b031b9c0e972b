package reliability

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/adx-exchange/adx/internal/bench"
)

// defaultMaxImps is auction.max_imps's documented default.
const defaultMaxImps = 100

// impsRequest is a valid request with n banner imps and the given tmax.
func impsRequest(id string, n int, tmax time.Duration) string {
	var b strings.Builder
	b.WriteString(`{"id":"` + id + `","tmax":` + strconv.Itoa(int(tmax.Milliseconds())) + `,"site":{"page":"https://pub.example/"},"imp":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":"` + strconv.Itoa(i+1) + `","banner":{"w":300,"h":250}}`)
	}
	b.WriteString("]}")
	return b.String()
}

// testManyImpsAndBids: a request past auction.max_imps gets 400 naming
// imp; a request at the limit, against a DSP answering 25 bids per imp
// (2,500 bids, about 1 MB), is answered within tmax + 5 ms.
func testManyImpsAndBids(t *testing.T) {
	const tmax = 100 * time.Millisecond
	_, url := startDSP(t, bench.MockDSPConfig{BidRate: 1, Price: 1, PriceJitter: 1, BidsPerImp: 25})
	// Two DSP latencies: one leaves adx plenty of time to decode and judge
	// the 2,500 bids, one lands the big answer just before the deadline.
	cfg := "demand:\n" +
		"  - {name: early, type: openrtb, endpoint: \"" + url + "?latency=20ms\"}\n" +
		"  - {name: late, type: openrtb, endpoint: \"" + url + "?latency=" + (tmax - safetyMargin - 15*time.Millisecond).String() + "\"}\n"
	a := startAdx(t, nil, writeConfig(t, cfg))
	c := clientFrom("127.0.0.1", true, 5*time.Second)

	over := postJSON(c, a.auctionURL(), impsRequest("over", 1000, tmax))
	if over.err != nil {
		t.Fatal(over.err)
	}
	if over.status != 400 || !strings.Contains(jsonError(over.body), "imp") {
		t.Errorf("1,000 imps: status %d %.200s; want 400 naming imp (auction.max_imps, default %d)", over.status, over.body, defaultMaxImps)
	}

	before := a.scrape(t)
	const n = 20
	var took []time.Duration
	winners, statuses := 0, map[int]int{}
	body := impsRequest("many", defaultMaxImps, tmax)
	for range n {
		r := postJSON(c, a.auctionURL(), body)
		if r.err != nil {
			t.Fatal(r.err)
		}
		statuses[r.status]++
		took = append(took, r.took)
		if r.status == 200 {
			var resp struct {
				SeatBid []struct{ Bid []json.RawMessage } `json:"seatbid"`
			}
			if err := json.Unmarshal(r.body, &resp); err != nil {
				t.Fatalf("the answer is not a BidResponse: %v", err)
			}
			for _, sb := range resp.SeatBid {
				winners += len(sb.Bid)
			}
		}
	}
	m := a.scrape(t)
	p50, worst := percentile(took, 0.5), percentile(took, 1)
	figure(t, "imps", "over_limit", strconv.Itoa(over.status)+":"+strings.ReplaceAll(jsonError(over.body), " ", "_"),
		"requests", n, "imps", defaultMaxImps, "dsp_bids_per_request", 2*25*defaultMaxImps, "tmax", tmax,
		"p50", ms(p50), "max", ms(worst), "statuses", statuses, "winners_per_answer", winners/max(statuses[200], 1),
		"early_outcomes", outcomeSummary(before, m, "early"), "late_outcomes", outcomeSummary(before, m, "late"))
	if r := statuses[200] + statuses[204]; r != n {
		t.Errorf("statuses %v, want only 200 and 204", statuses)
	}
	// The median must meet tmax + 5 ms; every answer must meet it with the
	// loaded machine's slack.
	if p50 > tmax+5*time.Millisecond {
		t.Errorf("100 imps x 25 bids: median answer after %v, want within tmax + 5ms = %v", p50, tmax+5*time.Millisecond)
	}
	if worst > tmax+5*time.Millisecond+answerSlack {
		t.Errorf("100 imps x 25 bids: slowest answer after %v, want within %v", worst, tmax+5*time.Millisecond+answerSlack)
	}
}

// outcomeSummary lists a demand partner's call outcomes between two
// scrapes, e.g. bid:20,nobid:0,timeout:0,error:0.
func outcomeSummary(before, after metricSet, demand string) string {
	var parts []string
	for _, o := range []string{"bid", "nobid", "timeout", "error"} {
		n := after.sum("adx_demand_requests_total", "demand", demand, "outcome", o) - before.sum("adx_demand_requests_total", "demand", demand, "outcome", o)
		parts = append(parts, o+":"+strconv.FormatFloat(n, 'f', -1, 64))
	}
	return strings.Join(parts, ",")
}
