// Package signalcorpus rewrites OpenRTB bid requests into the corpora
// that measure what privacy signals cost adx: the same requests with no
// signal, with every signal that still lets chosen demand partners be
// called and sent the user's ids, and with the bytes of those signals but
// no signal. The benchmarks of the server (in process) and of the binary
// (at its operating point) build their corpora here, so that both measure
// the same requests.
package signalcorpus

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/privacy"
)

// Signals are the privacy signals Every sets, built once for a set of
// vendors.
type Signals struct {
	// Consent is the TCF v2.2 consent string, as user.consent and as the
	// GPP string's TCF EU section.
	Consent string
	// GPP is the GPP string: the TCF EU section and a usnat section
	// without opt-out.
	GPP string
}

// NewSignals returns the signals that grant the vendors gvlIDs (each
// demand partner's gvl_id) purposes 1 and 2 and special feature 1: a TCF
// v2.2 consent string the size a CMP writes for a site with a hundred
// vendors (485 characters with vendors 1 and 2: purposes 1-4, 7, 9 and 10,
// the vendors among a hundred consents, forty legitimate interests of
// others, a publisher restriction on two others, the disclosed vendors
// segment), and a GPP string holding it and a usnat section without
// opt-out.
func NewSignals(gvlIDs []int) Signals {
	granted := slices.Sorted(slices.Values(gvlIDs))
	granted = slices.Compact(granted)
	// The granted vendors, then runs of neighbours and gaps.
	vendors := slices.Clone(granted)
	var others []int
	for id := 1; len(vendors) < 100; id++ {
		if !slices.Contains(granted, id) && id > len(granted)+8 && id%9 < 4 {
			vendors = append(vendors, id)
			others = append(others, id)
		}
		if id%9 == 8 {
			id += id % 31
		}
	}
	slices.Sort(vendors)
	tcf := &privacy.TCFBuilder{CMPID: 7, CMPVersion: 1, ConsentLanguage: "EN", VendorListVersion: 150, PolicyVersion: 5,
		PublisherCC: "DE", SpecialFeatures: []int{1}, PurposesConsent: []int{1, 2, 3, 4, 7, 9, 10},
		PurposesLI: []int{2, 7, 9, 10}, VendorConsents: vendors, VendorLI: others[:40],
		Restrictions:     []privacy.TCFRestriction{{Purpose: 7, Type: privacy.RestrictionNotAllowed, Vendors: others[60-len(granted) : 62-len(granted)]}},
		DisclosedVendors: append(slices.Clone(vendors), 1200, 1201)}
	gpp := &privacy.GPPBuilder{TCF: tcf, US: []privacy.USSection{{ID: privacy.SectionUSNat, Version: 1,
		SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 1,
		SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 2, MspaCoveredTransaction: 2}}}
	return Signals{Consent: tcf.String(), GPP: gpp.String()}
}

// Rewrite returns body re-encoded with the user ids every corpus carries
// (user.eids and device.ifa, added where missing) and, with s nil, no
// privacy signal (regs, user.consent, user.ext.consent, device.lmt and
// device.ext.atts removed) or, with s, every signal: GDPR with s.Consent
// as user.consent, s.GPP with gpp_sid naming its TCF EU and usnat
// sections, the US Privacy string 1YNN, lmt 0 and ATT authorized (3). Two
// requests rewritten from one body differ in their signals alone.
func Rewrite(body []byte, s *Signals) ([]byte, error) {
	var req openrtb2.BidRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("cannot decode the request: %w", err)
	}
	if req.User == nil {
		req.User = &openrtb2.User{}
	}
	if len(req.User.EIDs) == 0 {
		req.User.EIDs = []openrtb2.EID{{Source: "id5-sync.com", UIDs: []openrtb2.UID{{ID: "ID5*corpus"}}}}
	}
	if req.Device == nil {
		req.Device = &openrtb2.Device{}
	}
	if req.Device.IFA == "" {
		req.Device.IFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
	}
	var err error
	req.Regs, req.User.Consent, req.Device.Lmt = nil, "", nil
	if req.User.Ext, err = SetExtKey(req.User.Ext, "consent", nil); err != nil {
		return nil, fmt.Errorf("user.ext: %w", err)
	}
	var atts json.RawMessage
	if s != nil {
		gdpr, lmt := int8(1), int8(0)
		req.Regs = &openrtb2.Regs{GDPR: &gdpr, USPrivacy: "1YNN", GPP: s.GPP,
			GPPSID: []int8{privacy.SectionTCFEU, privacy.SectionUSNat}}
		req.User.Consent, req.Device.Lmt, atts = s.Consent, &lmt, json.RawMessage("3")
	}
	if req.Device.Ext, err = SetExtKey(req.Device.Ext, "atts", atts); err != nil {
		return nil, fmt.Errorf("device.ext: %w", err)
	}
	out, err := json.Marshal(&req)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the request: %w", err)
	}
	return out, nil
}

// Padded returns none (a request Rewrite stripped of signals) with a
// user.ext member ("carried") holding a string that makes it as long as
// every, the same request with every signal: the signals' bytes without a
// signal. adx reads the request and passes user.ext on to the demand
// partners without looking into it, so that what a request carried costs
// over none is what carrying the signals' bytes costs (reading, decoding,
// encoding and sending them), and what every costs over carried is what
// reading and enforcing the signals costs.
func Padded(none, every []byte) ([]byte, error) {
	var req openrtb2.BidRequest
	if err := json.Unmarshal(none, &req); err != nil {
		return nil, fmt.Errorf("cannot decode the request: %w", err)
	}
	if req.User == nil {
		return nil, fmt.Errorf("the request has no user: it was not rewritten")
	}
	withPad := func(n int) ([]byte, error) {
		v, _ := json.Marshal(strings.Repeat("x", n))
		r := req
		u := *req.User
		r.User = &u
		var err error
		if u.Ext, err = SetExtKey(u.Ext, "carried", v); err != nil {
			return nil, fmt.Errorf("user.ext: %w", err)
		}
		return json.Marshal(&r)
	}
	b, err := withPad(0)
	if err != nil {
		return nil, err
	}
	if len(b) > len(every) {
		return nil, fmt.Errorf("the request is shorter with every signal (%d bytes) than carrying none (%d)", len(every), len(b))
	}
	return withPad(len(every) - len(b))
}

// Corpora returns bodies rewritten into the three corpora: none and every
// (granting gvlIDs) by Rewrite, carried by Padded.
func Corpora(bodies [][]byte, gvlIDs []int) (none, every, carried [][]byte, err error) {
	s := NewSignals(gvlIDs)
	none = make([][]byte, len(bodies))
	every = make([][]byte, len(bodies))
	carried = make([][]byte, len(bodies))
	for i, body := range bodies {
		if none[i], err = Rewrite(body, nil); err != nil {
			return nil, nil, nil, fmt.Errorf("request %d: %w", i, err)
		}
		if every[i], err = Rewrite(body, &s); err != nil {
			return nil, nil, nil, fmt.Errorf("request %d: %w", i, err)
		}
		if carried[i], err = Padded(none[i], every[i]); err != nil {
			return nil, nil, nil, fmt.Errorf("request %d: %w", i, err)
		}
	}
	return none, every, carried, nil
}

// SetExtKey returns the ext object with key set to v, or removed where v
// is nil; nil when nothing is left.
func SetExtKey(ext json.RawMessage, key string, v json.RawMessage) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(ext) > 0 {
		if err := json.Unmarshal(ext, &m); err != nil {
			return nil, err
		}
	}
	if v == nil {
		delete(m, key)
	} else {
		m[key] = v
	}
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m)
}

// The corpora's indexes in Orders.
const (
	None = iota
	Carried
	Every
)

// Names are the corpora's names, by index.
var Names = [3]string{"none", "carried", "every"}

// Orders are the orders in which a benchmark sends the three corpora in
// successive rounds: every permutation, so that each corpus follows each
// other as often, and what one leaves the next (GC debt, cold caches, the
// machine's drift) falls on all alike.
var Orders = [6][3]int{{None, Carried, Every}, {Every, Carried, None}, {Carried, Every, None},
	{None, Every, Carried}, {Every, None, Carried}, {Carried, None, Every}}
