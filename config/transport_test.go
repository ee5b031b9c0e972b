package config

import (
	"testing"
	"time"
)

// TestDemandTransport: an openrtb partner's network allowance, gzip and
// OpenRTB version are read and checked; a house partner sets none.
func TestDemandTransport(t *testing.T) {
	c, err := Parse([]byte("demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\", timeout: 100ms, network_allowance: 15ms, gzip: true, openrtb_version: \"2.5\"}\n  - {name: b, type: openrtb, endpoint: \"http://h/\"}\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Demand[0]; d.NetworkAllowance.D() != 15*time.Millisecond || !d.Gzip || d.OpenRTBVersion != OpenRTB25 {
		t.Errorf("demand[0] = %+v, want network_allowance 15ms, gzip, 2.5", d)
	}
	if d := c.Demand[1]; d.NetworkAllowance != 0 || d.Gzip || d.OpenRTBVersion != "" {
		t.Errorf("demand[1] = %+v, want no allowance, no gzip, the default version", d)
	}

	f := func(fields, wantKey, wantProblem string) {
		t.Helper()
		rejects(t, "demand:\n  - {name: a, "+fields+"}\n", wantKey, wantProblem)
	}
	const rtb = `type: openrtb, endpoint: "http://h/", `
	f(rtb+"network_allowance: -1ms", "demand[0].network_allowance", "outside")
	f(rtb+"network_allowance: 2s", "demand[0].network_allowance", "outside")
	f(rtb+"timeout: 50ms, network_allowance: 50ms", "demand[0].network_allowance", "no time")
	f(rtb+"network_allowance: 10", "demand[0].network_allowance", "not a duration")
	f(rtb+`openrtb_version: "2.4"`, "demand[0].openrtb_version", "2.5")
	f(rtb+"openrtb_version: 3", "demand[0].openrtb_version", "2.6")
	const house = "type: house, line_items: [{id: x, cpm: 1, adm: a}], "
	f(house+"network_allowance: 5ms", "demand[0].network_allowance", "openrtb")
	f(house+"gzip: true", "demand[0].gzip", "openrtb")
	f(house+`openrtb_version: "2.5"`, "demand[0].openrtb_version", "openrtb")
}
