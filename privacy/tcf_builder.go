package privacy

import (
	"errors"
	"slices"
	"strconv"
	"time"
)

// TCFBuilder encodes a TCF v2 TC string the way a CMP writes one: each
// vendor section as a bitfield or as ranges, whichever is shorter, and
// each segment padded to a multiple of 24 bits, as the IAB's reference
// encoders do (TestTCFBuilderMatchesReference compares it with
// iabgpp-java's test vectors). It is for tests and traffic generators;
// the request path only decodes.
//
// The zero value encodes a valid string that grants nothing, with
// ConsentLanguage and PublisherCC "AA" and both dates at the epoch. Lists
// may be unsorted and hold duplicates.
type TCFBuilder struct {
	Created, LastUpdated time.Time
	CMPID                int // 0 to 4095
	CMPVersion           int // 0 to 4095
	ConsentScreen        int // 0 to 63
	ConsentLanguage      string
	VendorListVersion    int // 0 to 4095
	PolicyVersion        int // 0 to 63
	IsServiceSpecific    bool
	UseNonStandardTexts  bool
	PurposeOneTreatment  bool
	PublisherCC          string

	SpecialFeatures []int // 1 to 12
	PurposesConsent []int // 1 to 24
	PurposesLI      []int // 1 to 24

	VendorConsents []int // 1 to 65535
	VendorLI       []int // 1 to 65535

	Restrictions []TCFRestriction

	// DisclosedVendors, when not nil, adds a disclosed vendors segment
	// (SegmentType 1), which TCF v2.3 makes mandatory.
	DisclosedVendors []int
}

// TCFRestriction is one publisher restriction: Type on Purpose for Vendors.
type TCFRestriction struct {
	Purpose int // 0 to 63
	Type    Restriction
	Vendors []int
}

// String returns the encoded string. It panics where Encode returns an
// error: the builder's input is the program's own.
func (b *TCFBuilder) String() string {
	s, err := b.Encode()
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return s
}

// Encode returns the encoded string, or an error naming the first field out
// of its range.
func (b *TCFBuilder) Encode() (string, error) {
	var w bitWriter
	w.uint(2, 6)
	created, lastUpdated := toDeciseconds(b.Created), toDeciseconds(b.LastUpdated)
	for _, f := range []struct {
		name string
		v    int64
		bits int
	}{
		{"Created", created, 36},
		{"LastUpdated", lastUpdated, 36},
		{"CMPID", int64(b.CMPID), 12},
		{"CMPVersion", int64(b.CMPVersion), 12},
		{"ConsentScreen", int64(b.ConsentScreen), 6},
		{"VendorListVersion", int64(b.VendorListVersion), 12},
		{"PolicyVersion", int64(b.PolicyVersion), 6},
	} {
		if f.v < 0 || f.v >= 1<<f.bits {
			return "", errors.New("TCFBuilder." + f.name + " " + strconv.FormatInt(f.v, 10) + " does not fit " + strconv.Itoa(f.bits) + " bits")
		}
	}
	lang, err := encodeLetters("ConsentLanguage", b.ConsentLanguage)
	if err != nil {
		return "", err
	}
	cc, err := encodeLetters("PublisherCC", b.PublisherCC)
	if err != nil {
		return "", err
	}
	w.uint(uint64(created), 36)
	w.uint(uint64(lastUpdated), 36)
	w.uint(uint64(b.CMPID), 12)
	w.uint(uint64(b.CMPVersion), 12)
	w.uint(uint64(b.ConsentScreen), 6)
	w.uint(uint64(lang), 12)
	w.uint(uint64(b.VendorListVersion), 12)
	w.uint(uint64(b.PolicyVersion), 6)
	w.bool(b.IsServiceSpecific)
	w.bool(b.UseNonStandardTexts)
	for _, f := range []struct {
		name  string
		ids   []int
		width int
	}{
		{"SpecialFeatures", b.SpecialFeatures, 12},
		{"PurposesConsent", b.PurposesConsent, 24},
		{"PurposesLI", b.PurposesLI, 24},
	} {
		var field uint64
		for _, id := range f.ids {
			if id < 1 || id > f.width {
				return "", errors.New("TCFBuilder." + f.name + " holds " + strconv.Itoa(id) + ", outside 1 to " + strconv.Itoa(f.width))
			}
			field |= 1 << (f.width - id)
		}
		w.uint(field, f.width)
	}
	w.bool(b.PurposeOneTreatment)
	w.uint(uint64(cc), 12)

	consents, err := vendorIDs("VendorConsents", b.VendorConsents)
	if err != nil {
		return "", err
	}
	li, err := vendorIDs("VendorLI", b.VendorLI)
	if err != nil {
		return "", err
	}
	writeVendorSection(&w, consents)
	writeVendorSection(&w, li)

	if len(b.Restrictions) >= 1<<12 {
		return "", errors.New("TCFBuilder.Restrictions holds more than 4095 entries")
	}
	w.uint(uint64(len(b.Restrictions)), 12)
	for i, pr := range b.Restrictions {
		name := "TCFBuilder.Restrictions[" + strconv.Itoa(i) + "]"
		if pr.Purpose < 0 || pr.Purpose > 63 {
			return "", errors.New(name + ".Purpose " + strconv.Itoa(pr.Purpose) + " is outside 0 to 63")
		}
		if pr.Type < RestrictionNotAllowed || pr.Type > RestrictionRequireLI {
			return "", errors.New(name + ".Type " + pr.Type.String() + " is not a restriction type")
		}
		ids, err := vendorIDs("Restrictions["+strconv.Itoa(i)+"].Vendors", pr.Vendors)
		if err != nil {
			return "", err
		}
		rs := toRanges(ids)
		if len(rs) >= 1<<12 {
			return "", errors.New(name + ".Vendors needs more than 4095 range entries")
		}
		w.uint(uint64(pr.Purpose), 6)
		w.uint(uint64(pr.Type), 2)
		writeRanges(&w, rs)
	}
	s := w.base64(24)

	if b.DisclosedVendors != nil {
		ids, err := vendorIDs("DisclosedVendors", b.DisclosedVendors)
		if err != nil {
			return "", err
		}
		var d bitWriter
		d.uint(1, 3)
		writeVendorSection(&d, ids)
		s += "." + d.base64(24)
	}
	return s, nil
}

func toDeciseconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli() / 100
}

// encodeLetters packs two letters A-Z (either case) into 12 bits; "" is
// "AA".
func encodeLetters(field, s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) != 2 {
		return 0, errors.New("TCFBuilder." + field + " " + strconv.Quote(s) + " is not two letters")
	}
	v := 0
	for i := range 2 {
		c := s[i] | 0x20 // lower case
		if c < 'a' || c > 'z' {
			return 0, errors.New("TCFBuilder." + field + " " + strconv.Quote(s) + " is not two letters")
		}
		v = v<<6 | int(c-'a')
	}
	return v, nil
}

// vendorIDs returns ids sorted without duplicates, or an error naming one
// outside 1 to 65535.
func vendorIDs(field string, ids []int) ([]int, error) {
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	for _, id := range out {
		if id < 1 || id > 0xffff {
			return nil, errors.New("TCFBuilder." + field + " holds vendor " + strconv.Itoa(id) + ", outside 1 to 65535")
		}
	}
	return out, nil
}

// toRanges groups sorted unique ids into runs.
func toRanges(ids []int) []vendorRange {
	var rs []vendorRange
	for _, id := range ids {
		if n := len(rs); n > 0 && int(rs[n-1].end) == id-1 {
			rs[n-1].end = uint16(id)
			continue
		}
		rs = append(rs, vendorRange{uint16(id), uint16(id)})
	}
	return rs
}

func rangesBits(rs []vendorRange) int {
	n := 12
	for _, rg := range rs {
		n += 17
		if rg.end != rg.start {
			n += 16
		}
	}
	return n
}

// writeVendorSection writes MaxVendorId, IsRangeEncoding and the shorter of
// the bitfield and the range list, as the specification asks encoders to.
func writeVendorSection(w *bitWriter, ids []int) {
	maxID := 0
	if len(ids) > 0 {
		maxID = ids[len(ids)-1]
	}
	w.uint(uint64(maxID), 16)
	rs := toRanges(ids)
	if rangesBits(rs) <= maxID { // a tie goes to ranges, as in iabgpp-java
		w.bool(true)
		writeRanges(w, rs)
		return
	}
	w.bool(false)
	next := 0
	for id := 1; id <= maxID; id++ {
		in := next < len(ids) && ids[next] == id
		if in {
			next++
		}
		w.bit(in)
	}
}

func writeRanges(w *bitWriter, rs []vendorRange) {
	w.uint(uint64(len(rs)), 12)
	for _, rg := range rs {
		isRange := rg.end != rg.start
		w.bool(isRange)
		w.uint(uint64(rg.start), 16)
		if isRange {
			w.uint(uint64(rg.end), 16)
		}
	}
}
