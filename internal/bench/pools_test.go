package bench

import (
	"testing"

	"github.com/adx-exchange/adx/privacy"
)

// TestPrivacyPoolsParse: every consent, GPP and US Privacy string the
// synthesizer sends decodes with adx's own decoders, so that synthesized
// traffic exercises consent as real CMPs write it, not the malformed-string
// path.
func TestPrivacyPoolsParse(t *testing.T) {
	var tcf privacy.TCF
	for _, s := range tcfStrings {
		if err := tcf.Parse(s); err != nil {
			t.Errorf("consent string %.40s...: %v", s, err)
		}
		var g privacy.GPP
		if err := g.Parse("DBABMA~" + s); err != nil {
			t.Errorf("GPP with consent string %.40s...: %v", s, err)
		}
	}
	// The answers say what they are meant to, for a vendor of the list
	// (32) and one outside it (35).
	for answer, want := range map[int][4]bool{
		tcfAcceptAll: {true, true, true, false},
		tcfPartial:   {true, false, true, false},
		tcfRefuseAll: {false, false, true, false},
	} {
		if err := tcf.Parse(consentString(answer)); err != nil {
			t.Fatal(err)
		}
		got := [4]bool{tcf.PurposeConsent(1), tcf.VendorConsent(32), tcf.VendorLI(32), tcf.VendorConsent(35) || tcf.VendorLI(35)}
		if got != want {
			t.Errorf("answer %d: purpose 1 consent, vendor 32 consent, vendor 32 LI, vendor 35 anything = %v, want %v", answer, got, want)
		}
	}
	for _, u := range gppUS {
		var g privacy.GPP
		if err := g.Parse(u.s); err != nil {
			t.Errorf("GPP %s: %v", u.s, err)
		} else if _, ok := g.Section(int(u.sid)); !ok {
			t.Errorf("GPP %s: no section %d, which gpp_sid names", u.s, u.sid)
		}
	}
	for _, s := range usPrivacy {
		if _, ok := privacy.ParseUSPrivacy(s); !ok {
			t.Errorf("US Privacy %q does not parse", s)
		}
	}
}
