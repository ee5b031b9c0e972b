package auction

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/currency"
	"github.com/adx-exchange/adx/internal/goldentest"
	"github.com/adx-exchange/adx/openrtb"
)

var update = flag.Bool("update", false, "rewrite the golden files' expected results from what the code does now")

// staticBidder answers every auction with fixed bids, once hold (if set)
// is closed, or panics: it drives the auction rules, not the transport.
// Its bids are in seat and cur, like a DSP's answer.
type staticBidder struct {
	name      string
	bids      []openrtb2.Bid
	seat, cur string
	hold      chan struct{}
	panic     bool
}

func (s *staticBidder) answer(req *openrtb2.BidRequest, deadline time.Time) (dspAnswer, error) {
	bids, err := s.Bid(req, deadline)
	return dspAnswer{bids: bids, seat: s.seat, cur: s.cur}, err
}

func (s *staticBidder) Name() string { return s.name }

func (s *staticBidder) Bid(_ *openrtb2.BidRequest, _ time.Time) ([]openrtb2.Bid, error) {
	if s.panic {
		panic("broken bidder")
	}
	if s.hold != nil {
		<-s.hold
	}
	return append([]openrtb2.Bid(nil), s.bids...), nil
}

type goldenCase struct {
	Description string          `json:"description"`
	Request     json.RawMessage `json:"request"`
	Limits      *goldenLimits   `json:"limits,omitempty"`
	Rules       *goldenRules    `json:"rules,omitempty"`
	// Supply are the supply partner's settings the request comes under;
	// absent, none.
	Supply   *goldenSupply             `json:"supply,omitempty"`
	Bidders  []goldenBidder            `json:"bidders"`
	Response *openrtb2.BidResponse     `json:"response"`
	Dropped  map[string]map[string]int `json:"dropped"`
	// Filtered are the bidders not called, with the reason.
	Filtered map[string]string `json:"filtered,omitempty"`
}

// goldenSupply are a supply partner's auction settings, as config names
// them.
type goldenSupply struct {
	AuctionType int      `json:"auction_type,omitempty"`
	TakeRate    *float64 `json:"take_rate,omitempty"`
	Demand      []string `json:"demand,omitempty"`
	BlockDemand []string `json:"block_demand,omitempty"`
}

// options returns the RunOptions of s on a; nil for none.
func (s *goldenSupply) options(a *Auction) *RunOptions {
	if s == nil {
		return nil
	}
	o := a.SupplyOptions(&config.Supply{AuctionType: s.AuctionType, TakeRate: s.TakeRate, Demand: s.Demand, BlockDemand: s.BlockDemand})
	return &o
}

// goldenLimits are the auction limits of a case, as config names them;
// absent, no limit applies.
type goldenLimits struct {
	MaxBidsPerResponse int     `json:"max_bids_per_response,omitempty"`
	MaxBidPrice        float64 `json:"max_bid_price,omitempty"`
}

// goldenRules are a case's clearing rules, as config names them; absent,
// the config defaults (first price, increment 0.01, deal priority on, no
// take rate, precision 0.0001, USD alone).
type goldenRules struct {
	Type           int      `json:"type,omitempty"`
	Increment      *float64 `json:"increment,omitempty"`
	DealPriority   *bool    `json:"deal_priority,omitempty"`
	TakeRate       float64  `json:"take_rate,omitempty"`
	PricePrecision *float64 `json:"price_precision,omitempty"`
	// Rates are units of each currency per USD; Stale makes them too old.
	Rates map[string]float64 `json:"rates,omitempty"`
	Stale bool               `json:"stale,omitempty"`
}

type goldenBidder struct {
	Name string         `json:"name"`
	Seat string         `json:"seat,omitempty"`
	Cur  string         `json:"cur,omitempty"`
	Bids []openrtb2.Bid `json:"bids"`
	// The partner's terms: bid_multiplier (0: 1) and take_rate (absent:
	// the rules').
	Multiplier float64  `json:"bid_multiplier,omitempty"`
	TakeRate   *float64 `json:"take_rate,omitempty"`
}

// testRates is a fixed table of rates, units of each currency per USD,
// dated today, or long ago when stale.
func testRates(t testing.TB, perUSD map[string]float64, stale bool) *currency.Source {
	t.Helper()
	date := time.Now().UTC().Format(time.DateOnly)
	if stale {
		date = "2020-01-02"
	}
	js, err := json.Marshal(map[string]any{"base": "USD", "date": date, "rates": perUSD})
	if err != nil {
		t.Fatal(err)
	}
	r, err := currency.ParseRates(js)
	if err != nil {
		t.Fatal(err)
	}
	return currency.FixedSource(r, 144*time.Hour)
}

// goldenAuction builds the auction a case describes, from the config
// defaults and the case's rules, limits and terms.
func goldenAuction(t *testing.T, gc *goldenCase) *Auction {
	cfg := config.Defaults()
	a := &cfg.Auction
	if l := gc.Limits; l != nil {
		a.MaxBidsPerResponse, a.MaxBidPrice = l.MaxBidsPerResponse, l.MaxBidPrice
	}
	var rates *currency.Source
	if r := gc.Rules; r != nil {
		if r.Type != 0 {
			a.Type = r.Type
		}
		if r.Increment != nil {
			a.Increment = *r.Increment
		}
		if r.DealPriority != nil {
			a.DealPriority = *r.DealPriority
		}
		if r.PricePrecision != nil {
			a.PricePrecision = *r.PricePrecision
		}
		a.TakeRate = r.TakeRate
		if r.Rates != nil {
			rates = testRates(t, r.Rates, r.Stale)
		}
	}
	cfg.Demand = nil
	bidders := make([]Bidder, len(gc.Bidders))
	for i, b := range gc.Bidders {
		bidders[i] = &staticBidder{name: b.Name, bids: b.Bids, seat: b.Seat, cur: b.Cur}
		cfg.Demand = append(cfg.Demand, config.Demand{Name: b.Name, BidMultiplier: b.Multiplier, TakeRate: b.TakeRate})
	}
	rules := RulesFromConfig(cfg, rates)
	if gc.Limits == nil {
		rules.Limits = Limits{}
	}
	return New(bidders, rules, nil)
}

// TestGolden runs every testdata/golden/*.json case: a request, the bids
// each bidder returns, and the expected response and dropped-bid counts.
func TestGolden(t *testing.T) {
	goldentest.Each(t, "testdata/golden/*.json", func(t *testing.T, file string, gc *goldenCase) {
		var req openrtb2.BidRequest
		if err := openrtb.DecodeRequest(gc.Request, &req); err != nil {
			t.Fatalf("request: %v", err)
		}
		if err := openrtb.ValidateRequest(&req, openrtb.Limits{}); err != nil {
			t.Fatalf("request: %v", err)
		}
		a := goldenAuction(t, gc)
		res := a.RunWith(&req, time.Now().Add(time.Second), gc.Supply.options(a))
		resp := &openrtb2.BidResponse{}
		if !res.Response(&req, resp) {
			resp = nil
		}
		// Built in room for one seat and one bid, the response is the same.
		var room ResponseRoom
		inRoom := &openrtb2.BidResponse{}
		if won := res.ResponseInto(&req, inRoom, &room); won != (resp != nil) || won && !reflect.DeepEqual(inRoom, resp) {
			t.Errorf("in room: won %v, response %+v; want %+v", won, inRoom, resp)
		}
		dropped := map[string]map[string]int{}
		var filtered map[string]string
		for _, br := range res.Bidders {
			var fe *FilteredError
			if errors.As(br.Err, &fe) {
				if filtered == nil {
					filtered = map[string]string{}
				}
				filtered[br.Name] = fe.Reason.String()
			}
			for reason, n := range br.Dropped {
				if n > 0 {
					if dropped[br.Name] == nil {
						dropped[br.Name] = map[string]int{}
					}
					dropped[br.Name][DropReason(reason).String()] = n
				}
			}
		}
		if *update {
			gc.Response, gc.Dropped, gc.Filtered = resp, dropped, filtered
			out, _ := json.MarshalIndent(gc, "", "  ")
			if err := os.WriteFile(file, append(out, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if got, want := mustJSON(t, resp), mustJSON(t, gc.Response); got != want {
			t.Errorf("%s\nresponse:\n got %s\nwant %s", gc.Description, got, want)
		}
		if got, want := mustJSON(t, dropped), mustJSON(t, gc.Dropped); got != want {
			t.Errorf("%s\ndropped:\n got %s\nwant %s", gc.Description, got, want)
		}
		if got, want := mustJSON(t, filtered), mustJSON(t, gc.Filtered); got != want {
			t.Errorf("%s\nfiltered:\n got %s\nwant %s", gc.Description, got, want)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(buf.String())
}

func TestRunBoundsSlowAndBrokenBidders(t *testing.T) {
	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}
	fast := &staticBidder{name: "fast", bids: []openrtb2.Bid{{ID: "f", ImpID: "1", Price: 1, AdM: "x", CrID: "c"}}}
	// The slow bidder answers only after the test: Run must return at its
	// deadline, which leaves the fast bidder ample time even on a busy
	// machine.
	slow := &staticBidder{name: "slow", hold: make(chan struct{}), bids: []openrtb2.Bid{{ID: "s", ImpID: "1", Price: 9, AdM: "x", CrID: "c"}}}
	defer close(slow.hold)
	broken := &staticBidder{name: "broken", panic: true}
	a := New([]Bidder{slow, broken, fast}, Rules{Currency: "USD"}, nil)

	done := make(chan *Result, 1)
	go func() { done <- a.Run(req, time.Now().Add(500*time.Millisecond)) }()
	var res *Result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run waited for a bidder that does not answer; the deadline was 500ms")
	}
	want := []Outcome{OutcomeTimeout, OutcomeError, OutcomeBid}
	for i, br := range res.Bidders {
		if br.Outcome != want[i] {
			t.Errorf("bidder %s: outcome %v, want %v (err %v)", br.Name, br.Outcome, want[i], br.Err)
		}
	}
	// The auction waited for the slow bidder until its deadline.
	if w := res.Bidders[0].Wait; w == 0 || w != res.Bidders[0].Latency || res.DemandWait() != w {
		t.Errorf("slow bidder's wait %v (latency %v, demand wait %v): want its whole latency, the longest wait", w, res.Bidders[0].Latency, res.DemandWait())
	}
	var pe *panicError
	if !errors.As(res.Bidders[1].Err, &pe) {
		t.Errorf("broken bidder's error is %v, want a recovered panic", res.Bidders[1].Err)
	}
	if len(res.Winners) != 1 || res.Winners[0].Bid.ID != "f" {
		t.Fatalf("winners %+v, want the fast bid alone", res.Winners)
	}
}
