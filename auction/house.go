package auction

import (
	"cmp"
	"slices"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
)

// mediaMask is a set of imp kinds.
type mediaMask uint8

const (
	mediaBanner mediaMask = 1 << iota
	mediaVideo
	mediaAudio
	mediaNative
)

func parseMediaTypes(types []string, whenEmpty mediaMask) mediaMask {
	if len(types) == 0 {
		return whenEmpty
	}
	var m mediaMask
	for _, t := range types {
		switch t {
		case "banner":
			m |= mediaBanner
		case "video":
			m |= mediaVideo
		case "audio":
			m |= mediaAudio
		case "native":
			m |= mediaNative
		}
	}
	return m
}

const mediaAll = mediaBanner | mediaVideo | mediaAudio | mediaNative

// impMedia returns the kinds an imp offers.
func impMedia(imp *openrtb2.Imp) mediaMask {
	var m mediaMask
	if imp.Banner != nil {
		m |= mediaBanner
	}
	if imp.Video != nil {
		m |= mediaVideo
	}
	if imp.Audio != nil {
		m |= mediaAudio
	}
	if imp.Native != nil {
		m |= mediaNative
	}
	return m
}

type size struct{ w, h int64 }

// lineItem is a config.LineItem compiled for matching.
type lineItem struct {
	id          string
	cpm         float64
	media       mediaMask
	sizes       []size // empty: any size
	countries   []string
	deviceTypes []int
	bid         openrtb2.Bid // template: ID, ImpID, W and H are set per bid
}

// HouseBidder is in-process demand: config line items, each bidding its
// fixed CPM on every imp it fits. For each imp the highest-CPM fitting line
// item bids. It is immutable and safe for concurrent use.
type HouseBidder struct {
	name  string
	items []lineItem // highest CPM first, then by id
}

// NewHouseBidder compiles a house partner's line items. d must have passed
// config validation.
func NewHouseBidder(d config.Demand) *HouseBidder {
	h := &HouseBidder{name: d.Name, items: make([]lineItem, 0, len(d.LineItems))}
	for _, li := range d.LineItems {
		it := lineItem{
			id:          li.ID,
			cpm:         li.CPM,
			media:       parseMediaTypes(li.Formats, mediaBanner),
			countries:   li.Countries,
			deviceTypes: li.DeviceTypes,
		}
		for _, s := range li.Sizes {
			if w, hh, ok := config.ParseSize(s); ok {
				it.sizes = append(it.sizes, size{w, hh})
			}
		}
		crid := li.Crid
		if crid == "" {
			crid = li.ID
		}
		it.bid = openrtb2.Bid{
			Price:   li.CPM,
			AdM:     li.Adm,
			NURL:    li.Nurl,
			CrID:    crid,
			AdID:    li.ID,
			ADomain: li.ADomain,
		}
		h.items = append(h.items, it)
	}
	slices.SortStableFunc(h.items, func(a, b lineItem) int {
		if c := cmp.Compare(b.cpm, a.cpm); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return h
}

// Name returns the partner's config name.
func (h *HouseBidder) Name() string { return h.name }

func (h *HouseBidder) inProcess() {}

// Bid returns, for each imp, a bid from the best line item that fits it.
func (h *HouseBidder) Bid(req *openrtb2.BidRequest, _ time.Time) ([]openrtb2.Bid, error) {
	var country string
	var deviceType int
	if req.Device != nil {
		deviceType = int(req.Device.DeviceType)
		if req.Device.Geo != nil {
			country = req.Device.Geo.Country
		}
	}
	var bids []openrtb2.Bid
	for i := range req.Imp {
		imp := &req.Imp[i]
		offered := impMedia(imp)
		for k := range h.items {
			it := &h.items[k]
			if it.cpm < imp.BidFloor || !targets(it, country, deviceType) {
				continue
			}
			kind, w, hh, ok := it.fit(imp, offered)
			if !ok {
				continue
			}
			if bids == nil {
				bids = make([]openrtb2.Bid, 0, len(req.Imp))
			}
			bid := it.bid
			bid.ID = it.id + "-" + imp.ID
			bid.ImpID = imp.ID
			bid.W, bid.H = w, hh
			bid.MType = kind
			bids = append(bids, bid)
			break
		}
	}
	return bids, nil
}

// targets reports whether the line item's targeting admits the request. A
// field the request leaves empty matches: enrichment fills it when it can.
func targets(it *lineItem, country string, deviceType int) bool {
	if country != "" && len(it.countries) > 0 && !slices.Contains(it.countries, country) {
		return false
	}
	if deviceType != 0 && len(it.deviceTypes) > 0 && !slices.Contains(it.deviceTypes, deviceType) {
		return false
	}
	return true
}

// fit finds the first kind the imp offers that the line item can fill, and
// the size it fills.
func (it *lineItem) fit(imp *openrtb2.Imp, offered mediaMask) (openrtb2.MarkupType, int64, int64, bool) {
	m := offered & it.media
	if m&mediaBanner != 0 {
		if w, h, ok := it.fitBanner(imp.Banner); ok {
			return openrtb2.MarkupBanner, w, h, true
		}
	}
	if m&mediaVideo != 0 {
		w, h := imp.Video.W, imp.Video.H
		if it.fitSize(deref(w), deref(h)) {
			return openrtb2.MarkupVideo, deref(w), deref(h), true
		}
	}
	if m&mediaAudio != 0 {
		return openrtb2.MarkupAudio, 0, 0, true
	}
	if m&mediaNative != 0 {
		return openrtb2.MarkupNative, 0, 0, true
	}
	return 0, 0, 0, false
}

func (it *lineItem) fitBanner(b *openrtb2.Banner) (int64, int64, bool) {
	if b.W != nil && b.H != nil && *b.W > 0 && *b.H > 0 && it.fitSize(*b.W, *b.H) {
		return *b.W, *b.H, true
	}
	for _, f := range b.Format {
		if f.W > 0 && f.H > 0 && it.fitSize(f.W, f.H) {
			return f.W, f.H, true
		}
	}
	if len(it.sizes) == 0 {
		return 0, 0, true // fits any size, interstitial 0x0 included
	}
	return 0, 0, false
}

// fitSize reports whether w x h is one of the line item's sizes. A line
// item without sizes fits anything; an imp without a size fits only such a
// line item.
func (it *lineItem) fitSize(w, h int64) bool {
	if len(it.sizes) == 0 {
		return true
	}
	for _, s := range it.sizes {
		if s.w == w && s.h == h {
			return true
		}
	}
	return false
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
