package config

import (
	"net/netip"
	"testing"
)

// TestSupplyErrorsNameTheKey covers the supply partners' account, auction
// and sellers.json settings, and the exchange's identity.
func TestSupplyErrorsNameTheKey(t *testing.T) {
	f := func(doc string, want ...string) {
		t.Helper()
		rejects(t, doc, want...)
	}
	const ex = "exchange: {domain: adx.example}\n"
	f("supply:\n  - {name: a}\n  - {name: a}\n", "supply[1].name", "already")
	f("supply:\n  - {name: a, allow_ips: [10.0.0.0/8, 10.0.0.0/33]}\n", "supply[0].allow_ips[1]", "10.0.0.0/33")
	f("supply:\n  - {name: a, allow_ips: [example.com]}\n", "supply[0].allow_ips[0]", "CIDR")
	f("supply:\n  - {name: a, tmax_cap: -1ms}\n", "supply[0].tmax_cap", "negative")
	f("supply:\n  - {name: a, tmax_cap: 5ms}\n", "supply[0].tmax_cap", "safety_margin")
	f("supply:\n  - {name: a, tmax_cap: 100}\n", "supply[0].tmax_cap", "not a duration")
	f("supply:\n  - {name: a, floor_min: -0.1}\n", "supply[0].floor_min")
	f("supply:\n  - {name: a, floor_min: .nan}\n", "supply[0].floor_min")
	f("supply:\n  - {name: a, floor_min: 5000}\n", "supply[0].floor_min", "max_bid_price")
	f("supply:\n  - {name: a, rate_limit: -1}\n", "supply[0].rate_limit")
	f("supply:\n  - {name: a, rate_limit: .inf}\n", "supply[0].rate_limit")
	f("supply:\n  - {name: a, seller_id: \"1\", seller_type: PUBLISHER, seller_name: P, seller_domain: pub.example}\n", "exchange.domain", "supply[0].seller_id")
	f(ex+"supply:\n  - {name: a, seller_id: \"1\", seller_name: P, seller_domain: pub.example}\n", "supply[0].seller_type", "missing")
	f(ex+"supply:\n  - {name: a, seller_id: \"1\", seller_type: publisher, seller_name: P, seller_domain: pub.example}\n", "supply[0].seller_type", "PUBLISHER, INTERMEDIARY, BOTH")
	f(ex+"supply:\n  - {name: a, seller_id: \"1\", seller_type: PUBLISHER, seller_name: P}\n", "supply[0].seller_domain", "is_confidential")
	f(ex+"supply:\n  - {name: a, seller_id: \"1\", seller_type: PUBLISHER, seller_name: P, seller_domain: \"https://pub.example\"}\n", "supply[0].seller_domain", "no scheme")
	f(ex+"supply:\n  - {name: a, seller_id: \"a b\", seller_type: PUBLISHER, seller_name: P, seller_domain: pub.example}\n", "supply[0].seller_id", "spaces")
	f(ex+"supply:\n  - {name: a, seller_type: PUBLISHER}\n", "supply[0].seller_id", "missing")
	f(ex+"supply:\n  - {name: a, seller_id: \"7\", seller_type: BOTH, is_confidential: true}\n  - {name: b, seller_id: \"7\", seller_type: PUBLISHER, seller_name: B, seller_domain: b.example}\n",
		"supply[1].seller_id", `"7"`, "supply[0]")
	f(ex+"supply:\n  - {name: a, seller_id: \"1\", seller_type: PUBLISHER, seller_domain: pub.example}\n", "supply[0].seller_name", "is_confidential")
	const dsps = "demand:\n  - {name: dsp-a, type: openrtb, endpoint: \"http://127.0.0.1:9/bid\"}\n  - {name: dsp-b, type: openrtb, endpoint: \"http://127.0.0.1:9/bid\"}\n"
	f(dsps+"supply:\n  - {name: a, auction_type: 3}\n", "supply[0].auction_type", "3")
	f(dsps+"supply:\n  - {name: a, auction_type: -1}\n", "supply[0].auction_type")
	f(dsps+"supply:\n  - {name: a, take_rate: 1}\n", "supply[0].take_rate", "[0, 1)")
	f(dsps+"supply:\n  - {name: a, take_rate: -0.1}\n", "supply[0].take_rate")
	f(dsps+"supply:\n  - {name: a, take_rate: .nan}\n", "supply[0].take_rate")
	f(dsps+"supply:\n  - {name: a, demand: [dsp-a, dsp-c]}\n", "supply[0].demand[1]", `"dsp-c"`, "not the name of a demand partner")
	f(dsps+"supply:\n  - {name: a, block_demand: [nope]}\n", "supply[0].block_demand[0]", `"nope"`)
	f(dsps+"supply:\n  - {name: a, demand: [dsp-a, dsp-a]}\n", "supply[0].demand[1]", "twice")
	f(dsps+"supply:\n  - {name: a, demand: [dsp-b], block_demand: [dsp-b]}\n", "supply[0].demand[0]", "block_demand")
	f("exchange: {domain: \"https://adx.example\"}\n", "exchange.domain")
	f("exchange: {domain: localhost}\n", "exchange.domain")
	f("sellers: {version: \"2.0\"}\n", "sellers.version")
	f("sellers: {contact_email: adops}\n", "sellers.contact_email")
	f("sellers: {identifiers: [{name: TAG-ID}]}\n", "sellers.identifiers[0]", "value")
	f("sellers: {contact: x}\n", "sellers.contact", "unknown key", "contact_email")
}

func TestSupplyAccountsParse(t *testing.T) {
	c, err := Parse([]byte(`
exchange: {domain: adx.example}
sellers:
  contact_email: adops@adx.example
  identifiers: [{name: TAG-ID, value: abc123}]
supply:
  - name: a
    allow_ips: [192.0.2.0/24, "2001:db8::/32", 198.51.100.7, "::ffff:203.0.113.0/120"]
    tmax_cap: 150ms
    floor_min: 0.25
    rate_limit: 500
    test: true
    seller_id: "1001"
    seller_name: Publisher A
    seller_domain: pub-a.example
    seller_type: PUBLISHER
  - {name: b, seller_id: "1002", seller_type: INTERMEDIARY, is_confidential: true}
`), "ok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseAllowIPs(c.Supply[0].AllowIPs)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("203.0.113.0/24"),
	}
	if len(got) != len(want) {
		t.Fatalf("allow_ips parsed to %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("allow_ips[%d] parsed to %v, want %v", i, got[i], want[i])
		}
	}
	if c.Sellers.Version != "1.0" {
		t.Errorf("sellers.version %q, want the default 1.0", c.Sellers.Version)
	}
}
