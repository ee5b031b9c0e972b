package bench

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/adx-exchange/adx/privacy"
)

// Built-in pools of the synthesizer. The consent and GPP strings are built
// with adx's own encoders (pools_test.go decodes them back): well-formed,
// as CMPs write them, with choices in plausible shares, not real users'.
var (
	languages     = []string{"en", "en", "en", "es", "de", "fr", "pt", "it", "ja", "hi", "id", "nl", "pl", "ko"}
	androidModels = []string{"SM-S918B", "SM-A546B", "Pixel 8", "Pixel 7a", "22101316G", "CPH2581", "moto g54 5G", "SM-G991U", "V2303", "RMX3771"}
	iabCats       = []string{"IAB1", "IAB2", "IAB3", "IAB5", "IAB7", "IAB8", "IAB9", "IAB12", "IAB13", "IAB15", "IAB17", "IAB19", "IAB20", "IAB9-30"}
	iabSections   = []string{"news", "sports", "weather", "recipes", "tech", "games", "video", "finance", "travel", "music"}
	sspDomains    = []string{"adx.example", "pubmatic.com", "rubiconproject.com", "openx.com", "indexexchange.com", "appnexus.com", "sovrn.com", "triplelift.com"}
	usPrivacy     = []string{"1YNN", "1YNN", "1YNN", "1YYN", "1NNN", "1---", "1YNY"}
	// tcfStrings are TC strings as CMPs write them for a vendor list of
	// about 1,100 vendors (consentVendors): seven in ten users who answer
	// the CMP accept all, one in ten accepts some purposes and vendors,
	// two in ten refuse all.
	tcfStrings = func() []string {
		accept, partial, refuse := consentString(tcfAcceptAll), consentString(tcfPartial), consentString(tcfRefuseAll)
		return []string{accept, accept, accept, accept, accept, accept, accept, partial, refuse, refuse}
	}()
	// gppUS are GPP strings of US traffic with the section gpp_sid names.
	gppUS = []struct {
		s   string
		sid int8
	}{
		{gppString(privacy.USSection{ID: privacy.SectionUSNat, Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1,
			TargetedAdvertisingOptOutNotice: 1, SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 2, MspaCoveredTransaction: 2}), privacy.SectionUSNat},
		{gppString(privacy.USSection{ID: privacy.SectionUSCA, Version: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1, SaleOptOut: 2, SharingOptOut: 2,
			MspaCoveredTransaction: 2}), privacy.SectionUSCA},
		{(&privacy.GPPBuilder{Raw: []privacy.GPPSection{{ID: privacy.SectionUSP, Value: "1YNN"}}}).String(), privacy.SectionUSP},
		{gppString(privacy.USSection{ID: privacy.SectionUSNat, Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1,
			TargetedAdvertisingOptOutNotice: 1, SaleOptOut: 1, SharingOptOut: 1, TargetedAdvertisingOptOut: 1, MspaCoveredTransaction: 2}), privacy.SectionUSNat}, // opted out
		{gppString(privacy.USSection{ID: privacy.SectionUSCO, Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 1,
			SaleOptOut: 2, TargetedAdvertisingOptOut: 2, MspaCoveredTransaction: 2}), privacy.SectionUSCO},
	}
	greaseBrands = []struct{ brand, version string }{
		{"Not?A_Brand", "99"}, {"Not)A;Brand", "8"}, {"Not/A)Brand", "24"}, {"Not A(Brand", "99"},
	}
	nameParts = [2][]string{
		{"daily", "happy", "smart", "pixel", "quick", "bright", "urban", "cosmic", "tiny", "mega", "super", "real", "local", "global", "green", "blue"},
		{"news", "weather", "recipes", "puzzle", "solitaire", "cars", "match", "words", "sports", "radio", "photos", "fitness", "travel", "chess", "maps", "deals"},
	}
	nativeRequest = `{"ver":"1.2","context":1,"plcmttype":1,"plcmtcnt":1,"assets":[` +
		`{"id":1,"required":1,"title":{"len":90}},` +
		`{"id":2,"required":1,"img":{"type":3,"wmin":300,"hmin":157}},` +
		`{"id":3,"required":0,"data":{"type":1,"len":25}},` +
		`{"id":4,"required":0,"data":{"type":2,"len":140}}],` +
		`"eventtrackers":[{"event":1,"methods":[1,2]}]}`
)

func pickStr(r *rand.Rand, pool []string) string { return pool[r.IntN(len(pool))] }

// word returns part i (0 or 1) of the name of the pool member of rank.
func word(rank uint64, i int) string {
	p := nameParts[i]
	if i == 0 {
		return p[rank%uint64(len(p))]
	}
	return p[rank/uint64(len(nameParts[0]))%uint64(len(p))]
}

// domain returns the domain of the site or app publisher of rank: unique
// per rank, readable for the top ranks.
func domain(rank uint64) string {
	n := uint64(len(nameParts[0]) * len(nameParts[1]))
	d := word(rank, 0) + word(rank, 1)
	if rank >= n {
		d += strconv.FormatUint(rank/n, 10)
	}
	return d + ".com"
}

// title returns an app name for rank.
func title(rank uint64) string {
	w0, w1 := word(rank, 0), word(rank, 1)
	return string(w0[0]-32) + w0[1:] + " " + string(w1[0]-32) + w1[1:]
}

// The users' answers to a CMP: tcfAcceptAll, tcfPartial, tcfRefuseAll.
const (
	tcfAcceptAll = iota
	tcfPartial
	tcfRefuseAll
)

// ConsentVendors are the vendor ids a synthesized accept-all consent
// string grants, consent and legitimate interest: a vendor list of about
// 1,100 vendors between 1 and 1300 (every id but the multiples of 7). Give
// a load test's demand partners gvl_id values among them, e.g. 32, 52, 76
// and 755, so that EU requests reach them as far as the user allows.
func ConsentVendors() []int {
	ids := make([]int, 0, 1300)
	for id := 1; id <= 1300; id++ {
		if id%7 != 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// consentString builds a TC string for one kind of answer.
func consentString(answer int) string {
	vendors := ConsentVendors()
	b := privacy.TCFBuilder{
		Created: time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC), LastUpdated: time.Date(2026, 11, 20, 18, 5, 0, 0, time.UTC),
		CMPID: 10, CMPVersion: 3, ConsentScreen: 1, ConsentLanguage: "EN", VendorListVersion: 120, PolicyVersion: 5,
		IsServiceSpecific: true, PublisherCC: "DE", DisclosedVendors: vendors,
	}
	switch answer {
	case tcfAcceptAll:
		b.SpecialFeatures = []int{1}
		b.PurposesConsent = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
		b.PurposesLI = []int{2, 7, 8, 9, 10, 11}
		b.VendorConsents, b.VendorLI = vendors, vendors
	case tcfPartial:
		b.PurposesConsent = []int{1, 2, 7, 9, 10}
		b.PurposesLI = []int{2, 7, 8, 9, 10, 11}
		for _, id := range vendors {
			if id%3 == 0 {
				b.VendorConsents = append(b.VendorConsents, id)
			}
		}
		b.VendorLI = vendors
	case tcfRefuseAll:
		// Legitimate interest stays until the user objects to it too.
		b.PurposesLI = []int{2, 7, 8, 9, 10, 11}
		b.VendorLI = vendors
	}
	return b.String()
}

// gppString encodes one US section as a GPP string.
func gppString(us privacy.USSection) string {
	return (&privacy.GPPBuilder{US: []privacy.USSection{us}}).String()
}
