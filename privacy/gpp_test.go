package privacy

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gppExample is one entry of testdata/gpp/examples.json. A nil field is
// not checked.
type gppExample struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	String   string `json:"string"`
	Sections []int  `json:"sections"`
	// TCF is checked when present: the string must carry section 2.
	TCF *struct {
		CMPID             *int    `json:"cmpId"`
		CMPVersion        *int    `json:"cmpVersion"`
		ConsentScreen     *int    `json:"consentScreen"`
		ConsentLanguage   *string `json:"consentLanguage"`
		VendorListVersion *int    `json:"vendorListVersion"`
		PolicyVersion     *int    `json:"policyVersion"`
		PublisherCC       *string `json:"publisherCC"`
		Created           *string `json:"created"`
	} `json:"tcf"`
	Raw               map[string]string    `json:"raw"`
	US                map[string]USSection `json:"us"`
	SaleOptOut        *bool                `json:"saleOptOut"`
	SharingOptOut     *bool                `json:"sharingOptOut"`
	TargetedAdsOptOut *bool                `json:"targetedAdsOptOut"`
	GPC               *bool                `json:"gpc"`
}

func readGPPExamples(tb testing.TB) []gppExample {
	tb.Helper()
	b, err := os.ReadFile("testdata/gpp/examples.json")
	if err != nil {
		tb.Fatal(err)
	}
	var examples []gppExample
	if err := json.Unmarshal(b, &examples); err != nil {
		tb.Fatal(err)
	}
	return examples
}

func TestGPPExamples(t *testing.T) {
	examples := readGPPExamples(t)
	if len(examples) < 15 {
		t.Fatalf("read %d examples, want the whole file", len(examples))
	}
	var g GPP // reused across examples, as on the request path
	for _, ex := range examples {
		t.Run(ex.Name, func(t *testing.T) {
			if ex.Source == "" {
				t.Error("example has no source")
			}
			if err := g.Parse(ex.String); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkGPP(t, &g, &ex)
		})
	}
}

func sectionIDs(g *GPP) []int {
	ids := []int{}
	for _, sec := range g.sections {
		ids = append(ids, sec.id)
	}
	return ids
}

func checkGPP(t *testing.T, g *GPP, ex *gppExample) {
	t.Helper()
	if got := sectionIDs(g); !slices.Equal(got, ex.Sections) {
		t.Errorf("sections = %v, want %v", got, ex.Sections)
	}
	for id := -1; id < 70; id++ {
		if got, want := g.HasSection(id), slices.Contains(ex.Sections, id); got != want {
			t.Errorf("HasSection(%d) = %v, want %v", id, got, want)
		}
	}
	tc, hasTCF := g.TCF()
	if hasTCF != (ex.TCF != nil) {
		t.Errorf("TCF() present = %v, want %v", hasTCF, ex.TCF != nil)
	}
	if ex.TCF != nil && hasTCF {
		var created *string
		checkTCF(t, tc, &tcfExample{
			Version: ptr(2), CMPID: ex.TCF.CMPID, CMPVersion: ex.TCF.CMPVersion, ConsentScreen: ex.TCF.ConsentScreen,
			ConsentLanguage: ex.TCF.ConsentLanguage, VendorListVersion: ex.TCF.VendorListVersion,
			PolicyVersion: ex.TCF.PolicyVersion, PublisherCC: ex.TCF.PublisherCC, Created: created,
		})
		if ex.TCF.Created != nil {
			want, _ := time.Parse(time.RFC3339, *ex.TCF.Created)
			if !tc.Created().Equal(want) {
				t.Errorf("TCF Created = %v, want %v", tc.Created(), want)
			}
		}
	}
	for idStr, want := range ex.Raw {
		id, _ := strconv.Atoi(idStr)
		if got, ok := g.Section(id); !ok || got != want {
			t.Errorf("Section(%d) = %q, %v; want %q", id, got, ok, want)
		}
	}
	for _, id := range ex.Sections {
		_, ok := g.US(id)
		if ok != (id >= SectionUSNat && id <= SectionUSCT) {
			t.Errorf("US(%d) present = %v", id, ok)
		}
	}
	for idStr, want := range ex.US {
		id, _ := strconv.Atoi(idStr)
		want.ID = id
		got, ok := g.US(id)
		if !ok {
			t.Errorf("US(%d) missing", id)
			continue
		}
		if *got != want {
			t.Errorf("US(%d) =\n%+v\nwant\n%+v", id, *got, want)
		}
	}
	eq := func(name string, got bool, want *bool) {
		t.Helper()
		if want != nil && got != *want {
			t.Errorf("%s = %v, want %v", name, got, *want)
		}
	}
	eq("SaleOptOut", g.SaleOptOut(), ex.SaleOptOut)
	eq("SharingOptOut", g.SharingOptOut(), ex.SharingOptOut)
	eq("TargetedAdsOptOut", g.TargetedAdsOptOut(), ex.TargetedAdsOptOut)
	eq("GPC", g.GPC(), ex.GPC)
}

func ptr[T any](v T) *T { return &v }

func TestGPPOptOuts(t *testing.T) {
	f := func(secs []USSection, sale, sharing, targeted, gpc bool) {
		t.Helper()
		var g GPP
		s := (&GPPBuilder{US: secs}).String()
		if err := g.Parse(s); err != nil {
			t.Fatal(err)
		}
		if g.SaleOptOut() != sale || g.SharingOptOut() != sharing || g.TargetedAdsOptOut() != targeted || g.GPC() != gpc {
			t.Errorf("%s: opt-outs sale %v sharing %v targeted %v gpc %v, want %v %v %v %v",
				s, g.SaleOptOut(), g.SharingOptOut(), g.TargetedAdsOptOut(), g.GPC(), sale, sharing, targeted, gpc)
		}
	}
	f(nil, false, false, false, false)
	// 2 is "did not opt out", 0 "not applicable": neither is an opt-out.
	f([]USSection{{ID: 7, SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 2}}, false, false, false, false)
	f([]USSection{{ID: 7, SaleOptOut: 1}}, true, false, false, false)
	f([]USSection{{ID: 7, SharingOptOut: 1}}, false, true, false, false)
	f([]USSection{{ID: 7, TargetedAdvertisingOptOut: 1}}, false, false, true, false)
	f([]USSection{{ID: 7, GPCSegmentIncluded: true, GPC: true}}, false, false, false, true)
	f([]USSection{{ID: 7, GPCSegmentIncluded: true}}, false, false, false, false)
	// Any section opting out is enough.
	f([]USSection{{ID: 7, SaleOptOut: 2}, {ID: 8, SaleOptOut: 1}}, true, false, false, false)
	f([]USSection{{ID: 8, SharingOptOut: 1}}, false, true, false, false)
	f([]USSection{{ID: 9, TargetedAdvertisingOptOut: 1}}, false, false, true, false)
	f([]USSection{{ID: 10, TargetedAdvertisingOptOut: 1}}, false, false, true, false)
	f([]USSection{{ID: 11, SaleOptOut: 1}}, true, false, false, false)
	f([]USSection{{ID: 12, TargetedAdvertisingOptOut: 1, GPCSegmentIncluded: true, GPC: true}}, false, false, true, true)
}

// TestGPPBuilderMatchesReference compares headers with those the IAB
// publishes (the GPP specification's examples; iabgpp-java GppModelTest).
func TestGPPBuilderMatchesReference(t *testing.T) {
	f := func(ids []int, want string) {
		t.Helper()
		var b GPPBuilder
		for _, id := range ids {
			b.Raw = append(b.Raw, GPPSection{id, "x"})
		}
		got, _, _ := strings.Cut(b.String(), "~")
		if got != want {
			t.Errorf("header for %v = %q, want %q", ids, got, want)
		}
	}
	f(nil, "DBAA")
	f([]int{2}, "DBABMA")
	f([]int{6}, "DBABTA")
	f([]int{7}, "DBABLA")
	f([]int{2, 6}, "DBACNYA")
	f([]int{5, 6}, "DBABjw")
	f([]int{2, 5, 6}, "DBACOeA")
	f([]int{2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22}, "DBACOdM")

	// The US sections as iabgpp-java encodes them.
	us := func(sec USSection, want string) {
		t.Helper()
		got, err := sec.encode()
		if err != nil || got != want {
			t.Errorf("encode(%+v) = %q, %v; want %q", sec, got, err, want)
		}
	}
	us(USSection{ID: 7, MspaCoveredTransaction: 1, GPCSegmentIncluded: true}, "BAAAAAAAAABA.QA")
	us(USSection{ID: 7, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 1,
		SensitiveDataProcessingOptOutNotice: 1, SensitiveDataLimitUseNotice: 1, SaleOptOut: 1, SharingOptOut: 1,
		TargetedAdvertisingOptOut: 1, SensitiveDataProcessing: [16]uint8{2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2},
		KnownChildSensitiveDataConsents: [3]uint8{2, 1, 0}, PersonalDataConsents: 1, MspaCoveredTransaction: 1,
		MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2, GPCSegmentIncluded: true, GPC: true}, "BVVVkkkkkpFY.YA")
	us(USSection{ID: 8, MspaCoveredTransaction: 1, GPCSegmentIncluded: true}, "BAAAAABA.QA")
	us(USSection{ID: 9, MspaCoveredTransaction: 1}, "BAAAABA")
	us(USSection{ID: 10, MspaCoveredTransaction: 1, GPCSegmentIncluded: true}, "BAAAAEA.QA")
	us(USSection{ID: 11, MspaCoveredTransaction: 1}, "BAAAAAQA")
	us(USSection{ID: 12, MspaCoveredTransaction: 1, GPCSegmentIncluded: true}, "BAAAAAEA.QA")
}

func TestGPPParseErrors(t *testing.T) {
	f := func(s, wantErr string) {
		t.Helper()
		var g GPP
		checkDecodeError(t, s, g.Parse(s), wantErr)
		if g.HasSection(2) || g.HasSection(7) || g.SaleOptOut() {
			t.Errorf("Parse(%.60q) failed but left sections", s)
		}
		if _, ok := g.TCF(); ok {
			t.Errorf("Parse(%.60q) failed but left a TCF", s)
		}
	}
	tcf := (&TCFBuilder{VendorConsents: []int{3}}).String()
	f("", "cannot decode GPP string: GPP string: is empty")
	f(strings.Repeat("D", MaxStringLength+1), "exceeds 32768 bytes")
	f("~1YNN", "header: is empty")
	f("DB*A", "header: character 2 is not base64url")
	f("CBAA", "header Type = 2: is not 3")
	f("DCAA", "header Version = 2")
	f("DBA", "header Sections: string ends inside the field")
	f("DBAB", "header Sections: string ends inside the field")
	f("DBABM", "header Sections = 0: lists more sections than the string holds")
	f("DBABMA~"+tcf+"~1YNN", "header Sections = 1: lists 1 sections but the string holds 2")
	f("DBACNYA~"+tcf, "lists more sections than the string holds")
	f("DBAA~1YNN", "lists 0 sections but the string holds 1")
	f("DBABTA~", "section 6 (uspv1): section: is empty")
	f("DBACNYA~~1YNN", "section 2 (tcfeuv2): section: is empty")
	f("DBABMA~BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA", "cannot decode GPP string: section 2 (tcfeuv2): Version = 1")
	f("DBABMA~"+tcf+".AAAA", "section 2 (tcfeuv2): SegmentType = 0")
	// A header whose Fibonacci integer never ends, or grows past any ID.
	f("DBABAA~x", "header Sections: holds a truncated or oversized Fibonacci integer")
	f("DBABAAAAAA8~x", "header Sections: holds a truncated or oversized Fibonacci integer")
	// Offsets within the bound that add up to an ID past it (found by
	// FuzzParseGPP: it parsed, and no encoder could write it back).
	f("DBADAAAABgAAABg0~0~0~0", "header Sections = 1346269: lists a section ID above 1048576")
	// US sections.
	f("DBABLA~", "section 7 (usnat): section: is empty")
	f("DBABLA~.QA", "section 7 (usnat): core segment: is empty")
	f("DBABLA~B*", "section 7 (usnat): core segment: character 1 is not base64url")
	f("DBABLA~DAAAAAAAAABA", "section 7 (usnat): Version = 3: is not a supported version")
	f("DBABLA~BAAAA", "section 7 (usnat): core segment length = 30: is shorter than the 60 bits")
	f("DBABLA~DAAAAAAAAABA", "Version = 3")
	f("DBABLA~BwAAAAAAAABA", "section 7 (usnat): SharingNotice = 3: is undefined")
	f("DBABLA~BAAAAAAAAABM", "section 7 (usnat): MspaServiceProviderMode = 3: is undefined")
	f("DBABLA~BAAAAAAAAABA.", "section 7 (usnat): GPC subsection: is empty")
	f("DBABLA~BAAAAAAAAABA.QA.QA", "GPC subsection: is followed by another subsection")
	f("DBABLA~BAAAAAAAAABA.gA", "GPC SubsectionType = 2: is not 1 (GPC)")
	f("DBABLA~BAAAAAAAAABA.Q*", "GPC subsection: character 1 is not base64url")
	f("DBABRgA~BAAAABA.QA", "section 9 (usva): GPC subsection: is not part of this section")
	f("DBABRgA~CAAAABA", "section 9 (usva): Version = 2: is not a supported version")
	f("DBABRgA~BAAAA", "section 9 (usva): core segment length = 30: is shorter than the 40 bits")
}

// TestGPPUSLayouts checks each US section's field order against a value
// written at every position in turn: a layout that swapped two fields or
// miscounted a list would put the value elsewhere.
func TestGPPUSLayouts(t *testing.T) {
	for _, id := range []int{7, 8, 9, 10, 11, 12} {
		lay := usLayoutFor(id, 1<<10)
		for fi, spec := range lay.fields {
			for i := range spec.n {
				var w bitWriter
				w.uint(1, 6)
				for fj, sj := range lay.fields {
					for j := range sj.n {
						v := uint64(0)
						if fj == fi && j == i {
							v = 2
						}
						w.uint(v, 2)
					}
				}
				sec := w.base64(8)
				var u USSection
				var buf []byte
				if err := u.decode(id, sec, &buf); err != nil {
					t.Fatalf("section %d: %v", id, err)
				}
				want := USSection{ID: id, Version: 1}
				*want.slots()[usSlot(spec.f, i)] = 2
				if u != want {
					t.Errorf("section %d, %s[%d] = 2 decoded as %+v", id, usFieldNames[spec.f], i, u)
				}
			}
		}
	}
}

// randomUS draws a US section with every field it carries set at random.
func randomUS(rng *rand.Rand, id int) USSection {
	u := USSection{ID: id, Version: 1}
	lay := usLayoutFor(id, 1<<10)
	dst := u.slots()
	for _, slot := range lay.slots {
		*dst[slot] = uint8(rng.IntN(3))
	}
	if lay.gpc && rng.IntN(2) == 0 {
		u.GPCSegmentIncluded = true
		u.GPC = rng.IntN(2) == 0
	}
	return u
}

// TestGPPRoundTrip: random builders encode to strings that decode to what
// was encoded.
func TestGPPRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	var g GPP
	for i := range 300 {
		var b GPPBuilder
		if rng.IntN(2) == 0 {
			tb := randomTCF(rng)
			b.TCF = &tb
		}
		for _, id := range []int{7, 8, 9, 10, 11, 12} {
			if rng.IntN(3) == 0 {
				b.US = append(b.US, randomUS(rng, id))
			}
		}
		for _, id := range []int{5, 6, 13, 20, 63, 64, 200} {
			if rng.IntN(4) == 0 {
				b.Raw = append(b.Raw, GPPSection{id, "raw" + strconv.Itoa(id) + ".x"})
			}
		}
		s, err := b.Encode()
		if err != nil {
			t.Fatalf("case %d: Encode: %v", i, err)
		}
		if err := g.Parse(s); err != nil {
			t.Fatalf("case %d: Parse(%q): %v", i, s, err)
		}
		var wantIDs []int
		if b.TCF != nil {
			wantIDs = append(wantIDs, 2)
		}
		for _, u := range b.US {
			wantIDs = append(wantIDs, u.ID)
			got, ok := g.US(u.ID)
			if !ok || *got != u {
				t.Fatalf("case %d: US(%d) = %+v, want %+v", i, u.ID, got, u)
			}
		}
		for _, raw := range b.Raw {
			wantIDs = append(wantIDs, raw.ID)
			if got, ok := g.Section(raw.ID); !ok || got != raw.Value {
				t.Fatalf("case %d: Section(%d) = %q, want %q", i, raw.ID, got, raw.Value)
			}
		}
		slices.Sort(wantIDs)
		if got := sectionIDs(&g); !slices.Equal(got, wantIDs) && !(len(got) == 0 && len(wantIDs) == 0) {
			t.Fatalf("case %d: %q lists sections %v, want %v", i, s, got, wantIDs)
		}
		for _, id := range wantIDs {
			if !g.HasSection(id) {
				t.Fatalf("case %d: HasSection(%d) = false", i, id)
			}
		}
		if b.TCF != nil {
			tc, ok := g.TCF()
			if !ok {
				t.Fatalf("case %d: no TCF", i)
			}
			if got, want := normalized(builderOf(tc)), normalized(*b.TCF); !reflect.DeepEqual(got, want) {
				t.Fatalf("case %d: TCF decoded as %+v, want %+v", i, got, want)
			}
		}
	}
}

// TestGPPParseTolerates covers what encoders write in practice: a usnat
// Version 2 (the specification's document version), '=' padding, and a
// header padded to a whole character only.
func TestGPPParseTolerates(t *testing.T) {
	f := func(s string, wantSections []int) {
		t.Helper()
		var g GPP
		if err := g.Parse(s); err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got := sectionIDs(&g); !slices.Equal(got, wantSections) {
			t.Errorf("Parse(%q) sections = %v, want %v", s, got, wantSections)
		}
	}
	f("DBABLA~CAAAAAAAAABA.QA", []int{7})
	f("DBABLA==~BAAAAAAAAABA==.QA==", []int{7})
	f("DBABL~BAAAAAAAAABA", []int{7})
	var g GPP
	if err := g.Parse("DBABLA~CAAAAAAAAQRA"); err != nil {
		t.Fatal(err)
	}
	if u, _ := g.US(7); u.Version != 2 || u.SensitiveDataProcessing[15] != 1 || u.KnownChildSensitiveDataConsents[2] != 1 {
		t.Errorf("usnat Version 2 decoded as %+v", u)
	}
}

func TestGPPReuse(t *testing.T) {
	var g GPP
	long := (&GPPBuilder{
		TCF: typicalTCF(),
		US:  []USSection{{ID: 7, SaleOptOut: 1, GPCSegmentIncluded: true, GPC: true}, {ID: 8, SharingOptOut: 1}},
		Raw: []GPPSection{{6, "1YYN"}},
	}).String()
	if err := g.Parse(long); err != nil {
		t.Fatal(err)
	}
	if !g.SaleOptOut() || !g.SharingOptOut() || !g.GPC() || !g.HasSection(6) {
		t.Fatal("long string not decoded")
	}
	if err := g.Parse("DBABTA~1NNN"); err != nil {
		t.Fatal(err)
	}
	if g.SaleOptOut() || g.SharingOptOut() || g.GPC() || g.HasSection(2) || g.HasSection(7) {
		t.Error("state of the previous string survived Parse")
	}
	if _, ok := g.TCF(); ok {
		t.Error("TCF of the previous string survived Parse")
	}
	if s, _ := g.Section(6); s != "1NNN" {
		t.Errorf("Section(6) = %q, want 1NNN", s)
	}
}

func TestGPPBuilderErrors(t *testing.T) {
	f := func(b GPPBuilder, wantErr string) {
		t.Helper()
		_, err := b.Encode()
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Encode() error = %v, want %q", err, wantErr)
		}
	}
	f(GPPBuilder{TCF: &TCFBuilder{CMPID: -1}}, "TCFBuilder.CMPID")
	f(GPPBuilder{US: []USSection{{ID: 6}}}, "USSection.ID = 6: is not a US section")
	f(GPPBuilder{US: []USSection{{ID: 7, SaleOptOut: 3}}}, "SaleOptOut = 3: is not 0, 1 or 2")
	f(GPPBuilder{US: []USSection{{ID: 9, GPCSegmentIncluded: true}}}, "section 9 (usva): GPC subsection: is not part of this section")
	f(GPPBuilder{Raw: []GPPSection{{6, ""}}}, "raw section 6 is empty")
	f(GPPBuilder{Raw: []GPPSection{{6, "a~b"}}}, "holds '~'")
	f(GPPBuilder{Raw: []GPPSection{{0, "x"}}}, "section ID 0 is out of range")
	f(GPPBuilder{Raw: []GPPSection{{7, "x"}}, US: []USSection{{ID: 7}}}, "section 7 appears twice")
}

// FuzzParseGPP: Parse never panics; a string that parses re-encodes, via
// the builder, to one that decodes to the same sections and values.
func FuzzParseGPP(f *testing.F) {
	for _, ex := range readGPPExamples(f) {
		f.Add(ex.String)
	}
	f.Add(typicalGPP())
	f.Add("DBABLA~BAAAAAAAAABA.QA")
	f.Add("DBABRgA~BAAAABA")
	f.Fuzz(func(t *testing.T, s string) {
		var g GPP
		if err := g.Parse(s); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || err.Error() == "" {
				t.Fatalf("Parse(%q) error %v is not a *DecodeError", s, err)
			}
			return
		}
		for _, id := range []int{-1, 0, 2, 7, 63, 64, 1 << 20} {
			g.HasSection(id)
			g.Section(id)
			g.US(id)
		}
		var b GPPBuilder
		for _, sec := range g.sections {
			switch {
			case sec.id == SectionTCFEU:
				tc, ok := g.TCF()
				if !ok {
					t.Fatalf("%q: section 2 listed but no TCF", s)
				}
				tb := builderOf(tc)
				b.TCF = &tb
			case sec.id >= SectionUSNat && sec.id <= SectionUSCT:
				u, ok := g.US(sec.id)
				if !ok {
					t.Fatalf("%q: section %d listed but not decoded", s, sec.id)
				}
				b.US = append(b.US, *u)
			default:
				raw, _ := g.Section(sec.id)
				b.Raw = append(b.Raw, GPPSection{sec.id, raw})
			}
		}
		s2, err := b.Encode()
		if err != nil {
			t.Fatalf("re-encoding %q: %v", s, err)
		}
		var g2 GPP
		if err := g2.Parse(s2); err != nil {
			t.Fatalf("re-encoded %q as %q, which does not parse: %v", s, s2, err)
		}
		if !slices.Equal(sectionIDs(&g), sectionIDs(&g2)) {
			t.Fatalf("%q re-encoded as %q lists sections %v, want %v", s, s2, sectionIDs(&g2), sectionIDs(&g))
		}
		for _, u := range b.US {
			if got, _ := g2.US(u.ID); *got != u {
				t.Fatalf("%q re-encoded as %q: US(%d) = %+v, want %+v", s, s2, u.ID, *got, u)
			}
		}
		if b.TCF != nil {
			tc2, _ := g2.TCF()
			if got := builderOf(tc2); !reflect.DeepEqual(normalized(got), normalized(*b.TCF)) {
				t.Fatalf("%q re-encoded as %q: TCF decodes differently", s, s2)
			}
		}
		if g.SaleOptOut() != g2.SaleOptOut() || g.SharingOptOut() != g2.SharingOptOut() ||
			g.TargetedAdsOptOut() != g2.TargetedAdsOptOut() || g.GPC() != g2.GPC() {
			t.Fatalf("%q re-encoded as %q: opt-outs differ", s, s2)
		}
	})
}

// typicalGPP is a GPP string with the typical TCF string as section 2 and
// a usnat section in which the user opted out of sale and targeted
// advertising, with GPC.
func typicalGPP() string {
	return (&GPPBuilder{
		TCF: typicalTCF(),
		US: []USSection{{
			ID: SectionUSNat, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1,
			TargetedAdvertisingOptOutNotice: 1, SaleOptOut: 1, SharingOptOut: 2, TargetedAdvertisingOptOut: 1,
			MspaCoveredTransaction: 1, MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2,
			GPCSegmentIncluded: true, GPC: true,
		}},
	}).String()
}
