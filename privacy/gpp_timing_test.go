package privacy

import "testing"

// BenchmarkGPPParse decodes a GPP string with the typical TC string as
// section 2 and a usnat section with its GPC subsection into a reused GPP.
func BenchmarkGPPParse(b *testing.B) {
	s := typicalGPP()
	var g GPP
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		if err := g.Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGPPParseUSNat decodes a GPP string carrying only a usnat
// section, the common US case.
func BenchmarkGPPParseUSNat(b *testing.B) {
	s := "DBABLA~BVVVkkkkkpFY.YA"
	var g GPP
	b.ReportAllocs()
	for b.Loop() {
		if err := g.Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}
