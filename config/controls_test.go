package config

import (
	"strings"
	"testing"
	"time"
)

func TestDemandControlsErrorsNameTheKey(t *testing.T) {
	f := func(controls string, want ...string) {
		t.Helper()
		rejects(t, "demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\", "+controls+"}\n", want...)
	}
	f("qps: -1", "demand[0].qps")
	f("breaker: {failure_ratio: 1.5}", "demand[0].breaker.failure_ratio")
	f("breaker: {min_requests: -2}", "demand[0].breaker.min_requests")
	f("breaker: {window: -1s}", "demand[0].breaker.window")
	f("breaker: {open_for: 2h}", "demand[0].breaker.open_for")
	f("breaker: {half_open_probes: -1}", "demand[0].breaker.half_open_probes")
	f("breaker: {colour: red}", "demand[0].breaker.colour", "unknown key")
	f("qps: 10, shaping: {window: 100ms}", "demand[0].shaping.window")
	f("qps: 10, shaping: {window: 2h}", "demand[0].shaping.window")
	f("qps: 10, shaping: {exploration: 0.9}", "demand[0].shaping.exploration")
	f("qps: 10, shaping: {exploration: -0.1}", "demand[0].shaping.exploration")
	f("shaping: {colour: red}", "demand[0].shaping.colour", "unknown key")
	f("targeting: {countries: [US]}", "demand[0].targeting.countries[0]", "alpha-3")
	f("targeting: {device_types: [9]}", "demand[0].targeting.device_types[0]")
	f("targeting: {os: [\"\"]}", "demand[0].targeting.os[0]")
	f("targeting: {formats: [popup]}", "demand[0].targeting.formats[0]")
	f("media_types: [video], targeting: {formats: [banner]}", "demand[0].targeting.formats", "never be called")
	f("targeting: {sizes: [300-250]}", "demand[0].targeting.sizes[0]")
	f("targeting: {inventory: [dooh]}", "demand[0].targeting.inventory[0]")
	f("targeting: {bundles: [\" com.x\"]}", "demand[0].targeting.bundles[0]")
	f("targeting: {block_domains: [Example.com]}", "demand[0].targeting.block_domains[0]", "lowercase")
	f("targeting: {domains: [.example.com]}", "demand[0].targeting.domains[0]")

	_, err := Parse([]byte("demand:\n  - {name: h, type: house, qps: 5, line_items: [{id: x, cpm: 1, adm: a}]}\n"), "bad.yaml")
	if err == nil || !strings.Contains(err.Error(), "demand[0].qps") {
		t.Errorf("a house partner with a qps cap: error %v, want one naming demand[0].qps", err)
	}
	_, err = Parse([]byte("demand:\n  - {name: h, type: house, shaping: {disabled: true}, line_items: [{id: x, cpm: 1, adm: a}]}\n"), "bad.yaml")
	if err == nil || !strings.Contains(err.Error(), "demand[0].shaping") {
		t.Errorf("a house partner with shaping: error %v, want one naming demand[0].shaping", err)
	}
}

func TestDemandControlsValid(t *testing.T) {
	doc := `demand:
  - name: a
    type: openrtb
    endpoint: "http://h/"
    media_types: [banner, video]
    qps: 500
    breaker: {failure_ratio: 0.3, min_requests: 50, window: 30s, open_for: 10s, half_open_probes: 5}
    shaping: {window: 1m, exploration: 0.1}
    targeting:
      countries: [USA, CAN]
      device_types: [1, 4]
      os: [iOS, Android]
      formats: [banner]
      sizes: [300x250]
      inventory: [app]
      bundles: [com.example.app]
      block_bundles: [com.example.bad]
      domains: [example.com]
      block_domains: [bad.example.com]
  - {name: b, type: openrtb, endpoint: "http://h/", breaker: {disabled: true}}
`
	c, err := Parse([]byte(doc), "ok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Demand[0].Breaker.WithDefaults(); got.Window.D() != 30*time.Second || got.HalfOpenProbes != 5 {
		t.Errorf("breaker %+v: the set fields must stay", got)
	}
	want := Breaker{FailureRatio: 0.5, MinRequests: 20, Window: Duration(10 * time.Second), OpenFor: Duration(5 * time.Second), HalfOpenProbes: 3}
	if got := (Breaker{}).WithDefaults(); got != want {
		t.Errorf("breaker defaults %+v, want %+v", got, want)
	}
	if got, want := c.Demand[0].Shaping.WithDefaults(), (Shaping{Window: Duration(time.Minute), Exploration: 0.1}); got != want {
		t.Errorf("shaping %+v: the set fields must stay, want %+v", got, want)
	}
	if got, want := (Shaping{}).WithDefaults(), (Shaping{Window: Duration(30 * time.Second), Exploration: 0.05}); got != want {
		t.Errorf("shaping defaults %+v, want %+v", got, want)
	}
}
