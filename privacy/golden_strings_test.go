package privacy

import (
	"testing"
	"time"
)

// goldenTCF is the consent string of the per-vendor golden cases
// (testdata/rules/tcf-*.json, server/testdata/privacy/tcf-*.json): the
// user consents to purposes 1 and 2 and opts in to special feature 1;
// vendor 755 has the user's consent, vendor 32 legitimate interest
// alone, and every other vendor nothing. restrict adds the publisher's
// restrictions.
func goldenTCF(restrict ...TCFRestriction) *TCFBuilder {
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	return &TCFBuilder{Created: at, LastUpdated: at, CMPID: 7, CMPVersion: 1, ConsentLanguage: "EN",
		VendorListVersion: 150, PolicyVersion: 4, IsServiceSpecific: true, PublisherCC: "GB",
		PurposesConsent: []int{1, 2}, PurposesLI: []int{2}, SpecialFeatures: []int{1},
		VendorConsents: []int{755}, VendorLI: []int{32}, Restrictions: restrict}
}

// goldenStrings are the consent and GPP strings the golden cases carry,
// each as its builder writes it: a case's string is changed here first.
var goldenStrings = map[string]func() string{
	"tcf": func() string { return goldenTCF().String() },
	"tcf-both-vendors": func() string {
		b := goldenTCF()
		b.VendorConsents, b.VendorLI = []int{32, 755}, []int{32, 755}
		return b.String()
	},
	"tcf-restricted": func() string {
		return goldenTCF(TCFRestriction{Purpose: 2, Type: RestrictionNotAllowed, Vendors: []int{755}}).String()
	},
	"gpp-tcf":               func() string { return (&GPPBuilder{TCF: goldenTCF()}).String() },
	"gpp-usnat-opt-out":     func() string { return (&GPPBuilder{US: []USSection{goldenUSNat(1)}}).String() },
	"gpp-usnat-no-opt-out":  func() string { return (&GPPBuilder{US: []USSection{goldenUSNat(2)}}).String() },
	"gpp-tcf-usnat-opt-out": func() string { return (&GPPBuilder{TCF: goldenTCF(), US: []USSection{goldenUSNat(1)}}).String() },
	"gpp-uspv1-opt-out":     func() string { return (&GPPBuilder{Raw: []GPPSection{{SectionUSP, "1YYN"}}}).String() },
}

// goldenUSNat is a usnat section with the notices given and the opt-out
// of sale set to saleOptOut (1: opted out, 2: did not).
func goldenUSNat(saleOptOut uint8) USSection {
	return USSection{ID: SectionUSNat, Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1,
		TargetedAdvertisingOptOutNotice: 1, SaleOptOut: saleOptOut, SharingOptOut: 2, TargetedAdvertisingOptOut: 2,
		MspaCoveredTransaction: 2, MspaOptOutOptionMode: 0, MspaServiceProviderMode: 0}
}

// TestGoldenStrings prints the golden strings (go test -v -run
// GoldenStrings) and checks each decodes.
func TestGoldenStrings(t *testing.T) {
	var (
		tc TCF
		g  GPP
	)
	for name, build := range goldenStrings {
		s := build()
		t.Logf("%s: %s", name, s)
		var err error
		if name[:3] == "tcf" {
			err = tc.Parse(s)
		} else {
			err = g.Parse(s)
		}
		if err != nil {
			t.Errorf("%s %s: %v", name, s, err)
		}
	}
}
