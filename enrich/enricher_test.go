package enrich

import (
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// The enrich stage: geo first, the device only for traffic geo did not
// find invalid, and a bot invalid only when bots are filtered.
func TestEnricherStage(t *testing.T) {
	geo := openGeo(t, GeoOptions{AnonymousIP: td("GeoIP2-Anonymous-IP-Test.mmdb"), Block: []string{"anonymous"}})
	devices, err := OpenDevices(DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer devices.Close()
	const (
		bot     = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
		browser = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
		anonIP  = "71.160.223.9"
		plainIP = "216.160.83.56"
	)
	f := func(e Enricher, ip, ua, invalid string, deviceLooked bool) {
		t.Helper()
		req := &openrtb2.BidRequest{ID: "r", Device: &openrtb2.Device{IP: ip, UA: ua}}
		out := e.Enrich(req)
		if out.Invalid != invalid || out.DeviceLooked != deviceLooked {
			t.Errorf("Enrich(ip %s, ua %.20q) = invalid %q, device looked up %v; want %q, %v", ip, ua, out.Invalid, out.DeviceLooked, invalid, deviceLooked)
		}
	}
	both := Enricher{Geo: geo, Devices: devices, FilterBots: true}
	f(both, plainIP, browser, "", true)
	f(both, anonIP, browser, "anonymous", false) // the device is not looked up
	f(both, plainIP, bot, "bot", true)
	f(Enricher{Geo: geo, Devices: devices}, plainIP, bot, "", true) // bots let through
	f(Enricher{Devices: devices, FilterBots: true}, anonIP, browser, "", true)
	f(Enricher{}, anonIP, bot, "", false)
	if out := (&Enricher{Geo: geo}).Enrich(&openrtb2.BidRequest{ID: "r"}); !out.Geo.NoIP {
		t.Error("a request without a device is not reported as having no IP")
	}
}
