package auction

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/openrtb"
)

var update = flag.Bool("update", false, "rewrite the golden files' expected results from what the code does now")

// staticBidder answers every auction with fixed bids, once hold (if set)
// is closed, or panics: it drives the auction rules, not the transport.
type staticBidder struct {
	name  string
	bids  []openrtb2.Bid
	hold  chan struct{}
	panic bool
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
	Description string                    `json:"description"`
	Request     json.RawMessage           `json:"request"`
	Limits      *goldenLimits             `json:"limits,omitempty"`
	Bidders     []goldenBidder            `json:"bidders"`
	Response    *openrtb2.BidResponse     `json:"response"`
	Dropped     map[string]map[string]int `json:"dropped"`
}

// goldenLimits are the auction limits of a case, as config names them;
// absent, no limit applies.
type goldenLimits struct {
	MaxBidsPerResponse int     `json:"max_bids_per_response,omitempty"`
	MaxBidPrice        float64 `json:"max_bid_price,omitempty"`
}

type goldenBidder struct {
	Name string         `json:"name"`
	Bids []openrtb2.Bid `json:"bids"`
}

// TestGolden runs every testdata/golden/*.json case: a request, the bids
// each bidder returns, and the expected response and dropped-bid counts.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var gc goldenCase
			if err := json.Unmarshal(data, &gc); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			var req openrtb2.BidRequest
			if err := openrtb.DecodeRequest(gc.Request, &req); err != nil {
				t.Fatalf("request: %v", err)
			}
			if err := openrtb.ValidateRequest(&req, openrtb.Limits{}); err != nil {
				t.Fatalf("request: %v", err)
			}
			bidders := make([]Bidder, len(gc.Bidders))
			for i, b := range gc.Bidders {
				bidders[i] = &staticBidder{name: b.Name, bids: b.Bids}
			}
			var limits Limits
			if gc.Limits != nil {
				limits = Limits{MaxBidsPerResponse: gc.Limits.MaxBidsPerResponse, MaxBidPrice: gc.Limits.MaxBidPrice}
			}
			res := New(bidders, Rules{Currency: "USD", Limits: limits}, nil).Run(&req, time.Now().Add(time.Second))
			resp := &openrtb2.BidResponse{}
			if !res.Response(&req, resp) {
				resp = nil
			}
			dropped := map[string]map[string]int{}
			for _, br := range res.Bidders {
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
				gc.Response, gc.Dropped = resp, dropped
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
		})
	}
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
