package privacy

import (
	"slices"
	"testing"
)

// fakeTCF is a decoded consent string for the TCF rules' tests.
type fakeTCF struct {
	purposes, purposesLI, features []int
	vendors, vendorsLI             []int
}

func (f *fakeTCF) PurposeConsent(p int) bool { return slices.Contains(f.purposes, p) }
func (f *fakeTCF) PurposeLI(p int) bool      { return slices.Contains(f.purposesLI, p) }
func (f *fakeTCF) SpecialFeature(n int) bool { return slices.Contains(f.features, n) }
func (f *fakeTCF) VendorConsent(id int) bool { return slices.Contains(f.vendors, id) }
func (f *fakeTCF) VendorLI(id int) bool      { return slices.Contains(f.vendorsLI, id) }

// TestTCFRules checks the TCF rules on their own: the consent string
// decoder feeds them a decoded string.
func TestTCFRules(t *testing.T) {
	vendor, other, house, noID := Partner{GVLID: 755}, Partner{GVLID: 32}, Partner{Exchange: true}, Partner{}
	f := func(name string, c *fakeTCF, p Partner, want Decision) {
		t.Helper()
		if got := tcfDecision(c, &p); got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	all := &fakeTCF{purposes: []int{1, 2, 3, 4}, features: []int{1}, vendors: []int{755}}
	f("every consent", all, vendor, Decision{})
	f("another vendor", all, other, Decision{Scrub: StripIDs, Reasons: ReasonTCFPurpose1, Block: ReasonTCFPurpose2})
	f("no vendor id", all, noID, Decision{Scrub: StripIDs, Reasons: ReasonTCFPurpose1, Block: ReasonTCFPurpose2})
	f("the exchange", all, house, Decision{})

	noP1 := &fakeTCF{purposes: []int{2}, features: []int{1}, vendors: []int{755}}
	f("no purpose 1", noP1, vendor, Decision{Scrub: StripIDs, Reasons: ReasonTCFPurpose1})
	f("no purpose 1, the exchange", noP1, house, Decision{Scrub: StripIDs, Reasons: ReasonTCFPurpose1})

	li := &fakeTCF{purposes: []int{1}, purposesLI: []int{2}, features: []int{1}, vendors: []int{755}, vendorsLI: []int{755}}
	f("purpose 2 by legitimate interest", li, vendor, Decision{})
	liNoVendor := &fakeTCF{purposes: []int{1}, purposesLI: []int{2}, features: []int{1}, vendors: []int{755}}
	f("purpose 2 interest, not the vendor's", liNoVendor, vendor, Decision{Block: ReasonTCFPurpose2})
	noP2 := &fakeTCF{purposes: []int{1}, features: []int{1}, vendors: []int{755}, vendorsLI: []int{755}}
	f("no purpose 2 at all", noP2, vendor, Decision{Block: ReasonTCFPurpose2})
	f("no purpose 2, the exchange", noP2, house, Decision{})

	noGeo := &fakeTCF{purposes: []int{1, 2}, vendors: []int{755}}
	f("no special feature 1", noGeo, vendor, Decision{Scrub: RoundGeo | TruncateIP, Reasons: ReasonTCFSpecialFeature1})
	f("no special feature 1, the exchange", noGeo, house, Decision{Scrub: RoundGeo | TruncateIP, Reasons: ReasonTCFSpecialFeature1})

	f("nothing granted", &fakeTCF{}, vendor,
		Decision{Scrub: StripIDs | RoundGeo | TruncateIP, Reasons: ReasonTCFPurpose1 | ReasonTCFSpecialFeature1, Block: ReasonTCFPurpose2})
}

// A decoded consent string is one more input of Decide: its decision adds
// to the request-wide rules', per partner, and its scrubbed values are
// ready.
func TestDecideWithTCF(t *testing.T) {
	req := decodeReq(t, `{"regs":{"gdpr":1,"us_privacy":"1YYN"},"user":{"consent":"C","ext":{"eids":[]}},"device":{"ip":"81.2.69.160"}}`)
	var s Signals
	s.Parse(req)
	if !s.Active() || s.consent != "C" {
		t.Fatalf("the US Privacy opt-out was not seen, or the consent string %q", s.consent)
	}
	s.tcf = &fakeTCF{purposes: []int{1, 2}, vendors: []int{755}}
	s.active = true
	s.prepare(req)
	if !s.ipReady || s.ip != "81.2.69.0" || !s.userExtReady || !s.userExtEIDs || string(s.userExt) != "{}" {
		t.Errorf("the TCF rules may truncate the IP and strip ids: ip %q (%v), user.ext %s (%v)", s.ip, s.ipReady, s.userExt, s.userExtReady)
	}
	var pol Policy
	got := s.Decide(&pol, &Partner{GVLID: 755})
	want := Decision{Scrub: StripIDs | TruncateIP | RoundGeo, Reasons: ReasonUSPrivacy | ReasonTCFSpecialFeature1}
	if got != want {
		t.Errorf("vendor 755: %+v, want %+v", got, want)
	}
	if got := s.Decide(&pol, &Partner{GVLID: 32, GDPRBasis: true}); got.Block != ReasonTCFPurpose2 {
		t.Errorf("vendor 32, without consent: %+v, want not called for purpose 2 (a basis without consent does not count with a consent string)", got)
	}
}
