package openrtb

import (
	"strings"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

func TestDecodeResponse(t *testing.T) {
	f := func(body string, wantErr bool) {
		t.Helper()
		resp := openrtb2.BidResponse{ID: "stale", Cur: "EUR", SeatBid: []openrtb2.SeatBid{{Seat: "old"}}}
		err := DecodeResponse([]byte(body), &resp)
		if (err != nil) != wantErr {
			t.Fatalf("%q: error %v, want an error: %v", body, err, wantErr)
		}
		if err == nil && (resp.Cur == "EUR" || len(resp.SeatBid) > 0 && resp.SeatBid[0].Seat == "old") {
			t.Errorf("%q: stale fields kept: %+v", body, resp)
		}
	}
	f(`{"id":"r"}`, false)
	f(`{"id":"r","seatbid":[{"bid":[{"id":"b","impid":"1","price":1}]}]}`, false)
	f(`{"id":"r","seatbid":[{"seat":"new"}],"nbr":2}`, false)
	f(``, true)
	f(`{"id":`, true)
	f(`{"id":"r","seatbid":{}}`, true)
	f(`{"id":"r"} x`, true)
	f(`{"seatbid":`+strings.Repeat("[", 100000)+`}`, true)
}

// EncodeResponse keeps creative markup as it is: escaping <, > and & only
// makes the wire bigger.
func TestEncodeResponseKeepsMarkup(t *testing.T) {
	resp := &openrtb2.BidResponse{ID: "r", SeatBid: []openrtb2.SeatBid{{Bid: []openrtb2.Bid{{ID: "b", ImpID: "1", Price: 1.5, AdM: `<a href="x?a=1&b=2">ad</a>`}}}}}
	out, err := EncodeResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"adm":"<a href=\"x?a=1&b=2\">ad</a>"`; !strings.Contains(string(out), want) {
		t.Errorf("got %s, want it to hold %s", out, want)
	}
}
