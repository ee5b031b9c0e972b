package enrich

import "github.com/prebid/openrtb/v20/openrtb2"

// Enricher is the enrich stage of the request path: it fills in what a
// request leaves out from the geo and device data, in that order, and says
// whether the request is invalid traffic that demand never sees.
type Enricher struct {
	// Geo enriches from the MaxMind databases; nil: no geo enrichment.
	Geo *Geo
	// Devices enriches from the device database; nil: none.
	Devices *Devices
	// FilterBots makes a known crawler or bot invalid traffic.
	FilterBots bool
}

// Enrichment is what the enrich stage found for one request.
type Enrichment struct {
	// Geo is the geo lookup's outcome; zero without geo enrichment.
	Geo GeoOutcome
	// Device is the device lookup's outcome, valid when DeviceLooked.
	Device DeviceOutcome
	// DeviceLooked: the device database was consulted.
	DeviceLooked bool
	// Invalid is "" or why the request is invalid traffic: the
	// Anonymous-IP flag that matched (a data centre, proxy, Tor exit...)
	// or "bot". Such a request is answered as a no-bid, unseen by demand.
	Invalid string
}

// Enrich enriches req in place: geo first, from the full IP (the privacy
// rule truncates it later, for what leaves for demand), then the device,
// unless geo already found invalid traffic.
func (e *Enricher) Enrich(req *openrtb2.BidRequest) Enrichment {
	var out Enrichment
	if e.Geo != nil {
		out.Geo = e.Geo.Enrich(req)
		out.Invalid = out.Geo.Blocked
	}
	if e.Devices != nil && out.Invalid == "" {
		out.Device, out.DeviceLooked = e.Devices.Enrich(req), true
		if out.Device.Bot && e.FilterBots {
			out.Invalid = "bot"
		}
	}
	return out
}
