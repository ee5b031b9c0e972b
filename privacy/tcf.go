// Package privacy decodes the privacy signals a bid request carries and
// checks them against the rules adx enforces.
//
// The decoders are built for the request path: a TCF or GPP value is reused
// across requests (from a sync.Pool), Parse resets it and decodes without
// allocating for typical strings, and a malformed string is an error
// (*DecodeError), never a panic.
//
//   - TCF decodes an IAB Europe TCF v2 TC string (user.consent): the core
//     segment in full, the other segments checked and skipped (tcf.go).
//   - GPP decodes an IAB Global Privacy Platform string (regs.gpp): the
//     header, section 2 (tcfeuv2) into a TCF, section 7 (usnat) and the
//     state sections 8 to 12 (gpp.go, gpp_us.go).
//   - GVL is a parsed Global Vendor List (vendor-list.json, version 3) with
//     each vendor's declared purposes as bitmasks (gvl.go).
//   - TCFBuilder and GPPBuilder encode strings the way a CMP would, for tests
//     and traffic generators (tcf_builder.go, gpp_builder.go).
//
// Specifications followed: IAB Tech Lab "Transparency and Consent String
// with Global Vendor & CMP List Formats" (TCF v2.2), "Global Privacy
// Platform String" v1, "GPP Extension: IAB Europe TCF", "IAB Privacy's MSPA
// US National Privacy Technical Specification" and the state
// specifications for California, Virginia, Colorado, Utah and Connecticut.
package privacy

import (
	"strconv"
	"strings"
	"time"
)

// Restriction is a publisher restriction type (TCF v2 core string,
// PubRestrictionEntry.RestrictionType) as Restriction reports it.
type Restriction int8

// The restriction types. RestrictionNone is not in the format: it means the
// string restricts nothing for the purpose and vendor asked about.
const (
	RestrictionNone           Restriction = -1
	RestrictionNotAllowed     Restriction = 0
	RestrictionRequireConsent Restriction = 1
	RestrictionRequireLI      Restriction = 2
)

// String names r for logs.
func (r Restriction) String() string {
	switch r {
	case RestrictionNone:
		return "none"
	case RestrictionNotAllowed:
		return "not-allowed"
	case RestrictionRequireConsent:
		return "require-consent"
	case RestrictionRequireLI:
		return "require-li"
	}
	return "Restriction(" + strconv.Itoa(int(r)) + ")"
}

// coreFixedBits is the length of the core segment's fixed fields, Version
// through PublisherCC.
const coreFixedBits = 6 + 36 + 36 + 12 + 12 + 6 + 12 + 12 + 6 + 1 + 1 + 12 + 24 + 24 + 1 + 12

// TCF is a decoded TCF v2 TC string. The zero value is ready to use and
// grants nothing; Parse fills it, and reusing one TCF across requests keeps
// its buffers, so that Parse does not allocate once they have grown to a
// typical string's size (about 1 KiB at most).
//
// Vendor IDs are 16-bit in the format, so every lookup is bounded; a
// bitfield is read in place from the decoded string and range entries are
// kept as ranges (binary-searched when sorted), so memory is bounded by
// MaxStringLength, not by the largest vendor ID a string names.
//
// A TCF keeps no reference to the string it parsed. It is not safe for
// concurrent use; the accessors are read-only and may be called
// concurrently once Parse has returned.
type TCF struct {
	buf []byte // the decoded core segment; bitfields are read in place

	version           int
	created           int64 // deciseconds since the epoch
	lastUpdated       int64
	cmpID             int
	cmpVersion        int
	consentScreen     int
	consentLanguage   int // letter pair index, see letterPairs
	vendorListVersion int
	policyVersion     int

	isServiceSpecific   bool
	useNonStandardTexts bool
	purposeOneTreatment bool
	publisherCC         int

	specialFeatures uint32 // 12 bits, special feature 1 is the highest
	purposesConsent uint32 // 24 bits, purpose 1 is the highest
	purposesLI      uint32

	consents vendorSet
	li       vendorSet

	restrictions []pubRestriction
	ranges       []vendorRange // every range entry: consents, li, restrictions
}

// vendorSet is a vendor section: a bitfield read in place from buf, or a
// slice of ranges.
type vendorSet struct {
	max    int
	bitOff int // bit offset of vendor 1's bit in buf; -1 when range-encoded
	lo, hi int // ranges[lo:hi] when range-encoded
	sorted bool
}

type vendorRange struct{ start, end uint16 }

type pubRestriction struct {
	purpose int
	typ     Restriction
	lo, hi  int // ranges[lo:hi]
	sorted  bool
}

func (t *TCF) reset() {
	*t = TCF{buf: t.buf[:0], restrictions: t.restrictions[:0], ranges: t.ranges[:0]}
}

// Parse decodes the TC string s into t, replacing what t held. s is
// base64url without padding, as the specification requires; trailing '='
// are tolerated. The core segment is decoded in full; the other segments
// (disclosed vendors, allowed vendors, publisher TC) must be non-empty
// base64url with a known segment type and are otherwise skipped.
//
// On error t grants nothing, as after a reset, and the error is a
// *DecodeError naming the field. Parse checks the format, not the
// policy: a string whose TcfPolicyVersion or VendorListVersion is stale,
// or whose PurposeOneTreatment is set, parses.
func (t *TCF) Parse(s string) error {
	t.reset()
	if err := t.parse(s); err != nil {
		t.reset()
		return err
	}
	return nil
}

func (t *TCF) parse(s string) error {
	if s == "" {
		return tcfError("TC string", "is empty")
	}
	if len(s) > MaxStringLength {
		return tcfValueError("TC string length", len(s), "exceeds "+strconv.Itoa(MaxStringLength)+" bytes")
	}
	core, rest, hasRest := strings.Cut(s, ".")
	core = trimPadding(core)
	if core == "" {
		return tcfError("core segment", "is empty")
	}
	buf, nbits, bad, ok := decodeBits(t.buf, core)
	t.buf = buf
	if !ok {
		return tcfError("core segment", "character "+strconv.Itoa(bad)+" is not base64url")
	}
	var r bitReader
	r.reset(buf, nbits)
	t.version = r.int(6)
	if t.version != 2 {
		return tcfValueError("Version", t.version, "only version 2 is supported")
	}
	if nbits < coreFixedBits {
		return tcfValueError("core segment length", nbits, "is shorter than the "+strconv.Itoa(coreFixedBits)+" bits of its fixed fields")
	}
	t.created = int64(r.uint(36))
	t.lastUpdated = int64(r.uint(36))
	t.cmpID = r.int(12)
	t.cmpVersion = r.int(12)
	t.consentScreen = r.int(6)
	lang, okLang := letterPair(r.int(6), r.int(6))
	if !okLang {
		return tcfError("ConsentLanguage", "holds a letter outside A-Z")
	}
	t.consentLanguage = lang
	t.vendorListVersion = r.int(12)
	t.policyVersion = r.int(6)
	t.isServiceSpecific = r.bool()
	t.useNonStandardTexts = r.bool()
	t.specialFeatures = uint32(r.uint(12))
	t.purposesConsent = uint32(r.uint(24))
	t.purposesLI = uint32(r.uint(24))
	t.purposeOneTreatment = r.bool()
	cc, okCC := letterPair(r.int(6), r.int(6))
	if !okCC {
		return tcfError("PublisherCC", "holds a letter outside A-Z")
	}
	t.publisherCC = cc

	if err := t.readVendors(&r, &t.consents, "vendor consent section"); err != nil {
		return err
	}
	if err := t.readVendors(&r, &t.li, "vendor legitimate interest section"); err != nil {
		return err
	}
	if err := t.readRestrictions(&r); err != nil {
		return err
	}

	for hasRest {
		var seg string
		seg, rest, hasRest = strings.Cut(rest, ".")
		seg = trimPadding(seg)
		if seg == "" {
			return tcfError("segment", "is empty")
		}
		if i := validBase64(seg); i >= 0 {
			return tcfError("segment", "character "+strconv.Itoa(i)+" is not base64url")
		}
		// SegmentType, the first 3 bits: 1 disclosed vendors, 2 allowed
		// vendors, 3 publisher TC. 0 would be a second core segment.
		if typ := int(b64[seg[0]] >> 3); typ < 1 || typ > 3 {
			return tcfValueError("SegmentType", typ, "is not 1 (disclosed vendors), 2 (allowed vendors) or 3 (publisher TC)")
		}
	}
	return nil
}

// readVendors reads a vendor section: MaxVendorId, IsRangeEncoding, then a
// bitfield or NumEntries range entries.
func (t *TCF) readVendors(r *bitReader, vs *vendorSet, section string) error {
	if r.left() < 17 {
		return tcfError(section+" MaxVendorId", problemTruncated)
	}
	vs.max = r.int(16)
	if !r.bool() {
		if r.left() < vs.max {
			return tcfValueError(section+" bitfield of MaxVendorId bits", vs.max, problemTruncated)
		}
		vs.bitOff = r.pos
		r.skip(vs.max)
		return nil
	}
	vs.bitOff = -1
	if r.left() < 12 {
		return tcfError(section+" NumEntries", problemTruncated)
	}
	n := r.int(12)
	lo, sorted, err := t.readRanges(r, n, section)
	if err != nil {
		return err
	}
	for _, rg := range t.ranges[lo:] {
		if int(rg.end) > vs.max {
			return tcfValueError(section+" range entry end", int(rg.end), "exceeds MaxVendorId "+strconv.Itoa(vs.max))
		}
	}
	vs.lo, vs.hi, vs.sorted = lo, len(t.ranges), sorted
	return nil
}

// readRanges appends n range entries (IsARange, StartOrOnlyVendorId,
// EndVendorId) to t.ranges and returns where they start and whether they
// ascend without overlap, which lets lookups binary-search them.
func (t *TCF) readRanges(r *bitReader, n int, section string) (lo int, sorted bool, err error) {
	lo, sorted = len(t.ranges), true
	prevEnd := 0
	for range n {
		if r.left() < 17 {
			return 0, false, tcfError(section+" RangeEntry", problemTruncated)
		}
		isRange := r.bool()
		start := r.int(16)
		end := start
		if isRange {
			if r.left() < 16 {
				return 0, false, tcfError(section+" EndVendorId", problemTruncated)
			}
			end = r.int(16)
		}
		if start == 0 {
			return 0, false, tcfError(section+" StartOrOnlyVendorId", "is 0; vendor IDs start at 1")
		}
		if end < start {
			return 0, false, tcfValueError(section+" EndVendorId", end, "is below StartOrOnlyVendorId "+strconv.Itoa(start))
		}
		if start <= prevEnd {
			sorted = false
		}
		prevEnd = end
		t.ranges = append(t.ranges, vendorRange{uint16(start), uint16(end)})
	}
	return lo, sorted, nil
}

// readRestrictions reads NumPubRestrictions and the PubRestrictionEntry
// list.
func (t *TCF) readRestrictions(r *bitReader) error {
	const section = "publisher restrictions section"
	if r.left() < 12 {
		return tcfError(section+" NumPubRestrictions", problemTruncated)
	}
	n := r.int(12)
	for range n {
		if r.left() < 6+2+12 {
			return tcfError(section+" PubRestrictionEntry", problemTruncated)
		}
		purpose := r.int(6)
		typ := r.int(2)
		if typ > int(RestrictionRequireLI) {
			return tcfValueError(section+" RestrictionType", typ, "is undefined")
		}
		entries := r.int(12)
		lo, sorted, err := t.readRanges(r, entries, section)
		if err != nil {
			return err
		}
		t.restrictions = append(t.restrictions, pubRestriction{
			purpose: purpose, typ: Restriction(typ), lo: lo, hi: len(t.ranges), sorted: sorted,
		})
	}
	return nil
}

// Version is the TC string's Version: 2 after a successful Parse, 0
// otherwise.
func (t *TCF) Version() int { return t.version }

// Created is when the TC string was first created (deciseconds precision).
func (t *TCF) Created() time.Time { return deciseconds(t.created) }

// LastUpdated is when the TC string was last updated.
func (t *TCF) LastUpdated() time.Time { return deciseconds(t.lastUpdated) }

func deciseconds(ds int64) time.Time { return time.UnixMilli(ds * 100).UTC() }

// CMPID is the ID of the consent management platform that last updated the
// string.
func (t *TCF) CMPID() int { return t.cmpID }

// CMPVersion is that platform's version.
func (t *TCF) CMPVersion() int { return t.cmpVersion }

// ConsentScreen is the CMP's screen number at which consent was given.
func (t *TCF) ConsentScreen() int { return t.consentScreen }

// ConsentLanguage is the two upper-case letters of the ISO 639-1 language
// the CMP UI was shown in, "" before a successful Parse.
func (t *TCF) ConsentLanguage() string { return t.letters(t.consentLanguage) }

// VendorListVersion is the Global Vendor List version the string was
// created with.
func (t *TCF) VendorListVersion() int { return t.vendorListVersion }

// PolicyVersion is the TCF policy version (TcfPolicyVersion) the string was
// created under, from the GVL's tcfPolicyVersion at the time (4 from TCF
// v2.2 on).
func (t *TCF) PolicyVersion() int { return t.policyVersion }

// IsServiceSpecific reports whether the string was saved for this service
// only rather than globally.
func (t *TCF) IsServiceSpecific() bool { return t.isServiceSpecific }

// UseNonStandardTexts reports whether the CMP showed non-standard
// descriptions (UseNonStandardStacks before TCF v2.2).
func (t *TCF) UseNonStandardTexts() bool { return t.useNonStandardTexts }

// PurposeOneTreatment reports whether purpose 1 was not disclosed at all
// (in a jurisdiction where it need not be, named by PublisherCC).
func (t *TCF) PurposeOneTreatment() bool { return t.purposeOneTreatment }

// PublisherCC is the two upper-case letters of the ISO 3166-1 country
// whose law governs the publisher, "" before a successful Parse. A string
// that never set it says "AA".
func (t *TCF) PublisherCC() string { return t.letters(t.publisherCC) }

func (t *TCF) letters(i int) string {
	if t.version == 0 {
		return ""
	}
	return letterPairs[2*i : 2*i+2]
}

// PurposeConsent reports whether the user consented to purpose p (1-based,
// 1 to 24; false outside).
func (t *TCF) PurposeConsent(p int) bool { return bitOf(t.purposesConsent, 24, p) }

// PurposeLI reports whether legitimate interest is established for purpose
// p and the user has not objected to it.
func (t *TCF) PurposeLI(p int) bool { return bitOf(t.purposesLI, 24, p) }

// SpecialFeature reports whether the user opted in to special feature n
// (1-based, 1 to 12; 1 is precise geolocation, 2 device scanning).
func (t *TCF) SpecialFeature(n int) bool { return bitOf(t.specialFeatures, 12, n) }

// bitOf reports bit id (1-based, from the left) of a width-bit field.
func bitOf(field uint32, width, id int) bool {
	return id >= 1 && id <= width && field>>(width-id)&1 == 1
}

// VendorConsent reports whether the user consented to vendor id.
func (t *TCF) VendorConsent(id int) bool { return t.inVendors(&t.consents, id) }

// VendorLI reports whether vendor id's legitimate interest is established
// and the user has not objected to it.
func (t *TCF) VendorLI(id int) bool { return t.inVendors(&t.li, id) }

func (t *TCF) inVendors(vs *vendorSet, id int) bool {
	if id < 1 || id > vs.max {
		return false
	}
	if vs.bitOff >= 0 {
		return bitAt(t.buf, vs.bitOff+id-1)
	}
	return rangesContain(t.ranges[vs.lo:vs.hi], vs.sorted, id)
}

// rangesContain reports whether id is in one of rs. Sorted ranges (as CMPs
// write them) are binary-searched once there are enough of them for that
// to pay.
func rangesContain(rs []vendorRange, sorted bool, id int) bool {
	if sorted && len(rs) > 8 {
		i, j := 0, len(rs)
		for i < j {
			h := int(uint(i+j) >> 1)
			if int(rs[h].end) < id {
				i = h + 1
			} else {
				j = h
			}
		}
		return i < len(rs) && int(rs[i].start) <= id
	}
	for _, rg := range rs {
		if int(rg.start) <= id && id <= int(rg.end) {
			return true
		}
	}
	return false
}

// Restriction reports the publisher's restriction on vendor for purpose, or
// RestrictionNone. The format does not forbid a string from naming a vendor
// under several types for one purpose; then RestrictionNotAllowed wins, then
// RestrictionRequireConsent, the stricter legal basis.
func (t *TCF) Restriction(purpose, vendor int) Restriction {
	res := RestrictionNone
	for i := range t.restrictions {
		pr := &t.restrictions[i]
		if pr.purpose != purpose || !rangesContain(t.ranges[pr.lo:pr.hi], pr.sorted, vendor) {
			continue
		}
		if pr.typ == RestrictionNotAllowed {
			return RestrictionNotAllowed
		}
		if res == RestrictionNone || pr.typ == RestrictionRequireConsent {
			res = pr.typ
		}
	}
	return res
}

// letterPairs holds "AA", "AB", ..., "ZZ" back to back, so that the
// two-letter fields are returned as substrings without allocating.
var letterPairs = func() string {
	b := make([]byte, 0, 26*26*2)
	for a := byte('A'); a <= 'Z'; a++ {
		for c := byte('A'); c <= 'Z'; c++ {
			b = append(b, a, c)
		}
	}
	return string(b)
}()

// letterPair maps two 6-bit letters (a=0 ... z=25) to their index in
// letterPairs.
func letterPair(a, b int) (int, bool) {
	if a > 25 || b > 25 {
		return 0, false
	}
	return a*26 + b, true
}
