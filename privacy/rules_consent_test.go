package privacy

import (
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// parsedTCF returns the consent string b builds, decoded.
func parsedTCF(t *testing.T, b TCFBuilder) *TCF {
	t.Helper()
	var c TCF
	if err := c.Parse(b.String()); err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestTCFRules checks the TCF rules on decoded consent strings.
func TestTCFRules(t *testing.T) {
	vendor, other, house, noID := Partner{GVLID: 755}, Partner{GVLID: 32}, Partner{Exchange: true}, Partner{}
	f := func(name string, b TCFBuilder, p Partner, want Decision) {
		t.Helper()
		if got := tcfDecision(parsedTCF(t, b), nil, &p); got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	all := TCFBuilder{PurposesConsent: []int{1, 2, 3, 4}, SpecialFeatures: []int{1}, VendorConsents: []int{755}}
	f("every consent", all, vendor, Decision{})
	f("another vendor", all, other, Decision{Scrub: StripIDs, Reasons: ReasonTCFPurpose1, Block: ReasonTCFPurpose2})
	f("no vendor id", all, noID, Decision{Scrub: StripIDs, Reasons: ReasonTCFPurpose1, Block: ReasonTCFPurpose2})
	f("the exchange", all, house, Decision{})

	noP1 := TCFBuilder{PurposesConsent: []int{2}, SpecialFeatures: []int{1}, VendorConsents: []int{755}}
	f("no purpose 1", noP1, vendor, Decision{Scrub: StripIDs, Reasons: ReasonTCFPurpose1})
	f("no purpose 1, the exchange", noP1, house, Decision{Scrub: StripIDs, Reasons: ReasonTCFPurpose1})

	li := TCFBuilder{PurposesConsent: []int{1}, PurposesLI: []int{2}, SpecialFeatures: []int{1}, VendorConsents: []int{755}, VendorLI: []int{755}}
	f("purpose 2 by legitimate interest", li, vendor, Decision{})
	liNoVendor := TCFBuilder{PurposesConsent: []int{1}, PurposesLI: []int{2}, SpecialFeatures: []int{1}, VendorConsents: []int{755}}
	f("purpose 2 interest, not the vendor's", liNoVendor, vendor, Decision{Block: ReasonTCFPurpose2})
	noP2 := TCFBuilder{PurposesConsent: []int{1}, SpecialFeatures: []int{1}, VendorConsents: []int{755}, VendorLI: []int{755}}
	f("no purpose 2 at all", noP2, vendor, Decision{Block: ReasonTCFPurpose2})
	f("no purpose 2, the exchange", noP2, house, Decision{})

	noGeo := TCFBuilder{PurposesConsent: []int{1, 2}, VendorConsents: []int{755}}
	f("no special feature 1", noGeo, vendor, Decision{Scrub: RoundGeo | TruncateIP, Reasons: ReasonTCFSpecialFeature1})
	f("no special feature 1, the exchange", noGeo, house, Decision{Scrub: RoundGeo | TruncateIP, Reasons: ReasonTCFSpecialFeature1})

	f("nothing granted", TCFBuilder{}, vendor,
		Decision{Scrub: StripIDs | RoundGeo | TruncateIP, Reasons: ReasonTCFPurpose1 | ReasonTCFSpecialFeature1, Block: ReasonTCFPurpose2})
}

// TestTCFRestrictions checks the publisher restrictions: each narrows
// the basis a vendor has for purposes 1 and 2, and names no one else.
func TestTCFRestrictions(t *testing.T) {
	vendor, other, house := Partner{GVLID: 755}, Partner{GVLID: 32}, Partner{Exchange: true}
	// Every purpose 1 and 2 basis, for both vendors.
	full := func(rs ...TCFRestriction) TCFBuilder {
		return TCFBuilder{PurposesConsent: []int{1, 2}, PurposesLI: []int{2}, SpecialFeatures: []int{1},
			VendorConsents: []int{32, 755}, VendorLI: []int{32, 755}, Restrictions: rs}
	}
	f := func(name string, b TCFBuilder, p Partner, want Decision) {
		t.Helper()
		if got := tcfDecision(parsedTCF(t, b), nil, &p); got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	only := func(purpose int, typ Restriction) TCFRestriction {
		return TCFRestriction{Purpose: purpose, Type: typ, Vendors: []int{755}}
	}
	stripped := Decision{Scrub: StripIDs, Reasons: ReasonTCFPurpose1}
	blocked := Decision{Block: ReasonTCFPurpose2}
	f("purpose 2 not allowed", full(only(2, RestrictionNotAllowed)), vendor, blocked)
	f("purpose 2 not allowed, another vendor", full(only(2, RestrictionNotAllowed)), other, Decision{})
	f("purpose 2 not allowed, the exchange", full(only(2, RestrictionNotAllowed)), house, Decision{})
	f("purpose 1 not allowed", full(only(1, RestrictionNotAllowed)), vendor, stripped)
	f("purpose 1 requires legitimate interest, which it cannot have", full(only(1, RestrictionRequireLI)), vendor, stripped)
	f("purpose 1 requires consent, given", full(only(1, RestrictionRequireConsent)), vendor, Decision{})

	// Purpose 2 by consent alone, by legitimate interest alone.
	byConsent := TCFBuilder{PurposesConsent: []int{1, 2}, SpecialFeatures: []int{1}, VendorConsents: []int{755}}
	byLI := TCFBuilder{PurposesConsent: []int{1}, PurposesLI: []int{2}, SpecialFeatures: []int{1}, VendorConsents: []int{755}, VendorLI: []int{755}}
	with := func(b TCFBuilder, r TCFRestriction) TCFBuilder { b.Restrictions = []TCFRestriction{r}; return b }
	f("consent, require consent", with(byConsent, only(2, RestrictionRequireConsent)), vendor, Decision{})
	f("consent, require legitimate interest", with(byConsent, only(2, RestrictionRequireLI)), vendor, blocked)
	f("interest, require legitimate interest", with(byLI, only(2, RestrictionRequireLI)), vendor, Decision{})
	f("interest, require consent", with(byLI, only(2, RestrictionRequireConsent)), vendor, blocked)
}

// FuzzSignalsConsent: Parse never panics on any consent string, GPP string
// and gpp_sid; a Signals reused across requests, its decoders kept,
// decides as a fresh one does; the exchange is always called; and a
// consent or GPP string that does not decode keeps every partner without
// a basis away.
func FuzzSignalsConsent(f *testing.F) {
	for _, build := range goldenStrings {
		s := build()
		f.Add(s, s, []byte{2, 7}, true)
	}
	f.Add("CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", "DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", []byte{2}, false)
	f.Add("not-a-TC-string", "DBABLA~not*base64", []byte{}, true)
	var reused Signals
	f.Fuzz(func(t *testing.T, consent, gpp string, sid []byte, gdpr bool) {
		g := int8(0)
		if gdpr {
			g = 1
		}
		req := &openrtb2.BidRequest{Regs: &openrtb2.Regs{GDPR: &g, GPP: gpp},
			User: &openrtb2.User{Consent: consent}, Device: &openrtb2.Device{IP: "81.2.69.160"}}
		for _, v := range sid {
			req.Regs.GPPSID = append(req.Regs.GPPSID, int8(v))
		}
		var fresh Signals
		fresh.Parse(req)
		defer fresh.Release()
		reused.Parse(req)
		partners := []Partner{{}, {GVLID: 755}, {GVLID: 32, GDPRBasis: true}, {Exchange: true}}
		var pol Policy
		for i := range partners {
			p := &partners[i]
			d := fresh.Decide(&pol, p)
			if r := reused.Decide(&pol, p); r != d {
				t.Fatalf("partner %+v: a reused Signals decided %+v, a fresh one %+v", *p, r, d)
			}
			if p.Exchange && !d.Called() {
				t.Fatalf("the exchange is not called: %+v", d)
			}
			if (fresh.MalformedConsent() || fresh.MalformedGPP()) && !p.Exchange && !p.GDPRBasis && d.Called() {
				t.Fatalf("a malformed string, partner %+v called: %+v", *p, d)
			}
		}
	})
}

// TestTCFRulesGVL checks the vendor list's declarations
// (testdata/gvl/vendor-list.json): a basis counts only where the vendor
// declares it, a flexible purpose may switch basis where the publisher
// requires the other, and a vendor the list lacks or has deleted has none.
func TestTCFRulesGVL(t *testing.T) {
	g, err := LoadGVL("testdata/gvl/vendor-list.json")
	if err != nil {
		t.Fatal(err)
	}
	// The user grants everything to every vendor named.
	grant := func(id int, rs ...TCFRestriction) *TCF {
		return parsedTCF(t, TCFBuilder{PurposesConsent: []int{1, 2}, PurposesLI: []int{2}, SpecialFeatures: []int{1},
			VendorConsents: []int{id}, VendorLI: []int{id}, Restrictions: rs})
	}
	consentOnly := func(id int, rs ...TCFRestriction) *TCF {
		return parsedTCF(t, TCFBuilder{PurposesConsent: []int{1, 2}, SpecialFeatures: []int{1}, VendorConsents: []int{id}, Restrictions: rs})
	}
	f := func(name string, c *TCF, p Partner, want Decision) {
		t.Helper()
		if got := tcfDecision(c, g, &p); got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	stripped := Decision{Scrub: StripIDs, Reasons: ReasonTCFPurpose1}
	blocked := Decision{Block: ReasonTCFPurpose2}
	f("10 declares consent for 1 and 2", grant(10), Partner{GVLID: 10}, Decision{})
	f("32 declares no basis for purpose 2", grant(32), Partner{GVLID: 32}, blocked)
	f("755 declares interest for 2, consent alone does not count", consentOnly(755), Partner{GVLID: 755}, blocked)
	f("755, flexible 2, the publisher requires consent", consentOnly(755, TCFRestriction{Purpose: 2, Type: RestrictionRequireConsent, Vendors: []int{755}}),
		Partner{GVLID: 755}, Decision{})
	f("1126 declares no purpose 1, interest for 2", grant(1126), Partner{GVLID: 1126}, stripped)
	f("333 is deleted", grant(333), Partner{GVLID: 333}, Decision{Scrub: StripIDs, Reasons: ReasonTCFPurpose1, Block: ReasonTCFPurpose2})
	f("99 is not in the list", grant(99), Partner{GVLID: 99}, Decision{Scrub: StripIDs, Reasons: ReasonTCFPurpose1, Block: ReasonTCFPurpose2})
	f("the exchange", consentOnly(1), Partner{Exchange: true}, Decision{})
	if got := tcfDecision(consentOnly(755), nil, &Partner{GVLID: 755}); got != (Decision{}) {
		t.Errorf("755 by consent without a list: %+v, want every basis to count", got)
	}
}
