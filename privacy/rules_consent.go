package privacy

// The TCF v2.2 rules (IAB Europe Transparency and Consent Framework,
// docs/privacy.md, "TCF and GPP"), applied by Decide to the consent
// string Parse decoded: user.consent, or the GPP TCF EU section.

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
// With a Global Vendor List g, a vendor's consent or legitimate interest
// for purpose 1 or 2 counts only where the list declares that basis for
// it (gvlBases); a vendor the list does not name, or has deleted, has
// none.
//
// A partner without a GVL id can be granted nothing: it gets its ids
// stripped and is not called. The exchange itself is judged on the
// purposes alone, no publisher restriction or vendor list naming it, and
// is always called.
func tcfDecision(c *TCF, g *GVL, p *Partner) Decision {
	var d Decision
	id := p.GVLID
	vendorConsent := p.Exchange || id > 0 && c.VendorConsent(id)
	vendorLI := p.Exchange || id > 0 && c.VendorLI(id)
	r1, r2 := RestrictionNone, RestrictionNone
	if !p.Exchange && id > 0 && len(c.restrictions) > 0 {
		r1, r2 = c.Restriction(1, id), c.Restriction(2, id)
	}
	consent1, _ := gvlBases(g, p, 1, r1)
	if !c.PurposeConsent(1) || !vendorConsent || !consent1 || r1 == RestrictionNotAllowed || r1 == RestrictionRequireLI {
		d.Scrub |= StripIDs
		d.Reasons |= ReasonTCFPurpose1
	}
	declConsent2, declLI2 := gvlBases(g, p, 2, r2)
	consent2 := c.PurposeConsent(2) && vendorConsent && declConsent2 && r2 != RestrictionNotAllowed && r2 != RestrictionRequireLI
	li2 := c.PurposeLI(2) && vendorLI && declLI2 && r2 != RestrictionNotAllowed && r2 != RestrictionRequireConsent
	if !p.Exchange && !consent2 && !li2 {
		d.Block = ReasonTCFPurpose2
	}
	if !c.SpecialFeature(1) {
		d.Scrub |= RoundGeo | TruncateIP
		d.Reasons |= ReasonTCFSpecialFeature1
	}
	return d
}

// gvlBases reports whether the vendor list g lets partner p rest purpose
// n on consent and on legitimate interest, under the publisher's
// restriction r, as Prebid Server reads the list: consent where the
// vendor declares the purpose (purposes), legitimate interest where it
// declares it so (legIntPurposes); a flexible purpose (flexiblePurposes)
// declared on one basis may rest on the other where the publisher
// requires that one. Without a list, or for the exchange, every basis is
// declared.
func gvlBases(g *GVL, p *Partner, n int, r Restriction) (consent, li bool) {
	if g == nil || p.Exchange {
		return true, true
	}
	v, ok := g.Vendor(p.GVLID)
	if !ok || v.Deleted() {
		return false, false
	}
	flex := v.FlexiblePurposes.Has(n)
	consent = v.Purposes.Has(n) || flex && v.LegIntPurposes.Has(n) && r == RestrictionRequireConsent
	li = v.LegIntPurposes.Has(n) || flex && v.Purposes.Has(n) && r == RestrictionRequireLI
	return consent, li
}
