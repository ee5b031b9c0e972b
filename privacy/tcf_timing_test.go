package privacy

import "testing"

// BenchmarkTCFParse decodes the typical TC string (100 vendor consents
// range-encoded, 40 vendor legitimate interests, two publisher
// restrictions, a disclosed vendors segment) into a reused TCF.
func BenchmarkTCFParse(b *testing.B) {
	s := typicalTCF().String()
	var tc TCF
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		if err := tc.Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTCFParseBitfield decodes a CMP-written string of 772 vendor
// consents and 280 legitimate interests as bitfields (iabgpp-java's
// TcfEuV2Test testDecode4).
func BenchmarkTCFParseBitfield(b *testing.B) {
	s := "CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W_LwX_2E7NF36tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_d3f52T_9_9v-39z33913v3d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDVuIAuxLHAm0DCKBECMKwkKoFABBQDC0QGADg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIgEAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwICIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgACAsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAAEEjgA"
	var tc TCF
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		if err := tc.Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTCFVendorChecks is what the rules ask per demand partner: a
// vendor's consent and legitimate interest and a publisher restriction, on
// the typical (range-encoded) string.
func BenchmarkTCFVendorChecks(b *testing.B) {
	var tc TCF
	if err := tc.Parse(typicalTCF().String()); err != nil {
		b.Fatal(err)
	}
	vendors := typicalVendors()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v := vendors[i%len(vendors)] + i%2 // half granted, half not
		_ = tc.VendorConsent(v) && tc.VendorLI(v) && tc.Restriction(2, v) == RestrictionNone
		i++
	}
}
