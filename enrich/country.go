package enrich

import "golang.org/x/text/language"

// alpha3 maps an ISO 3166-1 alpha-2 code, indexed ('A'..'Z')×26+('A'..'Z'),
// to its alpha-3 code; "" where there is none. OpenRTB 2.6 §3.2.19 wants
// geo.country as alpha-3, MaxMind gives alpha-2.
var alpha3 = buildAlpha3()

// buildAlpha3 asks golang.org/x/text (CLDR) for every two-letter code, so
// the table is complete by construction: the 249 assigned ISO 3166-1 codes,
// plus the deprecated ones still in CLDR (AN→ANT, CS→SCG, YU→YUG, …) that
// an old database may hold, plus XK→XKK for Kosovo. XK is a user-assigned
// code that MaxMind and CLDR use; ISO 3166-1 has no alpha-3 for Kosovo, and
// XKK is CLDR's (others use XKX or RKS), so DSPs may not all know it.
// Groups (EU, UN, EZ) and private-use codes (AA, QM..QZ, XA..XZ, ZZ) map to
// "", as does UK, which ISO only reserves (GB is the United Kingdom).
func buildAlpha3() *[26 * 26]string {
	var t [26 * 26]string
	for a := byte('A'); a <= 'Z'; a++ {
		for b := byte('A'); b <= 'Z'; b++ {
			r, err := language.ParseRegion(string([]byte{a, b}))
			if err != nil || !r.IsCountry() {
				continue
			}
			if iso3 := r.ISO3(); len(iso3) == 3 && iso3 != "ZZZ" {
				t[int(a-'A')*26+int(b-'A')] = iso3
			}
		}
	}
	return &t
}

// Alpha3 returns the ISO 3166-1 alpha-3 code of an alpha-2 country code
// (either case), or "" for a code that names no country. It does not
// allocate.
func Alpha3(alpha2 string) string {
	if len(alpha2) != 2 {
		return ""
	}
	a, b := alpha2[0]&^0x20-'A', alpha2[1]&^0x20-'A' // &^0x20: upper case
	if a >= 26 || b >= 26 {
		return ""
	}
	return alpha3[int(a)*26+int(b)]
}
