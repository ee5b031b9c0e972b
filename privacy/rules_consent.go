package privacy

// The TCF v2.2 rules (IAB Europe Transparency and Consent Framework,
// docs/privacy.md, "TCF and GPP"). They read a decoded consent string
// through tcfReader, the part of the decoder's TCF type they need, and are
// consulted by Decide once Parse fills Signals.tcf.

// tcfReader is what the TCF rules read of a decoded consent string.
type tcfReader interface {
	// PurposeConsent reports the user's consent to purpose p (1-11).
	PurposeConsent(p int) bool
	// PurposeLI reports that the user did not object to purpose p on
	// the ground of legitimate interest.
	PurposeLI(p int) bool
	// SpecialFeature reports the user's opt-in to special feature n.
	SpecialFeature(n int) bool
	// VendorConsent and VendorLI report the same for the vendor with
	// GVL id id.
	VendorConsent(id int) bool
	VendorLI(id int) bool
}

// tcfScrubs are the parts of a Scrub that the TCF rules may add.
const tcfScrubs = StripIDs | TruncateIP | RoundGeo

// tcfDecision applies the TCF rules to partner p:
//
//   - Purpose 1 (store and access information on a device): without the
//     user's consent to it, and the vendor's, the ids are stripped.
//   - Purpose 2 (basic ads): without consent to it, for the purpose and
//     the vendor, or legitimate interest, for both, the partner is not
//     called.
//   - Special Feature 1 (precise geolocation): without the user's opt-in,
//     coordinates are rounded and the IP truncated.
//
// A partner without a GVL id can be granted nothing: it gets its ids
// stripped and is not called. The exchange itself is judged on the
// purposes alone, and is always called.
func tcfDecision(c tcfReader, p *Partner) Decision {
	var d Decision
	id := p.GVLID
	vendorConsent := p.Exchange || id > 0 && c.VendorConsent(id)
	vendorLI := p.Exchange || id > 0 && c.VendorLI(id)
	if !c.PurposeConsent(1) || !vendorConsent {
		d.Scrub |= StripIDs
		d.Reasons |= ReasonTCFPurpose1
	}
	if !p.Exchange && !(c.PurposeConsent(2) && vendorConsent) && !(c.PurposeLI(2) && vendorLI) {
		d.Block = ReasonTCFPurpose2
	}
	if !c.SpecialFeature(1) {
		d.Scrub |= RoundGeo | TruncateIP
		d.Reasons |= ReasonTCFSpecialFeature1
	}
	return d
}
