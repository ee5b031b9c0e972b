//go:build !race

package enrich

import (
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// TestEnrichAllocations pins the allocations of Enrich with all four
// databases: none of its own on a miss or a block; one for the objects it
// places (device.geo with lat/lon, connectiontype); one more for the
// "MCC-MNC" string. Strings repeated across requests come from the reader's
// string cache. (The race detector's sync.Pool drops items, hence !race.)
func TestEnrichAllocations(t *testing.T) {
	opts := allDBs
	opts.Block = []string{"public_proxy"}
	g := openGeo(t, opts)
	dev := new(openrtb2.Device)
	req := &openrtb2.BidRequest{Device: dev}
	f := func(ip string, want float64) {
		t.Helper()
		allocs := testing.AllocsPerRun(200, func() {
			*dev = openrtb2.Device{IP: ip}
			g.Enrich(req)
		})
		if allocs != want {
			t.Errorf("Enrich(%s) allocates %v times, want %v", ip, allocs, want)
		}
	}
	f("1.2.3.4", 0)        // a miss
	f("186.30.236.5", 0)   // blocked (public proxy)
	f("81.2.69.160", 0)    // blocked (every flag)
	f("", 0)               // no IP
	f("89.160.20.112", 1)  // geo, carrier
	f("216.160.83.56", 1)  // geo, carrier, connectiontype
	f("149.101.100.5", 2)  // geo, carrier, connectiontype, mccmnc
	f("2001:480:10::1", 1) // IPv6
}

func TestAlpha3DoesNotAllocate(t *testing.T) {
	code := string([]byte{'S', 'E'})
	if allocs := testing.AllocsPerRun(100, func() { _ = Alpha3(code) }); allocs != 0 {
		t.Errorf("Alpha3 allocates %v times", allocs)
	}
}
