package privacy

// The TCF v2.2 rules (IAB Europe Transparency and Consent Framework,
// docs/privacy.md, "TCF and GPP"), applied by Decide to the consent
// string Parse decoded: user.consent, or the GPP TCF EU section.

// tcfScrubs are the parts of a Scrub that the TCF rules may add.
const tcfScrubs = StripIDs | TruncateIP | RoundGeo

// tcfDecision applies the TCF rules to partner p:
//
//   - Purpose 1 (store and access information on a device): without the
//     user's consent to it, and the vendor's, the ids are stripped.
//     Legitimate interest is no basis for purpose 1; a publisher
//     restriction on it of "not allowed" or "require legitimate
//     interest" leaves no basis either.
//   - Purpose 2 (basic ads): without consent to it, for the purpose and
//     the vendor, or legitimate interest, for both, the partner is not
//     called. The publisher's restriction for the vendor narrows the
//     basis, as Prebid Server reads it: "not allowed" leaves none,
//     "require consent" lets only consent count, "require legitimate
//     interest" only legitimate interest.
//   - Special Feature 1 (precise geolocation): without the user's opt-in,
//     coordinates are rounded and the IP truncated.
//
// A partner without a GVL id can be granted nothing: it gets its ids
// stripped and is not called. The exchange itself is judged on the
// purposes alone, no publisher restriction naming it, and is always
// called.
func tcfDecision(c *TCF, p *Partner) Decision {
	var d Decision
	id := p.GVLID
	vendorConsent := p.Exchange || id > 0 && c.VendorConsent(id)
	vendorLI := p.Exchange || id > 0 && c.VendorLI(id)
	r1, r2 := RestrictionNone, RestrictionNone
	if !p.Exchange && id > 0 && len(c.restrictions) > 0 {
		r1, r2 = c.Restriction(1, id), c.Restriction(2, id)
	}
	if !c.PurposeConsent(1) || !vendorConsent || r1 == RestrictionNotAllowed || r1 == RestrictionRequireLI {
		d.Scrub |= StripIDs
		d.Reasons |= ReasonTCFPurpose1
	}
	consent2 := c.PurposeConsent(2) && vendorConsent && r2 != RestrictionNotAllowed && r2 != RestrictionRequireLI
	li2 := c.PurposeLI(2) && vendorLI && r2 != RestrictionNotAllowed && r2 != RestrictionRequireConsent
	if !p.Exchange && !consent2 && !li2 {
		d.Block = ReasonTCFPurpose2
	}
	if !c.SpecialFeature(1) {
		d.Scrub |= RoundGeo | TruncateIP
		d.Reasons |= ReasonTCFSpecialFeature1
	}
	return d
}
