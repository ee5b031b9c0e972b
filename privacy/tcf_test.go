package privacy

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// tcfExample is one entry of testdata/tcf/examples.json. A nil field is
// not checked.
type tcfExample struct {
	Name                string  `json:"name"`
	Source              string  `json:"source"`
	String              string  `json:"string"`
	Version             *int    `json:"version"`
	Created             *string `json:"created"`
	LastUpdated         *string `json:"lastUpdated"`
	CMPID               *int    `json:"cmpId"`
	CMPVersion          *int    `json:"cmpVersion"`
	ConsentScreen       *int    `json:"consentScreen"`
	ConsentLanguage     *string `json:"consentLanguage"`
	VendorListVersion   *int    `json:"vendorListVersion"`
	PolicyVersion       *int    `json:"policyVersion"`
	IsServiceSpecific   *bool   `json:"isServiceSpecific"`
	UseNonStandardTexts *bool   `json:"useNonStandardTexts"`
	PurposeOneTreatment *bool   `json:"purposeOneTreatment"`
	PublisherCC         *string `json:"publisherCC"`

	// Keyed by accessor: purposeConsent, purposeLI, specialFeature,
	// vendorConsent, vendorLI.
	Exactly map[string][]int `json:"exactly"` // the IDs granted, no more
	Granted map[string][]int `json:"granted"`
	Denied  map[string][]int `json:"denied"`
	Count   map[string]int   `json:"count"`

	RestrictionEntries *int               `json:"restrictionEntries"`
	Restrictions       []restrictionClaim `json:"restrictions"`
	NoRestrictions     []restrictionClaim `json:"noRestrictions"`
}

// restrictionClaim says the string has (or has not) a restriction of Type
// on Vendor for Purpose; a vendor may be under several types for one
// purpose, which Restriction resolves to one.
type restrictionClaim struct {
	Purpose int         `json:"purpose"`
	Vendor  int         `json:"vendor"`
	Type    Restriction `json:"type"`
}

// tcfAccessors maps the examples' keys to the ID checks and their ranges.
var tcfAccessors = map[string]struct {
	get func(*TCF, int) bool
	max int
}{
	"purposeConsent": {(*TCF).PurposeConsent, 24},
	"purposeLI":      {(*TCF).PurposeLI, 24},
	"specialFeature": {(*TCF).SpecialFeature, 12},
	"vendorConsent":  {(*TCF).VendorConsent, 0xffff},
	"vendorLI":       {(*TCF).VendorLI, 0xffff},
}

func granted(tc *TCF, accessor string) []int {
	a, ok := tcfAccessors[accessor]
	if !ok {
		panic("unknown accessor " + accessor)
	}
	ids := []int{}
	for id := 0; id <= a.max+1; id++ {
		if a.get(tc, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// hasRestriction reports whether tc restricts vendor for purpose with typ,
// whatever else it says about them.
func hasRestriction(tc *TCF, purpose, vendor int, typ Restriction) bool {
	for _, pr := range tc.restrictions {
		if pr.purpose == purpose && pr.typ == typ && rangesContain(tc.ranges[pr.lo:pr.hi], pr.sorted, vendor) {
			return true
		}
	}
	return false
}

func TestTCFExamples(t *testing.T) {
	b, err := os.ReadFile("testdata/tcf/examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var examples []tcfExample
	if err := json.Unmarshal(b, &examples); err != nil {
		t.Fatal(err)
	}
	if len(examples) < 15 {
		t.Fatalf("read %d examples, want the whole file", len(examples))
	}
	var tc TCF // reused across examples, as on the request path
	for _, ex := range examples {
		t.Run(ex.Name, func(t *testing.T) {
			if ex.Source == "" {
				t.Error("example has no source")
			}
			if err := tc.Parse(ex.String); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkTCF(t, &tc, &ex)
		})
	}
}

func checkTCF(t *testing.T, tc *TCF, ex *tcfExample) {
	t.Helper()
	eqInt := func(name string, got int, want *int) {
		t.Helper()
		if want != nil && got != *want {
			t.Errorf("%s = %d, want %d", name, got, *want)
		}
	}
	eqBool := func(name string, got bool, want *bool) {
		t.Helper()
		if want != nil && got != *want {
			t.Errorf("%s = %v, want %v", name, got, *want)
		}
	}
	eqString := func(name string, got string, want *string) {
		t.Helper()
		if want != nil && got != *want {
			t.Errorf("%s = %q, want %q", name, got, *want)
		}
	}
	eqTime := func(name string, got time.Time, want *string) {
		t.Helper()
		if want == nil {
			return
		}
		w, err := time.Parse(time.RFC3339, *want)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Truncate(time.Second).Equal(w) {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
	eqInt("Version", tc.Version(), ex.Version)
	eqTime("Created", tc.Created(), ex.Created)
	eqTime("LastUpdated", tc.LastUpdated(), ex.LastUpdated)
	eqInt("CMPID", tc.CMPID(), ex.CMPID)
	eqInt("CMPVersion", tc.CMPVersion(), ex.CMPVersion)
	eqInt("ConsentScreen", tc.ConsentScreen(), ex.ConsentScreen)
	eqString("ConsentLanguage", tc.ConsentLanguage(), ex.ConsentLanguage)
	eqInt("VendorListVersion", tc.VendorListVersion(), ex.VendorListVersion)
	eqInt("PolicyVersion", tc.PolicyVersion(), ex.PolicyVersion)
	eqBool("IsServiceSpecific", tc.IsServiceSpecific(), ex.IsServiceSpecific)
	eqBool("UseNonStandardTexts", tc.UseNonStandardTexts(), ex.UseNonStandardTexts)
	eqBool("PurposeOneTreatment", tc.PurposeOneTreatment(), ex.PurposeOneTreatment)
	eqString("PublisherCC", tc.PublisherCC(), ex.PublisherCC)
	for acc, want := range ex.Exactly {
		if got := granted(tc, acc); !slices.Equal(got, want) {
			t.Errorf("%s grants %v, want exactly %v", acc, got, want)
		}
	}
	for acc, want := range ex.Count {
		if got := len(granted(tc, acc)); got != want {
			t.Errorf("%s grants %d IDs, want %d", acc, got, want)
		}
	}
	for acc, ids := range ex.Granted {
		for _, id := range ids {
			if !tcfAccessors[acc].get(tc, id) {
				t.Errorf("%s(%d) = false, want true", acc, id)
			}
		}
	}
	for acc, ids := range ex.Denied {
		for _, id := range ids {
			if tcfAccessors[acc].get(tc, id) {
				t.Errorf("%s(%d) = true, want false", acc, id)
			}
		}
	}
	eqInt("publisher restriction entries", len(tc.restrictions), ex.RestrictionEntries)
	for _, c := range ex.Restrictions {
		if !hasRestriction(tc, c.Purpose, c.Vendor, c.Type) {
			t.Errorf("no %v restriction on vendor %d for purpose %d", c.Type, c.Vendor, c.Purpose)
		}
	}
	for _, c := range ex.NoRestrictions {
		if hasRestriction(tc, c.Purpose, c.Vendor, c.Type) {
			t.Errorf("unexpected %v restriction on vendor %d for purpose %d", c.Type, c.Vendor, c.Purpose)
		}
	}
}

func TestTCFRestrictionPrecedence(t *testing.T) {
	f := func(types []Restriction, want Restriction) {
		t.Helper()
		b := TCFBuilder{VendorListVersion: 1}
		for _, typ := range types {
			b.Restrictions = append(b.Restrictions, TCFRestriction{Purpose: 2, Type: typ, Vendors: []int{7, 8}})
		}
		var tc TCF
		if err := tc.Parse(b.String()); err != nil {
			t.Fatal(err)
		}
		if got := tc.Restriction(2, 7); got != want {
			t.Errorf("Restriction(2, 7) under %v = %v, want %v", types, got, want)
		}
		if got := tc.Restriction(3, 7); got != RestrictionNone {
			t.Errorf("Restriction(3, 7) = %v, want none: purpose 3 is not restricted", got)
		}
		if got := tc.Restriction(2, 9); got != RestrictionNone {
			t.Errorf("Restriction(2, 9) = %v, want none: vendor 9 is not restricted", got)
		}
	}
	f(nil, RestrictionNone)
	f([]Restriction{RestrictionRequireLI}, RestrictionRequireLI)
	f([]Restriction{RestrictionRequireConsent}, RestrictionRequireConsent)
	f([]Restriction{RestrictionRequireLI, RestrictionRequireConsent}, RestrictionRequireConsent)
	f([]Restriction{RestrictionRequireConsent, RestrictionRequireLI}, RestrictionRequireConsent)
	f([]Restriction{RestrictionRequireLI, RestrictionNotAllowed, RestrictionRequireConsent}, RestrictionNotAllowed)
}

// mustBuild encodes b, failing the test on error.
func mustBuild(t testing.TB, b *TCFBuilder) string {
	t.Helper()
	s, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// coreWith encodes the fixed fields of a core segment, then what set
// writes after PublisherCC.
func coreWith(set func(w *bitWriter)) string {
	var w bitWriter
	w.uint(2, 6)
	w.uint(0, 36+36+12+12+6)
	w.uint(4<<6|13, 12) // EN
	w.uint(100, 12)
	w.uint(4, 6)
	w.uint(0, 1+1+12+24+24+1)
	w.uint(3<<6|4, 12) // DE
	set(&w)
	return w.base64(6) // no padding beyond the last character
}

// checkDecodeError checks that parsing s failed with a *DecodeError
// whose message holds wantErr.
func checkDecodeError(t *testing.T, s string, err error, wantErr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Parse(%.60q) succeeded, want an error containing %q", s, wantErr)
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Errorf("Parse(%.60q) error %T is not a *DecodeError", s, err)
	}
	if !strings.Contains(err.Error(), wantErr) {
		t.Errorf("Parse(%.60q) = %q, want it to contain %q", s, err, wantErr)
	}
}

func TestTCFParseErrors(t *testing.T) {
	f := func(s, wantErr string) {
		t.Helper()
		var tc TCF
		checkDecodeError(t, s, tc.Parse(s), wantErr)
		if tc.Version() != 0 || tc.VendorConsent(1) || tc.PurposeConsent(1) || tc.PublisherCC() != "" {
			t.Errorf("Parse(%.60q) failed but left a decoded state", s)
		}
	}
	valid := mustBuild(t, &TCFBuilder{VendorConsents: []int{1, 2, 3}})
	f("", "TC string: is empty")
	f(strings.Repeat("C", MaxStringLength+1), "exceeds 32768 bytes")
	f(".abc", "core segment: is empty")
	f("==", "core segment: is empty")
	f("CO$", "core segment: character 2 is not base64url")
	f("BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA", "Version = 1: only version 2 is supported") // a TCF v1.1 string
	f("DAAA", "Version = 3")
	f("CAAAAAAAAAAAAAAAAAEN", "core segment length = 120: is shorter than the 213 bits")
	f(valid[:36], "vendor consent section MaxVendorId: string ends inside the field")
	f(valid+".", "segment: is empty")
	f(valid+".I*", "segment: character 1 is not base64url")
	f(valid+".AAAA", "SegmentType = 0")
	f(valid+".gAAA", "SegmentType = 4")
	f(coreWith(func(w *bitWriter) {}), "vendor consent section MaxVendorId: string ends inside the field")
	f(coreWith(func(w *bitWriter) { w.uint(100, 16); w.bool(false); w.uint(0, 50) }),
		"vendor consent section bitfield of MaxVendorId bits = 100: string ends inside the field")
	f(coreWith(func(w *bitWriter) { w.uint(100, 16); w.bool(true) }), "vendor consent section NumEntries")
	f(coreWith(func(w *bitWriter) { w.uint(100, 16); w.bool(true); w.uint(2, 12); w.bool(false); w.uint(5, 16) }),
		"vendor consent section RangeEntry: string ends inside the field")
	f(coreWith(func(w *bitWriter) { w.uint(100, 16); w.bool(true); w.uint(1, 12); w.bool(true); w.uint(5, 16) }),
		"vendor consent section EndVendorId: string ends inside the field")
	f(coreWith(func(w *bitWriter) { w.uint(100, 16); w.bool(true); w.uint(1, 12); w.bool(false); w.uint(0, 16) }),
		"StartOrOnlyVendorId: is 0")
	f(coreWith(func(w *bitWriter) {
		w.uint(100, 16)
		w.bool(true)
		w.uint(1, 12)
		w.bool(true)
		w.uint(9, 16)
		w.uint(8, 16)
	}),
		"EndVendorId = 8: is below StartOrOnlyVendorId 9")
	f(coreWith(func(w *bitWriter) { w.uint(100, 16); w.bool(true); w.uint(1, 12); w.bool(false); w.uint(101, 16) }),
		"vendor consent section range entry end = 101: exceeds MaxVendorId 100")
	f(coreWith(func(w *bitWriter) { w.uint(0, 17); w.uint(0, 16) }),
		"vendor legitimate interest section MaxVendorId: string ends inside the field")
	f(coreWith(func(w *bitWriter) { w.uint(0, 17); w.uint(0, 17) }),
		"publisher restrictions section NumPubRestrictions: string ends inside the field")
	f(coreWith(func(w *bitWriter) {
		w.uint(0, 17)
		w.uint(0, 17)
		w.uint(1, 12)
		w.uint(1, 6)
		w.uint(3, 2)
		w.uint(0, 12)
	}),
		"RestrictionType = 3: is undefined")
	f(coreWith(func(w *bitWriter) {
		w.uint(0, 17)
		w.uint(0, 17)
		w.uint(2, 12)
		w.uint(1, 6)
		w.uint(0, 2)
		w.uint(0, 12)
	}),
		"publisher restrictions section PubRestrictionEntry: string ends inside the field")
	f(coreWith(func(w *bitWriter) {
		w.uint(0, 17)
		w.uint(0, 17)
		w.uint(1, 12)
		w.uint(1, 6)
		w.uint(0, 2)
		w.uint(3, 12)
		w.bool(false)
		w.uint(5, 16)
	}), "publisher restrictions section RangeEntry: string ends inside the field")

	// Letters outside A-Z in the two-letter fields.
	var w bitWriter
	w.uint(2, 6)
	w.uint(0, 36+36+12+12+6)
	w.uint(26<<6, 12)
	w.uint(0, 512)
	f(w.base64(24), "ConsentLanguage: holds a letter outside A-Z")
	w = bitWriter{}
	w.uint(2, 6)
	w.uint(0, coreFixedBits-6-12)
	w.uint(63, 12)
	w.uint(0, 64)
	f(w.base64(24), "PublisherCC: holds a letter outside A-Z")
}

// TestTCFParseTolerates covers what the format allows or what encoders do
// in practice: '=' padding, unsorted range entries, a range entry of one
// vendor, and trailing bits.
func TestTCFParseTolerates(t *testing.T) {
	f := func(s string, wantConsent []int) {
		t.Helper()
		var tc TCF
		if err := tc.Parse(s); err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got := granted(&tc, "vendorConsent"); !slices.Equal(got, wantConsent) {
			t.Errorf("Parse(%q) grants vendors %v, want %v", s, got, wantConsent)
		}
	}
	valid := mustBuild(t, &TCFBuilder{VendorConsents: []int{1, 2, 3}})
	f(valid+"==", []int{1, 2, 3})
	f(valid+"==.IAAA==", []int{1, 2, 3})
	f(valid+"AAAA", []int{1, 2, 3})
	entries := func(w *bitWriter, rs ...[2]int) {
		w.uint(40, 16)
		w.bool(true)
		w.uint(uint64(len(rs)), 12)
		for _, r := range rs {
			w.bool(true)
			w.uint(uint64(r[0]), 16)
			w.uint(uint64(r[1]), 16)
		}
		w.uint(0, 17) // no LI
		w.uint(0, 12) // no restrictions
	}
	f(coreWith(func(w *bitWriter) { entries(w, [2]int{30, 31}, [2]int{3, 3}, [2]int{10, 12}) }), []int{3, 10, 11, 12, 30, 31})
	f(coreWith(func(w *bitWriter) { entries(w, [2]int{5, 9}, [2]int{7, 12}) }), []int{5, 6, 7, 8, 9, 10, 11, 12})
}

func TestTCFReuse(t *testing.T) {
	var tc TCF
	long := mustBuild(t, &TCFBuilder{
		PurposesConsent: []int{1, 2, 3}, VendorConsents: seq(1, 900), VendorLI: []int{5, 500},
		Restrictions: []TCFRestriction{{Purpose: 2, Type: RestrictionNotAllowed, Vendors: []int{9}}},
		PublisherCC:  "FR",
	})
	short := mustBuild(t, &TCFBuilder{VendorConsents: []int{4}})
	if err := tc.Parse(long); err != nil {
		t.Fatal(err)
	}
	if !tc.VendorConsent(900) || tc.Restriction(2, 9) != RestrictionNotAllowed {
		t.Fatal("long string not decoded")
	}
	if err := tc.Parse(short); err != nil {
		t.Fatal(err)
	}
	if got := granted(&tc, "vendorConsent"); !slices.Equal(got, []int{4}) {
		t.Errorf("after reuse, vendor consents = %v, want [4]", got)
	}
	if tc.VendorLI(5) || tc.PurposeConsent(1) || tc.Restriction(2, 9) != RestrictionNone || tc.PublisherCC() != "AA" {
		t.Error("state of the previous string survived Parse")
	}
	if err := tc.Parse(long[:40]); err == nil {
		t.Fatal("truncated string parsed")
	}
	if tc.VendorConsent(4) {
		t.Error("state survived a failed Parse")
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// TestTCFBuilderMatchesReference compares the builder with strings the
// IAB's reference encoder wrote (iabgpp-java GppModelTest testEncode1-3,
// the core segment of their tcfeuv2 section: created 2022-01-01, language
// EN, policy version 2, everything else at its default).
func TestTCFBuilderMatchesReference(t *testing.T) {
	f := func(vendors []int, want string) {
		t.Helper()
		day := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
		b := TCFBuilder{Created: day, LastUpdated: day, ConsentLanguage: "EN", PolicyVersion: 2, VendorConsents: vendors}
		if got := mustBuild(t, &b); got != want {
			t.Errorf("vendors %v: got\n%s\nwant\n%s", vendors, got, want)
		}
	}
	f([]int{28}, "CPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAOAAAABAAAAA")
	f([]int{29}, "CPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAOwAQAOgAAAA")
	f([]int{1, 173, 722}, "CPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAFpQAwAAgCtAWkAAAAAAA")
}

// TestTCFBuilderChoosesShorterEncoding checks the CMP rule: ranges when
// they are shorter than the bitfield, the bitfield otherwise.
func TestTCFBuilderChoosesShorterEncoding(t *testing.T) {
	f := func(vendors []int, wantRange bool) {
		t.Helper()
		var tc TCF
		if err := tc.Parse(mustBuild(t, &TCFBuilder{VendorConsents: vendors})); err != nil {
			t.Fatal(err)
		}
		if got := tc.consents.bitOff < 0; got != wantRange {
			t.Errorf("vendors %v: range encoding = %v, want %v", vendors, got, wantRange)
		}
		if got := granted(&tc, "vendorConsent"); !slices.Equal(got, vendors) {
			t.Errorf("vendors %v decoded as %v", vendors, got)
		}
	}
	f([]int{1, 2, 3}, false)
	f([]int{28}, false)      // 28 bits against 12+17 = 29
	f([]int{29}, true)       // 29 against 29: a tie goes to ranges
	f(seq(1, 500), true)     // one run: 12+33 bits against 500
	f(seq(1, 40), false)     // 40 against 45
	f([]int{1, 3, 5}, false) // 5 against 12+3*17
	f([]int{1, 173, 722}, true)
	f(typicalVendors(), true)
}

// typicalVendors is 100 vendor IDs up to about 1,300 (today's GVL) in
// runs of 2 to 6, so that ranges encode them shorter than a bitfield: the
// shape the benchmarks and allocation pins use.
func typicalVendors() []int {
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []int
	for id := 1; len(ids) < 100; {
		run := 2 + rng.IntN(5)
		for i := 0; i < run && len(ids) < 100; i++ {
			ids = append(ids, id)
			id++
		}
		id += 1 + rng.IntN(90)
	}
	return ids
}

// typicalTCF is a TCF v2.2 string with about 100 vendor consents
// (range-encoded), 40 vendor legitimate interests, two publisher
// restrictions and a disclosed vendors segment.
func typicalTCF() *TCFBuilder {
	vendors := typicalVendors()
	created := time.Date(2026, 10, 2, 9, 30, 0, 0, time.UTC)
	return &TCFBuilder{
		Created: created, LastUpdated: created.Add(36 * time.Hour),
		CMPID: 300, CMPVersion: 12, ConsentScreen: 1, ConsentLanguage: "DE",
		VendorListVersion: 131, PolicyVersion: 5, PublisherCC: "DE",
		SpecialFeatures: []int{1}, PurposesConsent: seq(1, 11), PurposesLI: []int{2, 7, 8, 9, 10, 11},
		VendorConsents: vendors, VendorLI: vendors[:40:40],
		Restrictions: []TCFRestriction{
			{Purpose: 2, Type: RestrictionRequireConsent, Vendors: vendors[10:14]},
			{Purpose: 7, Type: RestrictionNotAllowed, Vendors: []int{vendors[50]}},
		},
		DisclosedVendors: append(slices.Clone(vendors), 1200, 1201, 1250),
	}
}

func TestTypicalTCFShape(t *testing.T) {
	s := typicalTCF().String()
	var tc TCF
	if err := tc.Parse(s); err != nil {
		t.Fatal(err)
	}
	if tc.consents.bitOff >= 0 {
		t.Error("typical string's vendor consents are not range-encoded")
	}
	if n := len(granted(&tc, "vendorConsent")); n != 100 {
		t.Errorf("typical string grants %d vendors, want 100", n)
	}
	if !strings.Contains(s, ".") {
		t.Error("typical string has no disclosed vendors segment")
	}
}

// builderOf returns a builder for what tc decoded; encoding it gives a
// string that decodes to the same (the disclosed vendors and publisher TC
// segments, which TCF skips, aside).
func builderOf(tc *TCF) TCFBuilder {
	b := TCFBuilder{
		Created: tc.Created(), LastUpdated: tc.LastUpdated(),
		CMPID: tc.CMPID(), CMPVersion: tc.CMPVersion(), ConsentScreen: tc.ConsentScreen(),
		ConsentLanguage: tc.ConsentLanguage(), VendorListVersion: tc.VendorListVersion(),
		PolicyVersion: tc.PolicyVersion(), IsServiceSpecific: tc.IsServiceSpecific(),
		UseNonStandardTexts: tc.UseNonStandardTexts(), PurposeOneTreatment: tc.PurposeOneTreatment(),
		PublisherCC: tc.PublisherCC(),
	}
	for id := 1; id <= 24; id++ {
		if tc.PurposeConsent(id) {
			b.PurposesConsent = append(b.PurposesConsent, id)
		}
		if tc.PurposeLI(id) {
			b.PurposesLI = append(b.PurposesLI, id)
		}
		if tc.SpecialFeature(id) {
			b.SpecialFeatures = append(b.SpecialFeatures, id)
		}
	}
	for id := 1; id <= tc.consents.max; id++ {
		if tc.VendorConsent(id) {
			b.VendorConsents = append(b.VendorConsents, id)
		}
	}
	for id := 1; id <= tc.li.max; id++ {
		if tc.VendorLI(id) {
			b.VendorLI = append(b.VendorLI, id)
		}
	}
	for _, pr := range tc.restrictions {
		r := TCFRestriction{Purpose: pr.purpose, Type: pr.typ}
		for _, rg := range tc.ranges[pr.lo:pr.hi] {
			r.Vendors = append(r.Vendors, seq(int(rg.start), int(rg.end))...)
		}
		slices.Sort(r.Vendors)
		r.Vendors = slices.Compact(r.Vendors)
		b.Restrictions = append(b.Restrictions, r)
	}
	return b
}

// normalized is b with its lists sorted and deduplicated and empty lists
// nil, the dates in UTC at the precision the format keeps.
func normalized(b TCFBuilder) TCFBuilder {
	norm := func(ids []int) []int {
		if len(ids) == 0 {
			return nil
		}
		ids = slices.Clone(ids)
		slices.Sort(ids)
		return slices.Compact(ids)
	}
	b.Created = deciseconds(toDeciseconds(b.Created))
	b.LastUpdated = deciseconds(toDeciseconds(b.LastUpdated))
	if b.ConsentLanguage == "" {
		b.ConsentLanguage = "AA"
	}
	if b.PublisherCC == "" {
		b.PublisherCC = "AA"
	}
	b.ConsentLanguage, b.PublisherCC = strings.ToUpper(b.ConsentLanguage), strings.ToUpper(b.PublisherCC)
	b.SpecialFeatures, b.PurposesConsent, b.PurposesLI = norm(b.SpecialFeatures), norm(b.PurposesConsent), norm(b.PurposesLI)
	b.VendorConsents, b.VendorLI = norm(b.VendorConsents), norm(b.VendorLI)
	rs := make([]TCFRestriction, len(b.Restrictions))
	for i, r := range b.Restrictions {
		r.Vendors = norm(r.Vendors)
		rs[i] = r
	}
	if len(rs) == 0 {
		rs = nil
	}
	b.Restrictions = rs
	b.DisclosedVendors = nil
	return b
}

// randomTCF draws a builder: vendor sets dense or sparse, small or up to
// vendor IDs in the thousands, so that both encodings and both range
// lookups (linear and binary search) are exercised.
func randomTCF(rng *rand.Rand) TCFBuilder {
	ids := func(maxID, n int) []int {
		var s []int
		for range n {
			id := 1 + rng.IntN(maxID)
			run := 1 + rng.IntN(4)
			if rng.IntN(3) == 0 {
				run += rng.IntN(40)
			}
			for j := 0; j < run && id+j <= maxID; j++ {
				s = append(s, id+j)
			}
		}
		return s
	}
	small := func(width int) []int {
		var s []int
		for id := 1; id <= width; id++ {
			if rng.IntN(2) == 0 {
				s = append(s, id)
			}
		}
		return s
	}
	letters := func() string {
		return string([]byte{byte('A' + rng.IntN(26)), byte('a' + rng.IntN(26))})
	}
	maxID := []int{5, 60, 800, 3000, 65535}[rng.IntN(5)]
	b := TCFBuilder{
		Created:             time.UnixMilli(rng.Int64N(1 << 40)),
		LastUpdated:         time.UnixMilli(rng.Int64N(1 << 40)),
		CMPID:               rng.IntN(4096),
		CMPVersion:          rng.IntN(4096),
		ConsentScreen:       rng.IntN(64),
		ConsentLanguage:     letters(),
		VendorListVersion:   rng.IntN(4096),
		PolicyVersion:       rng.IntN(64),
		IsServiceSpecific:   rng.IntN(2) == 0,
		UseNonStandardTexts: rng.IntN(2) == 0,
		PurposeOneTreatment: rng.IntN(2) == 0,
		PublisherCC:         letters(),
		SpecialFeatures:     small(12),
		PurposesConsent:     small(24),
		PurposesLI:          small(24),
		VendorConsents:      ids(maxID, rng.IntN(60)),
		VendorLI:            ids(maxID, rng.IntN(20)),
	}
	for range rng.IntN(4) {
		b.Restrictions = append(b.Restrictions, TCFRestriction{
			Purpose: rng.IntN(64), Type: Restriction(rng.IntN(3)), Vendors: ids(maxID, rng.IntN(15)),
		})
	}
	if rng.IntN(2) == 0 {
		b.DisclosedVendors = ids(maxID, rng.IntN(30))
	}
	return b
}

// TestTCFRoundTrip: random builders encode to strings that decode to what
// was encoded, through every accessor.
func TestTCFRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var tc TCF
	for i := range 400 {
		b := randomTCF(rng)
		s, err := b.Encode()
		if err != nil {
			t.Fatalf("case %d: Encode: %v", i, err)
		}
		if err := tc.Parse(s); err != nil {
			t.Fatalf("case %d: Parse(%q): %v", i, s, err)
		}
		want, got := normalized(b), normalized(builderOf(&tc))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: %q decoded as\n%+v\nwant\n%+v", i, s, got, want)
		}
		// Restriction agrees with the per-type view.
		for _, r := range want.Restrictions {
			for _, v := range r.Vendors {
				if got := tc.Restriction(r.Purpose, v); got == RestrictionNone {
					t.Fatalf("case %d: Restriction(%d, %d) = none, want at least %v", i, r.Purpose, v, r.Type)
				}
			}
		}
	}
}

func TestTCFBuilderErrors(t *testing.T) {
	f := func(b TCFBuilder, wantErr string) {
		t.Helper()
		_, err := b.Encode()
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Encode() error = %v, want %q", err, wantErr)
		}
	}
	f(TCFBuilder{CMPID: 4096}, "TCFBuilder.CMPID 4096 does not fit 12 bits")
	f(TCFBuilder{PolicyVersion: -1}, "TCFBuilder.PolicyVersion -1")
	f(TCFBuilder{Created: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}, "TCFBuilder.Created")
	f(TCFBuilder{ConsentLanguage: "ENG"}, `TCFBuilder.ConsentLanguage "ENG" is not two letters`)
	f(TCFBuilder{PublisherCC: "D1"}, `TCFBuilder.PublisherCC "D1" is not two letters`)
	f(TCFBuilder{PurposesConsent: []int{25}}, "TCFBuilder.PurposesConsent holds 25, outside 1 to 24")
	f(TCFBuilder{SpecialFeatures: []int{0}}, "TCFBuilder.SpecialFeatures holds 0")
	f(TCFBuilder{VendorConsents: []int{70000}}, "TCFBuilder.VendorConsents holds vendor 70000")
	f(TCFBuilder{Restrictions: []TCFRestriction{{Purpose: 64}}}, "TCFBuilder.Restrictions[0].Purpose 64")
	f(TCFBuilder{Restrictions: []TCFRestriction{{Purpose: 1, Type: RestrictionNone}}}, "TCFBuilder.Restrictions[0].Type none")
	f(TCFBuilder{Restrictions: []TCFRestriction{{Purpose: 1, Vendors: []int{0}}}}, "TCFBuilder.Restrictions[0].Vendors holds vendor 0")
	f(TCFBuilder{DisclosedVendors: []int{-3}}, "TCFBuilder.DisclosedVendors holds vendor -3")
	defer func() {
		if recover() == nil {
			t.Error("String did not panic on an invalid builder")
		}
	}()
	_ = (&TCFBuilder{CMPID: -1}).String()
}

// FuzzParseTCF: Parse never panics; a string that parses re-encodes, via
// the builder, to one that decodes to the same consent.
func FuzzParseTCF(f *testing.F) {
	b, err := os.ReadFile("testdata/tcf/examples.json")
	if err != nil {
		f.Fatal(err)
	}
	var examples []tcfExample
	if err := json.Unmarshal(b, &examples); err != nil {
		f.Fatal(err)
	}
	for _, ex := range examples {
		f.Add(ex.String)
	}
	f.Add(typicalTCF().String())
	f.Add("CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		var tc TCF
		if err := tc.Parse(s); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || err.Error() == "" {
				t.Fatalf("Parse(%q) error %v is not a *DecodeError", s, err)
			}
			return
		}
		// Every accessor answers without panicking, in and out of range.
		for _, id := range []int{-1, 0, 1, 24, 25, 0xffff, 0x10000} {
			tc.PurposeConsent(id)
			tc.PurposeLI(id)
			tc.SpecialFeature(id)
			tc.VendorConsent(id)
			tc.VendorLI(id)
			tc.Restriction(id, id)
		}
		want := builderOf(&tc)
		s2, err := want.Encode()
		if err != nil {
			t.Fatalf("re-encoding %q: %v", s, err)
		}
		var tc2 TCF
		if err := tc2.Parse(s2); err != nil {
			t.Fatalf("re-encoded %q as %q, which does not parse: %v", s, s2, err)
		}
		if got := builderOf(&tc2); !reflect.DeepEqual(normalized(got), normalized(want)) {
			t.Fatalf("%q re-encoded as %q decodes differently:\n%+v\nwant\n%+v", s, s2, got, want)
		}
	})
}
