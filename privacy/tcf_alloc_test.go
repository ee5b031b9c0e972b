//go:build !race

package privacy

import "testing"

// TestTCFParseAllocations pins Parse at no allocation once a reused TCF's
// buffers have grown: for the typical range-encoded string, a CMP's
// bitfield string of 772 vendors, and the accessors the rules call.
func TestTCFParseAllocations(t *testing.T) {
	var tc TCF
	f := func(s string) {
		t.Helper()
		allocs := testing.AllocsPerRun(200, func() {
			if err := tc.Parse(s); err != nil {
				t.Fatal(err)
			}
			_ = tc.VendorConsent(91) || tc.VendorLI(755) || tc.PurposeConsent(1) || tc.SpecialFeature(1)
			_ = tc.Restriction(2, 10)
			_, _ = tc.PublisherCC(), tc.Created()
		})
		if allocs != 0 {
			t.Errorf("Parse(%.40q...) allocates %v times, want 0", s, allocs)
		}
	}
	f(typicalTCF().String())
	f("CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W_LwX_2E7NF36tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_d3f52T_9_9v-39z33913v3d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDVuIAuxLHAm0DCKBECMKwkKoFABBQDC0QGADg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIgEAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwICIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgACAsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAAEEjgA")
	f("COoC-kUOoC-kUAHABAENAwCoAIAAAELAAAwIF5wAoAAgAGAvMACX_ABBAAQAFA")
}

// TestGPPParseAllocations pins GPP Parse at no allocation once reused: the
// typical TCF + usnat string, and one with every section.
func TestGPPParseAllocations(t *testing.T) {
	var g GPP
	f := func(s string) {
		t.Helper()
		allocs := testing.AllocsPerRun(200, func() {
			if err := g.Parse(s); err != nil {
				t.Fatal(err)
			}
			_ = g.SaleOptOut() || g.SharingOptOut() || g.TargetedAdsOptOut() || g.GPC() || g.HasSection(6)
			if tc, ok := g.TCF(); ok {
				_ = tc.VendorConsent(91)
			}
			_, _ = g.US(SectionUSNat)
			_, _ = g.Section(SectionUSP)
		})
		if allocs != 0 {
			t.Errorf("Parse(%.40q...) allocates %v times, want 0", s, allocs)
		}
	}
	f(typicalGPP())
	for _, ex := range readGPPExamples(t) {
		if ex.Name == "iabgpp-java-all-sections-defaults" {
			f(ex.String)
		}
	}
}

// TestGVLVendorAllocations pins the lookup the rules do per bid request.
func TestGVLVendorAllocations(t *testing.T) {
	g, err := LoadGVL("testdata/gvl/vendor-list.json")
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		v, ok := g.Vendor(10)
		_ = ok && v.Purposes.Has(2) && !v.Deleted()
	})
	if allocs != 0 {
		t.Errorf("Vendor allocates %v times, want 0", allocs)
	}
}
