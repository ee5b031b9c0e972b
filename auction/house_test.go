package auction

import (
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
)

func TestHouseBidder(t *testing.T) {
	house := NewHouseBidder(config.Demand{Name: "house", Type: "house", LineItems: []config.LineItem{
		{ID: "mrec", CPM: 1.0, Sizes: []string{"300x250"}, Adm: "<mrec/>"},
		{ID: "leader", CPM: 0.8, Sizes: []string{"728x90", "300x250"}, Adm: "<leader/>"},
		{ID: "video-us-ctv", CPM: 5, Formats: []string{"video"}, Countries: []string{"USA"}, DeviceTypes: []int{3}, Adm: "<VAST/>"},
		{ID: "video", CPM: 2, Formats: []string{"video"}, Adm: "<VAST/>"},
		{ID: "native", CPM: 0.3, Formats: []string{"native", "audio"}, Crid: "n-1", Adm: "{}"},
		{ID: "any-banner", CPM: 0.1, Adm: "<any/>"},
	}})
	w := func(v int64) *int64 { return &v }
	f := func(name string, req openrtb2.BidRequest, want map[string]string) {
		t.Helper()
		bids, err := house.Bid(&req, time.Time{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := map[string]string{}
		for _, b := range bids {
			got[b.ImpID] = b.AdID
		}
		if len(got) != len(want) {
			t.Errorf("%s: bids %v, want %v", name, got, want)
			return
		}
		for imp, li := range want {
			if got[imp] != li {
				t.Errorf("%s: imp %s won by %q, want %q", name, imp, got[imp], li)
			}
		}
	}
	banner := func(id string, wv, hv int64, floor float64) openrtb2.Imp {
		return openrtb2.Imp{ID: id, BidFloor: floor, Banner: &openrtb2.Banner{W: w(wv), H: w(hv)}}
	}
	f("best cpm that fits", openrtb2.BidRequest{Imp: []openrtb2.Imp{banner("1", 300, 250, 0), banner("2", 728, 90, 0), banner("3", 1, 1, 0)}},
		map[string]string{"1": "mrec", "2": "leader", "3": "any-banner"})
	f("floor skips cheaper items", openrtb2.BidRequest{Imp: []openrtb2.Imp{banner("1", 728, 90, 0.9), banner("2", 300, 250, 1.5)}},
		map[string]string{})
	f("format list", openrtb2.BidRequest{Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 320, H: 50}, {W: 728, H: 90}}}}}},
		map[string]string{"1": "leader"})
	video := openrtb2.Imp{ID: "v", Video: &openrtb2.Video{MIMEs: []string{"video/mp4"}}}
	f("video, no targeting facts: the targeted item matches", openrtb2.BidRequest{Imp: []openrtb2.Imp{video}}, map[string]string{"v": "video-us-ctv"})
	f("video on a US CTV", openrtb2.BidRequest{Imp: []openrtb2.Imp{video}, Device: &openrtb2.Device{DeviceType: 3, Geo: &openrtb2.Geo{Country: "USA"}}},
		map[string]string{"v": "video-us-ctv"})
	f("video on a US phone", openrtb2.BidRequest{Imp: []openrtb2.Imp{video}, Device: &openrtb2.Device{DeviceType: 4, Geo: &openrtb2.Geo{Country: "USA"}}},
		map[string]string{"v": "video"})
	f("video in Germany", openrtb2.BidRequest{Imp: []openrtb2.Imp{video}, Device: &openrtb2.Device{Geo: &openrtb2.Geo{Country: "DEU"}}},
		map[string]string{"v": "video"})
	f("native and audio", openrtb2.BidRequest{Imp: []openrtb2.Imp{{ID: "n", Native: &openrtb2.Native{Request: "{}"}}, {ID: "a", Audio: &openrtb2.Audio{MIMEs: []string{"audio/mp4"}}}}},
		map[string]string{"n": "native", "a": "native"})

	bids, _ := house.Bid(&openrtb2.BidRequest{Imp: []openrtb2.Imp{{ID: "n", Native: &openrtb2.Native{Request: "{}"}}}}, time.Time{})
	if b := bids[0]; b.CrID != "n-1" || b.MType != openrtb2.MarkupNative || b.Price != 0.3 || b.ID == "" {
		t.Errorf("native bid %+v: want crid n-1, mtype native, price 0.3 and an id", b)
	}
}
