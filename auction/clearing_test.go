package auction

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/currency"
)

// On random auctions under random rules, every winner's money holds the
// exchange's promises: the clearing price is never above the winning bid
// nor below the effective floor; what the SSP is paid (net) is never more
// than what the DSP is charged (gross), which is never more than it bid;
// and converting and rounding the price for the response never raises it.
func TestClearingProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	source := testRates(t, map[string]float64{"EUR": 0.92, "JPY": 151.3}, false)
	fx := source.Snapshot(time.Now())
	conv := func(m currency.Micros, from, to string, up bool) currency.Micros {
		round := currency.Down
		if up {
			round = currency.Up
		}
		v, err := fx.Convert(m, from, to, round)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	curs := []string{"USD", "EUR", "JPY"}
	price := func() float64 { return float64(1+rng.IntN(5_000_000)) / 1e6 }
	winners := 0
	for round := range 3000 {
		nImps := 1 + rng.IntN(3)
		req := &openrtb2.BidRequest{ID: "r", AT: int64(rng.IntN(3))}
		if rng.IntN(2) == 0 {
			req.Cur = []string{curs[rng.IntN(3)], "USD"}
		}
		for i := range nImps {
			imp := openrtb2.Imp{ID: strconv.Itoa(i), Banner: &openrtb2.Banner{}}
			if rng.IntN(2) == 0 {
				imp.BidFloor, imp.BidFloorCur = price()/2, curs[rng.IntN(3)]
			}
			if rng.IntN(3) == 0 {
				imp.PMP = &openrtb2.PMP{Deals: []openrtb2.Deal{{ID: "d", BidFloor: price() / 2, BidFloorCur: curs[rng.IntN(3)], AT: int64(rng.IntN(4))}}}
			}
			req.Imp = append(req.Imp, imp)
		}
		nBidders := 1 + rng.IntN(4)
		var bidders []Bidder
		rules := Rules{Currency: "USD", Rates: source, Pricing: Pricing{
			AuctionType: 1 + rng.IntN(2), Increment: currency.Micros(rng.IntN(20_000)),
			DealPriority: rng.IntN(2) == 0, Precision: []currency.Micros{0, 100, 10_000}[rng.IntN(3)]}}
		for b := range nBidders {
			s := &staticBidder{name: "dsp" + strconv.Itoa(b), cur: curs[rng.IntN(3)]}
			for k := range 1 + rng.IntN(4) {
				bid := openrtb2.Bid{ID: strconv.Itoa(k), ImpID: strconv.Itoa(rng.IntN(nImps)), Price: price(), AdM: "<a/>", CrID: "c"}
				if rng.IntN(3) == 0 {
					bid.DealID = "d"
				}
				s.bids = append(s.bids, bid)
			}
			bidders = append(bidders, s)
			rules.Terms = append(rules.Terms, Terms{Multiplier: currency.PPM(500_000 + rng.IntN(500_001)), TakeRate: currency.PPM(rng.IntN(500_000))})
		}
		a := New(bidders, rules, nil)
		res := a.Run(req, time.Now().Add(time.Second))
		for _, w := range res.Winners {
			winners++
			k := -1
			for i := range req.Imp {
				if req.Imp[i].ID == w.Bid.ImpID {
					k = i
				}
			}
			imp := &req.Imp[k]
			terms := rules.Terms[w.bidder]
			net := w.BidPrice.Scale(int64(terms.Multiplier), int64(currency.OnePPM), false).Scale(int64(currency.OnePPM-terms.TakeRate), int64(currency.OnePPM), false)
			floor, floorCur := imp.BidFloor, imp.BidFloorCur
			if w.Deal != nil && w.Deal.BidFloor > 0 {
				floor, floorCur = w.Deal.BidFloor, w.Deal.BidFloorCur
			}
			var floorUSD currency.Micros
			if floor > 0 {
				f, _ := currency.FromFloat(floor)
				floorUSD = conv(f, floorCur, "USD", true)
			}
			bidCur := bidders[w.bidder].(*staticBidder).cur
			bid, _ := currency.FromFloat(w.Bid.Price)
			bidUSD := conv(bid, bidCur, "USD", false)
			respPrice := conv(w.Clear, "USD", res.Currency, false)
			switch {
			case w.Clear > net:
				t.Fatalf("round %d: cleared at %s above the winner's net %s", round, w.Clear, net)
			case w.Clear < floorUSD:
				t.Fatalf("round %d: cleared at %s below the floor %s (type %d)", round, w.Clear, floorUSD, w.AuctionType)
			case w.Clear > w.Charge:
				t.Fatalf("round %d: net %s above gross %s", round, w.Clear, w.Charge)
			case w.Charge > w.BidPrice || w.BidPrice != bidUSD:
				t.Fatalf("round %d: charged %s for a bid of %s (%s in USD)", round, w.Charge, w.BidPrice, bidUSD)
			case w.Price > respPrice:
				t.Fatalf("round %d: response price %s %s above the clearing price %s USD converted (%s)", round, w.Price, res.Currency, w.Clear, respPrice)
			case w.AuctionType == FirstPrice && w.Charge != w.BidPrice:
				t.Fatalf("round %d: first price charged %s for a bid of %s", round, w.Charge, w.BidPrice)
			}
		}
	}
	if winners < 2000 {
		t.Fatalf("only %d winners in 3000 auctions: the properties were barely tried", winners)
	}
}

// plainBidder is a Bidder that says nothing of its currency.
type plainBidder struct {
	name string
	bids []openrtb2.Bid
}

func (p *plainBidder) Name() string { return p.name }

func (p *plainBidder) Bid(*openrtb2.BidRequest, time.Time) ([]openrtb2.Bid, error) {
	return append([]openrtb2.Bid(nil), p.bids...), nil
}

// A Bidder's prices are in the exchange currency, whatever it is; a DSP
// answer without cur is in USD, as OpenRTB says.
func TestBidderCurrency(t *testing.T) {
	req := &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}}}
	bids := []openrtb2.Bid{{ID: "b", ImpID: "1", Price: 2, AdM: "<a/>", CrID: "c"}}
	house := &plainBidder{name: "house", bids: bids}
	dsp := &staticBidder{name: "dsp", bids: bids} // an answer without cur
	res := New([]Bidder{house, dsp}, Rules{Currency: "EUR"}, nil).Run(req, time.Now().Add(time.Second))
	if res.Currency != "EUR" || len(res.Winners) != 1 || res.Winners[0].Seat != "house" || res.Winners[0].Price != 2_000_000 {
		t.Errorf("currency %s, winners %+v: want house's bid at 2.00 EUR", res.Currency, res.Winners)
	}
	if res.Bidders[1].Dropped[DropCurrency] != 1 {
		t.Errorf("the USD answer with no EUR rates was not dropped for its currency: %v", res.Bidders[1].Dropped)
	}
}
