//go:build !race

package auction

import (
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// TestCheckCreativeAllocations pins the checks of a clean bid, banner or
// VAST video, against a request that uses every block list: they run on
// every bid and allocate nothing. (Native markup is parsed, and
// allocates.)
func TestCheckCreativeAllocations(t *testing.T) {
	req := decodeTest[openrtb2.BidRequest](t, `{"id":"r","imp":[
		{"id":"1","banner":{"w":320,"h":50,"format":[{"w":320,"h":50},{"wratio":32,"hratio":5,"wmin":320}],"battr":[1,3,8],"btype":[1,3,4]}},
		{"id":"2","video":{"mimes":["video/mp4"],"minduration":5,"maxduration":30,"protocols":[2,3,7],"battr":[13,14]}}],
		"cattax":1,"bcat":["IAB25","IAB26","IAB7-39","IAB8-5"],
		"badv":["rival.example","example.co.uk","ads.competitor.com","shop.example.net","www.brand.com"],
		"bapp":["com.rival.reader"],"bseat":["800"],"wseat":["771","772"],"wlang":["en","de"]}`)
	bids := []*openrtb2.Bid{
		decodeTest[openrtb2.Bid](t, `{"id":"b1","impid":"1","price":1.2,"crid":"c1","mtype":1,"w":320,"h":50,
			"adm":"<a href=\"https://brand.example/landing\"><img src=\"https://cdn.brand.example/320x50.png\" width=\"320\" height=\"50\"></a>",
			"adomain":["brand.example.com"],"cat":["IAB2-3","IAB7-3"],"attr":[2,4],"bundle":"com.brand.app","language":"en"}`),
		decodeTest[openrtb2.Bid](t, `{"id":"b2","impid":"2","price":4.5,"crid":"c2","mtype":2,"dur":30,"protocol":3,
			"adm":"<?xml version=\"1.0\"?><!-- dsp --><VAST version=\"3.0\"><Ad id=\"1\"><InLine/></Ad></VAST>",
			"adomain":["https://www.brand.com.au/"],"cat":["IAB2"],"attr":[1],"langb":"de-AT"}`),
	}
	for i, bid := range bids {
		imp := &req.Imp[i]
		if reason, ok := checkCreative(req, imp, bid, "772"); !ok {
			t.Fatalf("bid %s dropped (%s), want it clean", bid.ID, reason)
		}
		if n := testing.AllocsPerRun(100, func() { checkCreative(req, imp, bid, "772") }); n != 0 {
			t.Errorf("bid %s: %v allocations, want 0", bid.ID, n)
		}
	}
}
