package config

import "testing"

func TestPrivacySettings(t *testing.T) {
	c, err := Parse([]byte(`
privacy: {gdpr_without_consent: scrub}
demand:
  - {name: a, type: openrtb, endpoint: "http://h/", gvl_id: 755, privacy: {gdpr_basis_without_consent: true}}
  - {name: b, type: openrtb, endpoint: "http://h/"}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	if c.Privacy.GDPRWithoutConsent != GDPRScrub || c.Demand[0].GVLID != 755 || !c.Demand[0].Privacy.GDPRBasisWithoutConsent ||
		c.Demand[1].GVLID != 0 || c.Demand[1].Privacy.GDPRBasisWithoutConsent {
		t.Errorf("privacy %+v, demand %+v", c.Privacy, c.Demand)
	}
	if d := Defaults().Privacy.GDPRWithoutConsent; d != GDPRStrict {
		t.Errorf("default gdpr_without_consent %q, want strict", d)
	}

	f := func(doc string, want ...string) {
		t.Helper()
		rejects(t, doc, want...)
	}
	f("privacy: {gdpr_without_consent: ids_only}\n", "privacy.gdpr_without_consent", "strict", "scrub")
	f("privacy: {gdpr_without_consent: \"\"}\n", "privacy.gdpr_without_consent")
	f("privacy: {coppa: off}\n", "privacy.coppa", "unknown key")
	f("demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\", gvl_id: -1}\n", "demand[0].gvl_id", "0..65535")
	f("demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\", gvl_id: 65536}\n", "demand[0].gvl_id", "0..65535")
	f("demand:\n  - {name: a, type: openrtb, endpoint: \"http://h/\", privacy: {basis: true}}\n", "demand[0].privacy.basis", "unknown key")
	f("demand:\n  - {name: h, type: house, gvl_id: 1, line_items: [{id: x, cpm: 1, adm: a}]}\n", "demand[0].gvl_id", "exchange itself")
	f("demand:\n  - {name: h, type: house, privacy: {gdpr_basis_without_consent: true}, line_items: [{id: x, cpm: 1, adm: a}]}\n", "demand[0].privacy", "exchange itself")
}
