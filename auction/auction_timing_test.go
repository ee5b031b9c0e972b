package auction

import (
	stdjson "encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/openrtb"
)

func loadExample(b *testing.B, name string) []byte {
	b.Helper()
	body, err := os.ReadFile("../examples/" + name)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func defaultAuction(b *testing.B) *Auction {
	b.Helper()
	cfg, err := config.Load("")
	if err != nil {
		b.Fatal(err)
	}
	return FromConfig(cfg, nil, nil)
}

// BenchmarkAuction is one auction among the embedded default's house demand
// for a decoded banner request: fan-out, bid validation, winner choice and
// the response object.
func BenchmarkAuction(b *testing.B) {
	a := defaultAuction(b)
	var req openrtb2.BidRequest
	if err := openrtb.DecodeRequest(loadExample(b, "banner.json"), &req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res := a.Run(&req, time.Now().Add(time.Second))
		var resp openrtb2.BidResponse
		if !res.Response(&req, &resp) {
			b.Fatal("no winner")
		}
	}
}

// BenchmarkRequestPath is everything the public handler does for one
// request but HTTP: decode, validate, auction and encode the response.
func BenchmarkRequestPath(b *testing.B) {
	for _, name := range []string{"banner.json", "video.json", "app-native.json"} {
		b.Run(name, func(b *testing.B) {
			a := defaultAuction(b)
			body := loadExample(b, name)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var req openrtb2.BidRequest
				if err := openrtb.DecodeRequest(body, &req); err != nil {
					b.Fatal(err)
				}
				if err := a.ValidateRequest(&req); err != nil {
					b.Fatal(err)
				}
				res := a.Run(&req, time.Now().Add(time.Second))
				var resp openrtb2.BidResponse
				if !res.Response(&req, &resp) {
					b.Fatal("no winner")
				}
				if _, err := openrtb.EncodeResponse(&resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBaselineStdlibDecode is the yardstick the figures above are
// compared with in BENCHMARKS.md: encoding/json decoding the same requests
// into openrtb2.BidRequest, and nothing else. Machines here are noisy; a
// ratio against a baseline from the same run is what stays comparable.
func BenchmarkBaselineStdlibDecode(b *testing.B) {
	for _, name := range []string{"banner.json", "video.json", "app-native.json"} {
		b.Run(name, func(b *testing.B) {
			body := loadExample(b, name)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var req openrtb2.BidRequest
				if err := stdjson.Unmarshal(body, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// manyBids builds a request of imps banner imps and the answers of two
// bidders that bid perImp times on each imp, with prices that make every
// bidder win some imps.
func manyBids(imps, perImp int) (*openrtb2.BidRequest, [][]openrtb2.Bid) {
	req := &openrtb2.BidRequest{ID: "r", Imp: make([]openrtb2.Imp, imps)}
	for i := range req.Imp {
		req.Imp[i] = openrtb2.Imp{ID: "imp-" + strconv.Itoa(i), Banner: &openrtb2.Banner{}}
	}
	answers := make([][]openrtb2.Bid, 2)
	for b := range answers {
		for k := range perImp {
			for i := range req.Imp {
				answers[b] = append(answers[b], openrtb2.Bid{
					ID: "b" + strconv.Itoa(k) + "-" + strconv.Itoa(i), ImpID: req.Imp[i].ID,
					Price: float64(1 + (i*7+k*3+b)%13), AdM: "<b/>", CrID: "c",
				})
			}
		}
	}
	return req, answers
}

// BenchmarkValidatePick is the work between the bidders' answers and the
// winners: bid validation and the choice of the best bid per imp, for
// requests from one imp to 1,000 imps with 25 bids each from each of two
// bidders. Every bid is valid, so validation keeps each answer as it is and
// the loop needs no fresh copy of the bids.
func BenchmarkValidatePick(b *testing.B) {
	for _, c := range []struct{ imps, perImp int }{{1, 1}, {4, 2}, {16, 4}, {32, 2}, {100, 5}, {1000, 25}} {
		b.Run(strconv.Itoa(c.imps)+"imps-"+strconv.Itoa(c.imps*c.perImp*2)+"bids", func(b *testing.B) {
			req, answers := manyBids(c.imps, c.perImp)
			results := make([]BidderResult, len(answers))
			for i := range results {
				results[i] = BidderResult{Name: "dsp-" + strconv.Itoa(i), Bids: answers[i]}
			}
			deadline := time.Now().Add(time.Hour)
			b.ReportAllocs()
			for b.Loop() {
				for i := range results {
					results[i].Dropped = [numDropReasons]int{}
				}
				if w := validateAndPick(req, results, deadline); len(w) != c.imps {
					b.Fatalf("%d winners, want %d", len(w), c.imps)
				}
			}
			for i := range results {
				if len(results[i].Bids) != len(answers[i]) {
					b.Fatalf("bidder %d: %d bids kept of %d", i, len(results[i].Bids), len(answers[i]))
				}
			}
		})
	}
}

// validateAndPick is what Run does once the answers are in.
func validateAndPick(req *openrtb2.BidRequest, results []BidderResult, deadline time.Time) []Winner {
	a := New(nil, Rules{Currency: "USD"}, nil)
	imps := newImpIndex(req.Imp)
	races := make([]impRace, len(req.Imp))
	for i := range results {
		a.validateBids(req, &fx{}, &imps, deadline, i, &results[i], races, nil)
	}
	return a.winners(req, &fx{}, races, "USD", nil, nil)
}
