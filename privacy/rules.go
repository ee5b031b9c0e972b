package privacy

import (
	"math/bits"
	"sync"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/config"
	"github.com/adx-exchange/adx/internal/ipmask"
)

// Scrub is a set of what is removed from, or coarsened in, the request a
// demand partner is sent.
type Scrub uint8

// The parts of a Scrub.
const (
	// StripIDs removes the device and user identifiers: device.ifa,
	// didsha1, didmd5, dpidsha1, dpidmd5, macsha1, macmd5; user.id,
	// buyeruid, eids and the OpenRTB 2.5 user.ext.eids.
	StripIDs Scrub = 1 << iota
	// StripIFA removes device.ifa alone.
	StripIFA
	// TruncateIP cuts device.ip to its /24 and device.ipv6 to its /48.
	TruncateIP
	// RoundGeo rounds the latitude and longitude of device.geo and
	// user.geo to two decimals (about 1.1 km); a coordinate outside its
	// range is removed.
	RoundGeo
	// ReduceGeo keeps only the country and region of device.geo and
	// user.geo (country, region, regionfips104, utcoffset).
	ReduceGeo
	// StripUserData removes what describes the user beyond ids:
	// user.yob, gender, keywords, kwarray, data and customdata.
	StripUserData
)

// normalized returns s without what a stronger member of it already
// does, so that two decisions that send the same request have the same
// Scrub.
func (s Scrub) normalized() Scrub {
	if s&StripIDs != 0 {
		s &^= StripIFA
	}
	if s&ReduceGeo != 0 {
		s &^= RoundGeo
	}
	return s
}

// Reason is one privacy rule; a set of them is a Reason with several
// bits.
type Reason uint16

// The rules, each named by its metric label (docs/privacy.md).
const (
	// ReasonCOPPA: regs.coppa=1.
	ReasonCOPPA Reason = 1 << iota
	// ReasonLMT: device.lmt=1.
	ReasonLMT
	// ReasonATT: device.ext.atts 0-2, App Tracking Transparency not
	// authorized.
	ReasonATT
	// ReasonUSPrivacy: a US Privacy string with the opt-out of sale.
	ReasonUSPrivacy
	// ReasonGDPRNoConsent: GDPR applies and there is no consent string.
	ReasonGDPRNoConsent
	// ReasonTCFMalformed: GDPR applies and the consent string does not
	// decode.
	ReasonTCFMalformed
	// ReasonTCFPurpose1: no consent to TCF Purpose 1 (store and access
	// information on a device) for the partner.
	ReasonTCFPurpose1
	// ReasonTCFPurpose2: neither consent nor legitimate interest for TCF
	// Purpose 2 (basic ads) for the partner.
	ReasonTCFPurpose2
	// ReasonTCFSpecialFeature1: no opt-in to TCF Special Feature 1
	// (precise geolocation).
	ReasonTCFSpecialFeature1
	// ReasonGPPOptOut: a GPP US section (7 to 12) with the opt-out of
	// sale, sharing or targeted advertising.
	ReasonGPPOptOut
	// ReasonGPPMalformed: the GPP string does not decode.
	ReasonGPPMalformed
	// ReasonGPC: the Global Privacy Control signal, from a GPP US section's
	// GPC subsection or regs.ext.gpc.
	ReasonGPC
	numReasonBits = iota
)

var reasonNames = [numReasonBits]string{"coppa", "lmt", "att", "us_privacy", "gdpr_no_consent",
	"tcf_malformed", "tcf_purpose1", "tcf_purpose2", "tcf_special_feature1", "gpp_opt_out", "gpp_malformed", "gpc"}

// NumReasons bounds Reason.Index.
const NumReasons = numReasonBits

// Index returns the number of the lowest rule in r, 0 to NumReasons-1:
// an array index for per-rule series.
func (r Reason) Index() int { return bits.TrailingZeros16(uint16(r)) }

// String returns the metric label of the lowest rule in r; "" for none.
func (r Reason) String() string {
	if r == 0 {
		return ""
	}
	return reasonNames[r.Index()]
}

// Reasons returns every rule, lowest first.
func Reasons() []Reason {
	out := make([]Reason, NumReasons)
	for i := range out {
		out[i] = 1 << i
	}
	return out
}

// blocking are the rules that can keep a partner from being called; the
// others only scrub, and ReasonTCFPurpose2 only blocks.
const blocking = ReasonGDPRNoConsent | ReasonTCFMalformed | ReasonGPPMalformed | ReasonTCFPurpose2

// Action is what a decision did to a partner, as a metric label.
type Action uint8

// The actions.
const (
	// Scrubbed: the partner was sent the request with a Scrub applied.
	Scrubbed Action = iota
	// NotCalled: the partner was not sent the request.
	NotCalled
	// NumActions bounds the actions.
	NumActions
)

var actionNames = [NumActions]string{"scrubbed", "not_called"}

// String returns the action's metric label.
func (a Action) String() string { return actionNames[a] }

// Can reports whether rule r can lead to action a: the label pairs
// adx_privacy_decisions_total holds.
func (a Action) Can(r Reason) bool {
	if a == NotCalled {
		return r&blocking != 0
	}
	return r&^ReasonTCFPurpose2 != 0
}

// Decision is what one request's signals let one demand partner see.
type Decision struct {
	// Scrub is what is removed from the partner's request.
	Scrub Scrub
	// Reasons are the rules that made Scrub.
	Reasons Reason
	// Block is the rule that keeps the partner from being called; 0: it
	// is called.
	Block Reason
}

// Called reports whether the partner is sent the request.
func (d Decision) Called() bool { return d.Block == 0 }

// Action returns what the decision does to the partner.
func (d Decision) Action() Action {
	if d.Block != 0 {
		return NotCalled
	}
	return Scrubbed
}

// Labels returns the rules to count the decision under, with Action: the
// blocking rule alone for a partner not called, else every rule that
// scrubbed its request.
func (d Decision) Labels() Reason {
	if d.Block != 0 {
		return d.Block
	}
	return d.Reasons
}

// IsZero reports whether the decision leaves the request as it is.
func (d Decision) IsZero() bool { return d == Decision{} }

// with returns d with o's scrub and rules added; d's block, if any, stays
// the reason given.
func (d Decision) with(o Decision) Decision {
	d.Scrub |= o.Scrub
	d.Reasons |= o.Reasons
	if d.Block == 0 {
		d.Block = o.Block
	}
	return d
}

// Partner is what the rules know of one demand partner.
type Partner struct {
	// GVLID is its id in the IAB Europe Global Vendor List; 0: none.
	GVLID int
	// GDPRBasis says the exchange may send it a GDPR request without a
	// consent string under the strict policy
	// (demand[].privacy.gdpr_basis_without_consent).
	GDPRBasis bool
	// Exchange marks the exchange's own in-process demand (house): no
	// data leaves the exchange for it, so no rule keeps it from being
	// called, and its request is scrubbed by the request-wide rules
	// alone, the least that any partner has removed.
	Exchange bool
}

// PartnerFromConfig returns the Partner of demand partner d; house
// demand is the exchange itself.
func PartnerFromConfig(d *config.Demand) Partner {
	return Partner{GVLID: d.GVLID, GDPRBasis: d.Privacy.GDPRBasisWithoutConsent, Exchange: d.Type == config.DemandHouse}
}

// Policy is the exchange's own privacy settings.
type Policy struct {
	// SendGDPRWithoutConsent sends a GDPR request without a consent
	// string, scrubbed, to every partner; false (strict) sends it only to
	// the partners with GDPRBasis (privacy.gdpr_without_consent).
	SendGDPRWithoutConsent bool
}

// PolicyFromConfig returns the policy privacy settings c set; c must have
// passed validation.
func PolicyFromConfig(c *config.Privacy) Policy {
	return Policy{SendGDPRWithoutConsent: c.GDPRWithoutConsent == config.GDPRScrub}
}

// Signals are one request's privacy signals, read once (Parse) and then
// asked, for each demand partner, what it may see (Decide, Scrubbed).
// The zero Signals are a request without any: every decision is zero.
// Signals are read-only once parsed, and safe for concurrent reads.
//
// The consent and GPP strings are decoded into decoders Signals takes from
// a pool the first time a request carries one, and keeps for the next
// Parse: a Signals reused across requests decodes without allocating.
// Release gives them back once no more decisions are asked.
type Signals struct {
	// base is the decision of the rules that hold for every partner.
	base Decision
	// strict is the rule that put the request on the strict path (GDPR
	// without a usable consent string, or a GPP string that does not
	// decode); 0: none.
	strict Reason
	// active: some partner's decision is not zero.
	active bool
	// gdpr says whether GDPR applies (regs.gdpr, or regs.ext.gdpr, or,
	// with neither, regs.gpp_sid listing the TCF EU section).
	gdpr bool
	// uspMalformed, consentMalformed and gppMalformed: a US Privacy,
	// TCF consent or GPP string was sent that does not parse.
	uspMalformed, consentMalformed, gppMalformed bool
	usp                                          USPrivacy
	// consent is the TCF consent string (user.consent, or
	// user.ext.consent), read when GDPR applies; gpp and gppSID are
	// regs.gpp and regs.gpp_sid as sent.
	consent string
	gpp     string
	gppSID  []int8
	// dec holds the decoders; nil until a request needs one.
	dec *decoders
	// tcf is the decoded consent string, in dec; nil: none decoded.
	tcf *TCF
	// gvl is the Global Vendor List the TCF rules check; nil: none.
	gvl *GVL
	// ip and ipv6 are the device's addresses truncated, set when some
	// decision may truncate them (ipReady).
	ip, ipv6 string
	ipReady  bool
	// userExt is user.ext without eids, and userExtEIDs whether it had
	// any, computed when StripIDs may apply (userExtReady).
	userExt                   []byte
	userExtEIDs, userExtReady bool
}

// decoders are the TCF and GPP decoders of one Signals, kept together so
// that one pool round trip serves both.
type decoders struct {
	tcf TCF
	gpp GPP
}

var decoderPool = sync.Pool{New: func() any { return new(decoders) }}

// decoders returns s's decoders, taking them from the pool if s has none.
func (s *Signals) decoders() *decoders {
	if s.dec == nil {
		s.dec = decoderPool.Get().(*decoders)
	}
	return s.dec
}

// Release gives s's decoders back to the pool. Decide must not be called
// after Release (the decoded consent string is gone); Scrubbed, which
// bidders may still call, reads nothing of it. Parse may be called again.
func (s *Signals) Release() {
	if s.dec != nil {
		decoderPool.Put(s.dec)
		s.dec, s.tcf = nil, nil
	}
}

// gpcSet reports whether the raw JSON value of regs.ext.gpc sends the
// Global Privacy Control signal: "1" as Prebid Server writes it, or 1.
func gpcSet(v []byte) bool {
	return string(v) == `"1"` || string(v) == "1"
}

// gppApplies reports whether GPP section id applies under gpp_sid: every
// section the string carries when gpp_sid is absent, else those listed.
func gppApplies(sid []int8, id int) bool {
	if len(sid) == 0 {
		return true
	}
	for _, v := range sid {
		if int(v) == id {
			return true
		}
	}
	return false
}

// Parse reads req's privacy signals into s, replacing what s held: req
// must be enriched already (the truncated IP is computed once, here) and
// is not changed. A US Privacy string that does not parse counts as none
// (MalformedUSPrivacy); a consent or GPP string that does not decode puts
// the request on the strict path, as GDPR without consent
// (MalformedConsent, MalformedGPP). Parse allocates nothing for a request
// without signals, nor, once s has decoded one, for a typical consent or
// GPP string.
func (s *Signals) Parse(req *openrtb2.BidRequest) {
	*s = Signals{dec: s.dec}
	var (
		d              Decision
		gdpr           = -1
		uspOK, uspSent bool
	)
	if r := req.Regs; r != nil {
		if r.COPPA == 1 {
			d.Reasons |= ReasonCOPPA
			d.Scrub |= StripIDs | TruncateIP | ReduceGeo | StripUserData
		}
		// The 2.6 fields win over their 2.5 places in regs.ext; gpc has
		// no other place (Prebid Server's regs.ext.gpc).
		var extGDPR, extUSP, extGPC []byte
		if len(r.Ext) > 0 {
			extGDPR, extUSP, extGPC = extValues(r.Ext, "gdpr", "us_privacy", "gpc")
		}
		if gpcSet(extGPC) {
			d.Reasons |= ReasonGPC
			d.Scrub |= StripIDs | TruncateIP
		}
		if r.GDPR != nil {
			gdpr = int(*r.GDPR)
		} else {
			gdpr = intValue(extGDPR)
		}
		if r.USPrivacy != "" {
			s.usp, uspOK = ParseUSPrivacy(r.USPrivacy)
			uspSent = true
		} else if v := stringValue(extUSP); len(v) > 0 {
			s.usp, uspOK = ParseUSPrivacy(v)
			uspSent = true
		}
		s.gpp, s.gppSID = r.GPP, r.GPPSID
	}
	s.uspMalformed = uspSent && !uspOK
	if s.usp.OptedOut() {
		d.Reasons |= ReasonUSPrivacy
		d.Scrub |= StripIDs | TruncateIP
	}
	// GPP: the sections gpp_sid lists, or all when it lists none. A US
	// section (7 to 12) with an opt-out of sale, sharing or targeted
	// advertising is scrubbed as the US Privacy opt-out; uspv1 (6) is a
	// US Privacy string; tcfeuv2 (2) is the consent string.
	var gppTCF *TCF
	if s.gpp != "" {
		g := &s.decoders().gpp
		if err := g.Parse(s.gpp); err != nil {
			s.gppMalformed = true
		} else {
			if t, ok := g.TCF(); ok && gppApplies(s.gppSID, SectionTCFEU) {
				gppTCF = t
			}
			if gppApplies(s.gppSID, SectionUSP) {
				if v, ok := g.Section(SectionUSP); ok {
					if u, ok := ParseUSPrivacy(v); !ok {
						s.uspMalformed = true
					} else if u.OptedOut() {
						d.Reasons |= ReasonUSPrivacy
						d.Scrub |= StripIDs | TruncateIP
					}
				}
			}
			for id := SectionUSNat; id <= SectionUSCT; id++ {
				u, ok := g.US(id)
				if !ok || !gppApplies(s.gppSID, id) {
					continue
				}
				if u.SaleOptOut == 1 || u.SharingOptOut == 1 || u.TargetedAdvertisingOptOut == 1 {
					d.Reasons |= ReasonGPPOptOut
					d.Scrub |= StripIDs | TruncateIP
				}
				if u.GPCSegmentIncluded && u.GPC {
					d.Reasons |= ReasonGPC
					d.Scrub |= StripIDs | TruncateIP
				}
			}
		}
	}
	if gdpr < 0 && len(s.gppSID) > 0 && gppApplies(s.gppSID, SectionTCFEU) {
		gdpr = 1 // gpp_sid naming the TCF EU section says GDPR applies
	}
	if s.gdpr = gdpr == 1; s.gdpr {
		if u := req.User; u != nil {
			if u.Consent != "" {
				s.consent = u.Consent
			} else if len(u.Ext) > 0 {
				if v := extString(u.Ext, "consent"); len(v) > 0 {
					s.consent = string(v)
				}
			}
		}
		switch {
		case gppTCF != nil:
			// The GPP TCF EU section that applies is the consent string,
			// as Prebid Server reads it.
			s.tcf = gppTCF
		case s.consent != "":
			t := &s.decoders().tcf
			if err := t.Parse(s.consent); err != nil {
				s.consentMalformed = true
				s.strict = ReasonTCFMalformed
			} else {
				s.tcf = t
			}
		default:
			s.strict = ReasonGDPRNoConsent
		}
	}
	if s.gppMalformed && s.strict == 0 {
		s.strict = ReasonGPPMalformed
	}
	if s.strict != 0 {
		s.tcf = nil
		d.Reasons |= s.strict
		d.Scrub |= StripIDs | TruncateIP | RoundGeo
	}
	if dev := req.Device; dev != nil {
		if dev.Lmt != nil && *dev.Lmt == 1 {
			d.Reasons |= ReasonLMT
			d.Scrub |= StripIFA
		}
		if len(dev.Ext) > 0 {
			if atts := extInt(dev.Ext, "atts"); atts >= 0 && atts <= 2 {
				d.Reasons |= ReasonATT
				d.Scrub |= StripIFA
			}
		}
	}
	d.Scrub = d.Scrub.normalized()
	s.base = d
	s.active = !d.IsZero() || s.strict != 0 || s.tcf != nil
	s.prepare(req)
}

// prepare computes, once per request, the scrubbed values that cost an
// allocation, for each Scrub some decision may apply.
func (s *Signals) prepare(req *openrtb2.BidRequest) {
	// Only the request-wide scrubs: what the TCF rules add for some
	// vendors is computed by Scrubbed for the one request encoded per
	// scrub, so a consent string that grants every partner costs nothing
	// here.
	may := s.base.Scrub
	if dev := req.Device; may&TruncateIP != 0 && dev != nil {
		s.ip, s.ipv6, s.ipReady = ipmask.Truncate(dev.IP, 24, 48), ipmask.Truncate(dev.IPv6, 24, 48), true
	}
	if u := req.User; may&StripIDs != 0 && u != nil && len(u.Ext) > 0 {
		s.userExt, s.userExtEIDs = extWithout(u.Ext, "eids")
		s.userExtReady = true
	}
}

// UseGVL has the TCF rules check each vendor's declared purposes in the
// Global Vendor List g (nil: none) for the request Parse last read; call
// it after Parse, which forgets it. g must not change: a GVL is
// immutable.
func (s *Signals) UseGVL(g *GVL) { s.gvl = g }

// Active reports whether some partner's decision may not be zero: false
// for a request without signals, for which Decide is always zero.
func (s *Signals) Active() bool { return s.active }

// MalformedUSPrivacy reports whether the request carried a US Privacy
// string (regs.us_privacy, or GPP section uspv1) that does not parse,
// which is then ignored.
func (s *Signals) MalformedUSPrivacy() bool { return s.uspMalformed }

// MalformedConsent reports whether the request carried a TCF consent
// string that does not decode, which put it on the strict path.
func (s *Signals) MalformedConsent() bool { return s.consentMalformed }

// MalformedGPP reports whether the request carried a GPP string that does
// not decode, which put it on the strict path.
func (s *Signals) MalformedGPP() bool { return s.gppMalformed }

// Decide returns what partner p may be sent under policy pol: the
// request-wide rules (COPPA, limit ad tracking, ATT, the US Privacy and
// GPP opt-outs, GDPR without a usable consent string), then the
// partner's own (a basis without consent, and its purposes and vendor
// consents under TCF). It does not allocate.
func (s *Signals) Decide(pol *Policy, p *Partner) Decision {
	if !s.active {
		return Decision{}
	}
	d := s.base
	if s.strict != 0 && !p.Exchange && !p.GDPRBasis && !pol.SendGDPRWithoutConsent {
		d.Block = s.strict
	}
	if s.tcf != nil {
		d = d.with(tcfDecision(s.tcf, s.gvl, p))
	}
	d.Scrub = d.Scrub.normalized()
	return d
}
