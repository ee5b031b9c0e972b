//go:build !race

package openrtb

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// TestAppendRequestAllocations: encoding into a grown slice allocates
// nothing, and decoding a request costs one allocation for the copy its
// strings point into, plus its objects but no string without an escape.
func TestAppendRequestAllocations(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "testdata", "openrtb", benchFile))
	if err != nil {
		t.Fatal(err)
	}
	var req openrtb2.BidRequest
	if err := DecodeRequest(body, &req); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 2*len(body))
	if n := testing.AllocsPerRun(100, func() {
		buf, _ = AppendRequest(buf[:0], &req)
	}); n != 0 {
		t.Errorf("AppendRequest into a grown slice: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		buf = AppendWithTMax(buf[:0], body, 100)
	}); n != 0 {
		t.Errorf("AppendWithTMax into a grown slice: %v allocations, want 0", n)
	}
	n := testing.AllocsPerRun(100, func() {
		var r openrtb2.BidRequest
		DecodeRequest(body, &r)
	})
	t.Logf("DecodeRequest of %s: %v allocations", benchFile, n)
	if n > 40 {
		t.Errorf("DecodeRequest: %v allocations, want at most 40 (it was 66 when every string was a copy of its own)", n)
	}
}

// TestDecodeResponseAllocations: a one-seat, one-bid answer costs the
// copy of its body and one object of room, not the codec's slice of four
// SeatBids and slice of four Bids.
func TestDecodeResponseAllocations(t *testing.T) {
	one := []byte(`{"id":"r","seatbid":[{"seat":"s","bid":[{"id":"b","impid":"1","price":1}]}]}`)
	var resp openrtb2.BidResponse
	if n := testing.AllocsPerRun(100, func() { DecodeResponse(one, &resp) }); n > 2 {
		t.Errorf("DecodeResponse of a one-bid answer: %v allocations, want 2 (the copy of the body, the room)", n)
	}
}

// TestDecodeIntoRoomAllocations: a request of objects a room holds, with
// their optional numbers set, decodes into a room that held one before
// without an allocation: its strings point into the room's copy of the
// body, its objects and numbers are in the room.
func TestDecodeIntoRoomAllocations(t *testing.T) {
	body := []byte(`{"id":"r","cur":["EUR"],"imp":[{"id":"1","tagid":"t","secure":1},{"id":"2","secure":0}],` +
		`"device":{"ua":"UA","ip":"192.0.2.1","js":1,"lmt":0,"dnt":0,"connectiontype":2,"geo":{"country":"FRA","lat":48.85,"lon":2.35},` +
		`"sua":{"browsers":[{"brand":"Chromium","version":["120"]}],"mobile":1}},"user":{"id":"u"},"regs":{"gdpr":1},"source":{"tid":"t","fd":1}}`)
	var room RequestRoom
	var req openrtb2.BidRequest
	if err := DecodeRequestInto(body, &req, &room); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		room.Reset()
		DecodeRequestInto(body, &req, &room)
	}); n != 0 {
		t.Errorf("DecodeRequestInto a used room: %v allocations, want 0", n)
	}
}
