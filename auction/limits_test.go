package auction

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/openrtb"
)

func TestBudget(t *testing.T) {
	const def, max = 200 * time.Millisecond, time.Second
	f := func(tmax int64, want time.Duration) {
		t.Helper()
		if got := Budget(tmax, def, max); got != want {
			t.Errorf("Budget(%d) = %v, want %v", tmax, got, want)
		}
	}
	f(0, def)
	f(-1, def)
	f(math.MinInt64, def)
	f(1, time.Millisecond)
	f(120, 120*time.Millisecond)
	f(1000, max)
	f(1001, max)
	f(9223372036855, max) // × 1 ms passes math.MaxInt64 ns: 292 years before the cap
	f(9223372036855775, max)
	f(math.MaxInt64, max)

	// A cap that is not a whole number of milliseconds.
	if got := Budget(2, def, 1500*time.Microsecond); got != 1500*time.Microsecond {
		t.Errorf("tmax 2 under a 1.5ms cap: %v", got)
	}
	if got := Budget(1, def, 1500*time.Microsecond); got != time.Millisecond {
		t.Errorf("tmax 1 under a 1.5ms cap: %v", got)
	}
	if got := Budget(0, 2*time.Second, max); got != max {
		t.Errorf("a default above the cap: %v, want the cap", got)
	}
}

func TestLimitsFromConfigDefaults(t *testing.T) {
	got := LimitsFromConfig(&config.Defaults().Auction)
	if want := (Limits{MaxImps: 100, MaxBidsPerResponse: 500, MaxBidPrice: 1000}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestValidateRequestMaxImps(t *testing.T) {
	a := New(nil, Rules{Currency: "USD", Limits: Limits{MaxImps: 100}}, nil)
	req := func(n int) *openrtb2.BidRequest {
		r := &openrtb2.BidRequest{ID: "r", Imp: make([]openrtb2.Imp, n)}
		for i := range r.Imp {
			r.Imp[i] = openrtb2.Imp{ID: strconv.Itoa(i), Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}}
		}
		return r
	}
	if err := a.ValidateRequest(req(100)); err != nil {
		t.Errorf("100 imps: %v", err)
	}
	re, ok := a.ValidateRequest(req(101)).(*openrtb.RequestError)
	if !ok || re.Error() != "imp has 101 imps; at most 100 are allowed" {
		t.Errorf("101 imps: got %v", re)
	}
	// The limit is the auction's: the object model alone sets none.
	if err := openrtb.ValidateRequest(req(101), openrtb.Limits{}); err != nil {
		t.Errorf("ValidateRequest without limits: %v", err)
	}
	// Object-model errors still come through the auction's validation.
	bad := req(1)
	bad.ID = ""
	if re, ok := a.ValidateRequest(bad).(*openrtb.RequestError); !ok || re.Field != "id" {
		t.Errorf("no id: got %v", re)
	}
}

// bidsOn returns n valid bids on imp ids "0".."imps-1" in turn.
func bidsOn(imps, n int, price float64) []openrtb2.Bid {
	bids := make([]openrtb2.Bid, n)
	for k := range bids {
		bids[k] = openrtb2.Bid{ID: "b" + strconv.Itoa(k), ImpID: strconv.Itoa(k % imps), Price: price, AdM: "<a/>", CrID: "c"}
	}
	return bids
}

func impsN(n int) *openrtb2.BidRequest {
	req := &openrtb2.BidRequest{ID: "r", Imp: make([]openrtb2.Imp, n)}
	for i := range req.Imp {
		req.Imp[i] = openrtb2.Imp{ID: strconv.Itoa(i), Banner: &openrtb2.Banner{}}
	}
	return req
}

func TestValidateBidsLimits(t *testing.T) {
	req := impsN(3)
	imps := newImpIndex(req.Imp)
	later := time.Now().Add(time.Hour)
	f := func(name string, limits Limits, bids []openrtb2.Bid, deadline time.Time, kept int, dropped map[DropReason]int) {
		t.Helper()
		a := New(nil, Rules{Currency: "USD", Limits: limits}, nil)
		r := BidderResult{Name: "dsp", Bids: bids}
		a.validateBids(req, &fx{}, &imps, deadline, 0, &r, make([]impRace, len(req.Imp)), nil)
		if len(r.Bids) != kept {
			t.Errorf("%s: kept %d bids, want %d", name, len(r.Bids), kept)
		}
		listed := 0
		for reason := range numDropReasons {
			if got := r.Dropped[reason]; got != dropped[reason] {
				t.Errorf("%s: dropped %s %d, want %d", name, reason, got, dropped[reason])
			}
			if reason != DropTooManyBids && reason != DropLate {
				listed += dropped[reason]
			}
		}
		// Checked bids that fail are listed one by one with their reason;
		// the unchecked ones only counted.
		if len(r.Drops) != listed {
			t.Errorf("%s: %d drops listed, want %d", name, len(r.Drops), listed)
		}
		for _, d := range r.Drops {
			if d.BidID == "" || d.ImpID == "" || dropped[d.Reason] == 0 {
				t.Errorf("%s: listed drop %+v, which the counts do not show", name, d)
			}
		}
	}
	f("under every limit", Limits{MaxBidsPerResponse: 10, MaxBidPrice: 5}, bidsOn(3, 10, 5), later, 10, nil)
	f("too many bids", Limits{MaxBidsPerResponse: 500}, bidsOn(3, 25000, 1), later, 500, map[DropReason]int{DropTooManyBids: 24500})
	f("no bid limit", Limits{}, bidsOn(3, 2000, 1), later, 2000, nil)

	huge := bidsOn(3, 4, 1)
	huge[0].Price, huge[1].Price, huge[2].Price = 1e308, 1000.000001, 1000
	f("price too high", Limits{MaxBidPrice: 1000}, huge, later, 2, map[DropReason]int{DropPriceTooHigh: 2})
	inf := bidsOn(3, 2, 1)
	inf[0].Price = math.Inf(1)
	f("infinity is an invalid price", Limits{MaxBidPrice: 1000}, inf, later, 1, map[DropReason]int{DropInvalidPrice: 1})

	// Past the deadline the first lateCheckEvery bids are still checked
	// (an answer of a few bids is never cut), the rest are dropped.
	past := time.Now().Add(-time.Millisecond)
	f("late", Limits{}, bidsOn(3, 1000, 1), past, lateCheckEvery, map[DropReason]int{DropLate: 1000 - lateCheckEvery})
	f("late, small answer", Limits{}, bidsOn(3, lateCheckEvery, 1), past, lateCheckEvery, nil)
	mixed := bidsOn(3, 200, 1)
	mixed[3].CrID = ""
	f("late after a drop", Limits{}, mixed, past, lateCheckEvery-1, map[DropReason]int{DropNoCreative: 1, DropLate: 200 - lateCheckEvery})
}

// TestValidateBidsKeepsOrder checks the in-place compaction: kept bids stay
// in their order and are the right ones.
func TestValidateBidsKeepsOrder(t *testing.T) {
	req := impsN(2)
	imps := newImpIndex(req.Imp)
	bids := bidsOn(2, 8, 1)
	bids[0].CrID, bids[3].ImpID, bids[4].Price = "", "nope", 0
	r := BidderResult{Bids: bids}
	races := make([]impRace, len(req.Imp))
	a := New(nil, Rules{Currency: "USD"}, nil)
	a.validateBids(req, &fx{}, &imps, time.Now().Add(time.Hour), 0, &r, races, nil)
	var ids string
	for _, b := range r.Bids {
		ids += b.ID + " "
	}
	if ids != "b1 b2 b5 b6 b7 " {
		t.Errorf("kept %q, want b1 b2 b5 b6 b7", ids)
	}
	// The winners point at the kept bids, after the compaction.
	w := a.winners(req, &fx{}, races, "USD", nil, nil)
	if len(w) != 2 || w[0].Bid != &r.Bids[1] || w[1].Bid != &r.Bids[0] || w[0].Bid.ID != "b2" || w[1].Bid.ID != "b1" {
		t.Errorf("winners %+v, want b2 (imp 0) and b1 (imp 1) in the kept bids", w)
	}
}

// referenceWinners is the rule picker implements, written the slow and
// obvious way: per imp, over every bidder in config order and every bid.
func referenceWinners(req *openrtb2.BidRequest, bidders []BidderResult) []Winner {
	var winners []Winner
	for i := range req.Imp {
		var best Winner
		for b := range bidders {
			for k := range bidders[b].Bids {
				bid := &bidders[b].Bids[k]
				if bid.ImpID != req.Imp[i].ID {
					continue
				}
				if best.Bid == nil || bid.Price > best.Bid.Price ||
					bid.Price == best.Bid.Price && best.Seat == bidders[b].Name && bid.ID < best.Bid.ID {
					best = Winner{Seat: bidders[b].Name, Bid: bid, bidder: b}
				}
			}
		}
		if best.Bid != nil {
			winners = append(winners, best)
		}
	}
	return winners
}

// TestPickerMatchesReference compares the winners chosen during validation
// with the reference on random auctions with many ties, on both sides of
// impScanLimit.
func TestPickerMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, nImps := range []int{1, 3, impScanLimit, impScanLimit + 1, 60} {
		for round := range 50 {
			req := impsN(nImps)
			bidders := make([]BidderResult, 1+rng.IntN(4))
			for b := range bidders {
				bidders[b].Name = "dsp-" + strconv.Itoa(b)
				for range rng.IntN(3 * nImps) {
					bidders[b].Bids = append(bidders[b].Bids, openrtb2.Bid{
						ID:    "b" + strconv.Itoa(rng.IntN(5)),
						ImpID: strconv.Itoa(rng.IntN(nImps)),
						Price: float64(1 + rng.IntN(3)), // few prices: many ties
						AdM:   "<a/>", CrID: "c",
					})
				}
			}
			want := referenceWinners(req, bidders) // all bids are valid
			imps := newImpIndex(req.Imp)
			races := make([]impRace, len(req.Imp))
			a := New(nil, Rules{Currency: "USD"}, nil)
			for b := range bidders {
				a.validateBids(req, &fx{}, &imps, time.Now().Add(time.Hour), b, &bidders[b], races, nil)
			}
			got := a.winners(req, &fx{}, races, "USD", nil, nil)
			if len(got) != len(want) {
				t.Fatalf("%d imps, round %d: %d winners, want %d", nImps, round, len(got), len(want))
			}
			for i := range got {
				if got[i].Seat != want[i].Seat || got[i].Bid != want[i].Bid {
					t.Fatalf("%d imps, round %d, winner %d: %s %+v, want %s %+v", nImps, round, i, got[i].Seat, *got[i].Bid, want[i].Seat, *want[i].Bid)
				}
			}
		}
	}
}

// TestBidMatchingIsLinearInBids: checking bids and choosing winners must
// cost O(bids), not O(imps × bids). The same 20,000 bids are spread over
// 100 imps and over 1,000 imps; linear matching takes about as long for
// both, matching every bid against every imp ten times as long. The best
// of several runs of each, interleaved, is compared, so machine load and
// the race detector slow both sides alike.
func TestBidMatchingIsLinearInBids(t *testing.T) {
	const bids = 20000
	// Every bid is valid, so validation leaves the answers as they are and
	// each run can reuse them.
	run := map[int]func() time.Duration{}
	for _, n := range []int{100, 1000} {
		req, answers := manyBids(n, bids/n/2)
		run[n] = func() time.Duration {
			results := []BidderResult{{Name: "a", Bids: answers[0]}, {Name: "b", Bids: answers[1]}}
			start := time.Now()
			if w := validateAndPick(req, results, start.Add(time.Hour)); len(w) != n {
				t.Fatalf("%d winners, want %d", len(w), n)
			}
			return time.Since(start)
		}
	}
	best := map[int]time.Duration{}
	for range 5 {
		for _, n := range []int{100, 1000} {
			if d := run[n](); best[n] == 0 || d < best[n] {
				best[n] = d
			}
		}
	}
	ratio := float64(best[1000]) / float64(best[100])
	t.Logf("%d bids on 1,000 imps: %v, on 100 imps: %v (%.1f×)", bids, best[1000], best[100], ratio)
	if ratio > 4 {
		t.Errorf("bids on 1,000 imps took %.1f times as long as on 100 imps, want about the same", ratio)
	}
}

// Every drop reason has an OpenRTB loss code (list 5.25), from its ranges.
func TestDropReasonLossCodes(t *testing.T) {
	for r := range numDropReasons {
		c := r.LossCode()
		if !(c >= 1 && c <= 10 || c >= 100 && c <= 104 || c >= 200 && c <= 213) {
			t.Errorf("%s: loss code %d is not in OpenRTB list 5.25", r, c)
		}
	}
	if DropBelowFloor.LossCode() != 100 || DropWrongSize.LossCode() != 203 || DropBlockedCategory.LossCode() != 209 {
		t.Error("the loss codes of below_floor, wrong_size and blocked_category are not 100, 203 and 209")
	}
}

// WinnerOf finds each imp's winner, with or without a hint, and nil for an
// imp without one; a hint walks a response in order one step per bid.
func TestWinnerOf(t *testing.T) {
	bids := bidsOn(3, 3, 1)
	r := &Result{Winners: []Winner{{Bid: &bids[0]}, {Bid: &bids[2]}}} // imps "0" and "2"
	hint := 0
	for _, c := range []struct {
		imp      string
		want     *openrtb2.Bid
		hintNext int
	}{{"0", &bids[0], 1}, {"2", &bids[2], 0}, {"2", &bids[2], 0}, {"1", nil, 0}, {"0", &bids[0], 1}} {
		got := r.WinnerOf(c.imp, &hint)
		if (got == nil) != (c.want == nil) || got != nil && got.Bid != c.want || hint != c.hintNext {
			t.Errorf("WinnerOf(%q) = %v, hint %d; want the bid %v, hint %d", c.imp, got, hint, c.want, c.hintNext)
		}
		if w := r.WinnerOf(c.imp, nil); w != got {
			t.Errorf("WinnerOf(%q, nil) = %v, want %v as with a hint", c.imp, w, got)
		}
	}
}
