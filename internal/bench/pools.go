package bench

import (
	"math/rand/v2"
	"strconv"
)

// Built-in pools of the synthesizer. The consent and GPP strings are
// well-formed examples, not real users' choices.
var (
	languages     = []string{"en", "en", "en", "es", "de", "fr", "pt", "it", "ja", "hi", "id", "nl", "pl", "ko"}
	androidModels = []string{"SM-S918B", "SM-A546B", "Pixel 8", "Pixel 7a", "22101316G", "CPH2581", "moto g54 5G", "SM-G991U", "V2303", "RMX3771"}
	iabCats       = []string{"IAB1", "IAB2", "IAB3", "IAB5", "IAB7", "IAB8", "IAB9", "IAB12", "IAB13", "IAB15", "IAB17", "IAB19", "IAB20", "IAB9-30"}
	iabSections   = []string{"news", "sports", "weather", "recipes", "tech", "games", "video", "finance", "travel", "music"}
	sspDomains    = []string{"adx.example", "pubmatic.com", "rubiconproject.com", "openx.com", "indexexchange.com", "appnexus.com", "sovrn.com", "triplelift.com"}
	usPrivacy     = []string{"1YNN", "1YNN", "1YNN", "1YYN", "1NNN", "1---", "1YNY"}
	tcfStrings    = []string{
		"CQBu7oAQBu7oAAKA1AENBJFgAP_gAEPgAAqIKBNV_G__bXlr8X73aftkeY1P9_h77sQxBhbJE-4FzLvW_JwXx2ExNA36tqIKmRIAu3bBIQNlGJDUTVCgaogVryDMaE2coTNKJ6BkiFMRM2dYCF5vm4tj-QKY5vr991dx2B-t7dr83dzyz4VHn3a5_2a0WJCdA5-tDfv9bROb-9IOd_x8v4v8_F_rE2_eT1l_tWvp7D9-cts7_XW89_fff_9Ln_-uB_-_wU1AJMNCogDLIkJCDQMIIEAKgrCAigQAAAAkDRAQAmDAp2BgEusJEAIAUAAwQAgABRkACAAASABCIAIACgQAAQCBQAAgAACAQAAgAAAAAAIAQBAAAAAAAgAAAAQBQAAAKQABQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
		"CQFj2kAQFj2kAFcAPBENBLFgAAAAAAAAACiQAAAAAAAA",
	}
	gppUS = []struct {
		s   string
		sid int8
	}{
		{"DBABLA~BVQqAAAAAgA.QA", 7},                  // US national
		{"DBABBgA~xlgWEYCY.QA", 8},                    // California
		{"DBABzw~1YNN~BVQqAAAAAgA.QA", 6},             // US privacy section + national
		{"DBABrGA~BVQVAAAAAgA.QA~BAAAAAAAAgA.QA", 12}, // Colorado-style state section
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
