package events

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/adx-exchange/adx/currency"
)

// stdJSON is what encoding/json writes for e with HTML escaping off, its
// time in UTC: what AppendJSON must write.
func stdJSON(t testing.TB, e *Event) []byte {
	t.Helper()
	c := *e
	c.Time = c.Time.UTC()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// sameEvent reports whether two events are equal, times compared as
// instants and empty lists as nil.
func sameEvent(a, b *Event) bool {
	x, y := *a, *b
	if !x.Time.Equal(y.Time) {
		return false
	}
	x.Time, y.Time = time.Time{}, time.Time{}
	if len(x.Bids) == 0 {
		x.Bids = nil
	}
	if len(y.Bids) == 0 {
		y.Bids = nil
	}
	if len(x.NoBids) == 0 {
		x.NoBids = nil
	}
	if len(y.NoBids) == 0 {
		y.NoBids = nil
	}
	if len(x.Unchecked) == 0 {
		x.Unchecked = nil
	}
	if len(y.Unchecked) == 0 {
		y.Unchecked = nil
	}
	if len(x.Privacy) == 0 {
		x.Privacy = nil
	}
	if len(y.Privacy) == 0 {
		y.Privacy = nil
	}
	return reflect.DeepEqual(x, y)
}

func winEvent() *Event {
	return &Event{
		Type: Win, ID: "w:a-1:b-1", Time: time.Date(2026, 12, 3, 16, 47, 32, 123456789, time.UTC),
		AuctionID: "a-1", SSP: "ssp-one", Currency: "USD",
		ImpID: "1", BidID: "b-1", DSP: "dsp-one", Seat: "seat-9", DealID: "deal-7",
		BidPrice: 1_500_000, Charge: 1_400_000, Clear: 1_260_000,
		SSPPrice: 1_260_000, SSPCurrency: "EUR", DSPPrice: 1_400_000,
	}
}

func auctionEvent() *Event {
	return &Event{
		Type: Auction, ID: "a:ssp-one:a-2", Time: time.Date(2026, 12, 3, 16, 47, 32, 0, time.UTC),
		AuctionID: "a-2", SSP: "ssp-one", Currency: "USD", Test: true, Imps: 2,
		Bids: []Bid{
			{DSP: "dsp-one", Seat: "s1", ImpID: "1", BidID: "x", Price: 2_000_000, Status: BidWon, Charge: 1_900_000, Clear: 1_710_000},
			{DSP: "dsp-two", ImpID: "1", BidID: "y", DealID: "d", Price: 1_000_000, Status: BidLost},
			{DSP: "dsp-two", ImpID: "2", BidID: "z", Price: 900_000, Cur: "EUR", Status: "below_floor"},
		},
		NoBids:    []NoBid{{DSP: "dsp-three", Reason: "timeout"}, {DSP: "dsp-four", Reason: "nobid"}},
		Unchecked: []Unchecked{{DSP: "dsp-two", Reason: "too_many_bids", Count: 480}, {DSP: "dsp-one", Reason: "late", Count: 3}},
		Privacy: []Privacy{{DSP: "dsp-one", Action: "scrubbed", Reason: "coppa"}, {DSP: "dsp-one", Action: "scrubbed", Reason: "us_privacy"},
			{DSP: "dsp-five", Action: "not_called", Reason: "gdpr_no_consent"}},
		DurationMicros: 41_250,
	}
}

func TestAppendJSON(t *testing.T) {
	f := func(name string, e *Event, want string) {
		t.Helper()
		got := e.AppendJSON([]byte("prefix"))
		if !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatalf("%s: AppendJSON dropped dst: %q", name, got)
		}
		got = got[len("prefix"):]
		if std := stdJSON(t, e); !bytes.Equal(got, std) {
			t.Errorf("%s:\n got %s\nwant %s (encoding/json)", name, got, std)
		}
		if want != "" && string(got) != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
		var back Event
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s: %s does not decode: %v", name, got, err)
		}
		if !sameEvent(e, &back) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", name, back, *e)
		}
	}
	f("empty", &Event{}, `{"type":"","id":"","ts":"0001-01-01T00:00:00Z","auction_id":"","cur":""}`)
	f("win", winEvent(), `{"type":"win","id":"w:a-1:b-1","ts":"2026-12-03T16:47:32.123456789Z","auction_id":"a-1","ssp":"ssp-one","cur":"USD",`+
		`"imp_id":"1","bid_id":"b-1","dsp":"dsp-one","seat":"seat-9","deal_id":"deal-7","bid_micros":1500000,"charge_micros":1400000,"clear_micros":1260000,`+
		`"ssp_price_micros":1260000,"ssp_cur":"EUR","dsp_price_micros":1400000}`)
	f("auction", auctionEvent(), "")
	f("loss with no price", &Event{Type: Loss, ID: "l:a:b", AuctionID: "a", Currency: "USD", SSPPrice: -1, LossReason: 102,
		Time: time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)},
		`{"type":"loss","id":"l:a:b","ts":"2026-01-02T03:04:05.6Z","auction_id":"a","cur":"USD","ssp_price_micros":-1,"loss_reason":102}`)
	f("local time written in UTC", &Event{Type: Bill, Time: time.Date(2026, 6, 1, 2, 0, 0, 5000, time.FixedZone("CEST", 2*3600))},
		`{"type":"bill","id":"","ts":"2026-06-01T00:00:00.000005Z","auction_id":"","cur":""}`)
	f("escapes", &Event{Type: Win, ID: "q\"b\\s/<>&\u00e9\u2028\u2029\U0001F600", AuctionID: "\x00\x01\b\f\n\r\t\x1f\x7f", SSP: "tab\there"},
		`{"type":"win","id":"q\"b\\s/<>&`+"\u00e9"+`\u2028\u2029`+"\U0001F600"+`","ts":"0001-01-01T00:00:00Z","auction_id":"\u0000\u0001\b\f\n\r\t\u001f`+"\x7f"+`","ssp":"tab\there","cur":""}`)
	f("extremes", &Event{Type: Auction, Imps: math.MaxInt64, DurationMicros: math.MinInt64, BidPrice: currency.Micros(math.MinInt64),
		Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), Bids: []Bid{{}}, NoBids: []NoBid{{}}, Privacy: []Privacy{{}}}, "")
	f("empty lists omitted", &Event{Bids: []Bid{}, NoBids: []NoBid{}, Privacy: []Privacy{}}, `{"type":"","id":"","ts":"0001-01-01T00:00:00Z","auction_id":"","cur":""}`)
}

func TestAppendJSONInvalidUTF8(t *testing.T) {
	e := &Event{Type: Win, ID: "a\xffb\xc3", AuctionID: "\xed\xa0\x80", Bids: []Bid{{Status: "x\xfe"}}}
	got := e.AppendJSON(nil)
	if std := stdJSON(t, e); !bytes.Equal(got, std) {
		t.Errorf("got %s\nwant %s (encoding/json)", got, std)
	}
	var back Event
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if back.ID != "a\ufffdb\ufffd" || back.AuctionID != "\ufffd\ufffd\ufffd" || back.Bids[0].Status != "x\ufffd" {
		t.Errorf("invalid UTF-8 decodes as %q %q %q, want U+FFFD for each bad byte", back.ID, back.AuctionID, back.Bids[0].Status)
	}
}

func TestAppendJSONOutOfRangeTime(t *testing.T) {
	for _, ts := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		got := (&Event{Time: ts}).AppendJSON(nil)
		var back Event
		if err := json.Unmarshal(got, &back); err != nil || !back.Time.IsZero() {
			t.Errorf("time %v: %s decodes to %v, %v; want the zero time", ts, got, back.Time, err)
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("win", "w:a:b", int64(1764780452123456789), "a", "ssp", "USD", "b\"id", int64(1500000), int64(-1), 3, "dsp", "won", "timeout")
	f.Add("auction", "", int64(0), "\x00\u2028", "\xff", "", "", int64(0), int64(0), 0, "", "", "")
	f.Fuzz(func(t *testing.T, typ, id string, nanos int64, auctionID, ssp, cur, bidID string, price, sspPrice int64, n int, dsp, status, reason string) {
		e := &Event{
			Type: Type(typ), ID: id, Time: time.Unix(0, nanos), AuctionID: auctionID, SSP: ssp, Currency: cur,
			BidID: bidID, DSP: dsp, BidPrice: currency.Micros(price), SSPPrice: currency.Micros(sspPrice), LossReason: n, Imps: n,
			Test: n%3 == 0,
		}
		if n%2 != 0 {
			e.Bids = []Bid{{DSP: dsp, BidID: bidID, Price: currency.Micros(price), Status: status, Charge: currency.Micros(sspPrice)}}
			e.NoBids = []NoBid{{DSP: ssp, Reason: reason}}
			e.Unchecked = []Unchecked{{DSP: dsp, Reason: reason, Count: n}}
			e.Privacy = []Privacy{{DSP: dsp, Action: status, Reason: reason}}
			e.Bids[0].Cur = cur
		}
		got := e.AppendJSON(nil)
		if std := stdJSON(t, e); !bytes.Equal(got, std) {
			t.Fatalf("got %s\nwant %s (encoding/json)", got, std)
		}
		var back Event
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s does not decode: %v", got, err)
		}
		valid := true
		for _, s := range []string{typ, id, auctionID, ssp, cur, bidID, dsp, status, reason} {
			valid = valid && utf8.ValidString(s)
		}
		if valid && !sameEvent(e, &back) {
			t.Fatalf("round trip\n got %+v\nwant %+v", back, *e)
		}
		if key, ok := auctionKey(got); !ok || !bytes.Equal(key, []byte(back.AuctionID)) {
			t.Fatalf("auctionKey(%s) = %q, %v; want %q", got, key, ok, back.AuctionID)
		}
		if tp := typeOf(got); tp != typeIndex(e.Type) {
			t.Fatalf("typeOf(%s) = %d, want %d", got, tp, typeIndex(e.Type))
		}
	})
}
