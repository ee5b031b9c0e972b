package devicedb

import (
	"testing"
	"unsafe"

	"github.com/prebid/openrtb/v20/openrtb2"
)

func defaultDB(t testing.TB) *DB {
	t.Helper()
	db, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	return db
}

func TestLookup(t *testing.T) {
	db := defaultDB(t)
	f := func(ua string, sua *openrtb2.UserAgent, wantMake, wantModel, wantOS, wantOSV string, wantType int8, wantMatch MatchType) {
		t.Helper()
		r := db.Lookup(Evidence{UA: ua, SUA: sua})
		if r.Make != wantMake || r.Model != wantModel || r.OS != wantOS || r.OSV != wantOSV || r.DeviceType != wantType || r.Match != wantMatch {
			t.Errorf("Lookup(%q)\n got make=%q model=%q os=%q osv=%q type=%d match=%s (id %s)\nwant make=%q model=%q os=%q osv=%q type=%d match=%s",
				ua, r.Make, r.Model, r.OS, r.OSV, r.DeviceType, r.Match, r.ID, wantMake, wantModel, wantOS, wantOSV, wantType, wantMatch)
		}
	}
	mobile1, mobile0 := int8(1), int8(0)
	reduced := "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
	// Chrome's reduced UA hides the model: sua.model must resolve the S23 Ultra.
	f(reduced, &openrtb2.UserAgent{Model: "SM-S918B"}, "Samsung", "SM-S918B", "Android", "10", 4, MatchToken)
	f(reduced, &openrtb2.UserAgent{Model: "SM-S918B", Mobile: &mobile1, Platform: &openrtb2.BrandVersion{Brand: "Android", Version: []string{"14", "0", "0"}}},
		"Samsung", "SM-S918B", "Android", "14", 4, MatchToken)
	f(reduced, nil, "", "", "Android", "10", 4, MatchFallback)
	f("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		&openrtb2.UserAgent{Mobile: &mobile0}, "", "", "Android", "10", 5, MatchFallback)
	f("Mozilla/5.0 (Linux; Android 13; SM-S911U1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36",
		nil, "Samsung", "SM-S911U1", "Android", "13", 4, MatchToken)
	f("Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		nil, "Google", "Pixel 8 Pro", "Android", "14", 4, MatchToken)
	f("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		nil, "Apple", "iPhone", "iOS", "17.4.1", 4, MatchFallback)
	f("Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1",
		nil, "Apple", "iPhone", "iOS", "26.0", 4, MatchFallback)
	f("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
		nil, "Apple", "iPad", "iPadOS", "16.6", 5, MatchFallback)
	f("MyApp/1.2 (iPhone15,3; iOS 17.4; Scale/3.00)", nil, "Apple", "iPhone 14 Pro Max", "iOS", "17.4", 4, MatchToken)
	f("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		nil, "", "", "Windows", "10", 2, MatchFallback)
	f("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		&openrtb2.UserAgent{Platform: &openrtb2.BrandVersion{Brand: "Windows", Version: []string{"15", "0", "0"}}}, "", "", "Windows", "11", 2, MatchFallback)
	f("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko", nil, "", "", "Windows", "7", 2, MatchFallback)
	f("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		nil, "Apple", "Mac", "macOS", "10.15.7", 2, MatchFallback)
	f("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", nil, "", "", "Linux", "", 2, MatchFallback)
	f("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", nil, "", "", "Chrome OS", "", 2, MatchFallback)
	f("Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36",
		nil, "Samsung", "Smart TV", "Tizen", "6.0", 3, MatchFallback)
	f("Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36 WebAppManager",
		nil, "LG", "Smart TV", "webOS", "", 3, MatchFallback)
	f("Roku/DVP-12.0 (12.0.0.4182-88)", nil, "Roku", "Roku", "Roku OS", "", 3, MatchFallback)
	f("Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7233; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36",
		nil, "Amazon", "AFTMM", "Fire OS", "9", 3, MatchToken)
	f("AppleCoreMedia/1.0.0.20L563 (Apple TV; U; CPU OS 16_5 like Mac OS X; en_us)", nil, "Apple", "Apple TV", "tvOS", "16.5", 3, MatchFallback)
	f("Mozilla/5.0 (PlayStation 5 3.11) AppleWebKit/605.1.15 (KHTML, like Gecko)", nil, "Sony", "PlayStation", "PlayStation", "", 6, MatchFallback)
	f("Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19041",
		nil, "Microsoft", "Xbox", "Xbox", "", 6, MatchFallback)
	f("", nil, "", "", "", "", 0, MatchGeneric)

	// Families and conventions of uap-core, the de facto reference.
	f("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/30.0 Chrome/143.0.0.0 Safari/537.36",
		nil, "Samsung", "", "Android", "", 2, MatchFallback) // DeX
	f("Mozilla/5.0 (X11; Linux x86_64; Quest Pro) AppleWebKit/537.36 (KHTML, like Gecko) OculusBrowser/26.2.0.0.10 Chrome/110.0.5481.192 VR Safari/537.36",
		nil, "Meta", "Quest", "Android", "", 6, MatchFallback)
	f("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
		nil, "Apple", "iPad", "iPadOS", "", 5, MatchFallback)
	f("Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_3; en-us; Silk/1.1.0-80) AppleWebKit/533.16 (KHTML, like Gecko) Version/5.0 Safari/533.16 Silk-Accelerated=true",
		nil, "Amazon", "Kindle Fire", "Fire OS", "", 5, MatchFallback)
	f("Mozilla/5.0 (Linux; U; Android Donut; en-us; HTC_Lexikon_C Build/Donut) AppleWebKit/528.2 (KHTML, like Gecko) Version/3.1.2 Mobile Safari/525.20.1",
		nil, "HTC", "HTC_Lexikon_C", "Android", "1.6", 4, MatchBrand)
	f("Mozilla/5.0 (Linux U Android 2.1-update1 en-us LG-C710 Build/Eclair) AppleWebKit/530.17 (KHTML, like Gecko) Version/4.0 Mobile Safari/530.17",
		nil, "", "", "Android", "2.1", 4, MatchFallback)
	f("Mozilla/5.0 (Windows NT 6.3; ARM; Trident/7.0; Touch; rv:11.0) like Gecko", nil, "", "", "Windows", "RT 8.1", 2, MatchFallback)
	f("Mozilla/5.0 (Windows NT 11.0; Win64; x64) Gecko/20100101 Firefox/150.0", nil, "", "", "Windows", "11.0", 2, MatchFallback)
	f("Mozilla/4.0 (compatible; MSIE 5.0; Windows NT 4.0)", nil, "", "", "Windows", "NT", 2, MatchFallback)
	f("Mozilla/4.0 (compatible; MSIE 6.0; Windows CE; IEMobile 7.11) Sprint:SPH-i325 320x240", nil, "", "", "Windows", "CE", 4, MatchFallback)
	f("Mozilla/5.0 (iPhone; U; CPU like Mac OS X; en) AppleWebKit/420+ (KHTML, like Gecko) Version/3.0 Mobile/1A543a Safari/419.3",
		nil, "Apple", "iPhone", "iOS", "3.0", 4, MatchFallback)
}

// TestLookupBrand: a model the database does not list gets the brand its
// UA names or its model code's prefix gives, the model as sent, and no
// screen; a listed one keeps the model the device sent beside its
// marketing name.
func TestLookupBrand(t *testing.T) {
	db := defaultDB(t)
	f := func(model, wantMake, wantModel, wantName string, wantMatch MatchType) {
		t.Helper()
		ua := "Mozilla/5.0 (Linux; Android 13; " + model + ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
		r := db.Lookup(Evidence{UA: ua})
		if r.Make != wantMake || r.Model != wantModel || r.MarketingName != wantName || r.Match != wantMatch {
			t.Errorf("%s: got %q %q %q %s (%s), want %q %q %q %s", model, r.Make, r.Model, r.MarketingName, r.Match, r.ID,
				wantMake, wantModel, wantName, wantMatch)
		}
		if r.Match != MatchToken && (r.W != 0 || r.H != 0 || r.PPI != 0 || r.PxRatio != 0) {
			t.Errorf("%s: a device the database cannot name claims a screen: %dx%d, %d ppi, ratio %v", model, r.W, r.H, r.PPI, r.PxRatio)
		}
	}
	// Listed: the model as sent (not the SM-A515B its record names), as
	// the database spells it.
	f("SM-A515F", "Samsung", "SM-A515F", "Galaxy A51", MatchToken)
	f("SAMSUNG SM-A510S Build/MMB29K", "Samsung", "SM-A510S", "Galaxy A5 (2016)", MatchToken)
	f("Redmi Note 8 Pro", "Xiaomi", "Redmi Note 8 Pro", "Redmi Note 8 Pro", MatchToken)
	f("ANE-LX1", "Huawei", "ANE-LX1", "P20 Lite", MatchToken)
	f("RMX1811", "realme", "RMX1811", "C1", MatchToken)
	f("ONEPLUS A5010", "OnePlus", "A5010", "OnePlus 5T", MatchToken) // the maker's name is no part of Build.MODEL
	// Unlisted: the brand from the code's prefix or the UA's own word.
	f("SM-X999Z", "Samsung", "SM-X999Z", "", MatchBrand)
	f("2212999XG", "Xiaomi", "2212999XG", "", MatchBrand)
	f("CPH2999", "OPPO", "CPH2999", "", MatchBrand)
	f("V2250", "vivo", "V2250", "", MatchBrand)
	f("RMX9999", "realme", "RMX9999", "", MatchBrand)
	f("TA-1999", "Nokia", "TA-1999", "", MatchBrand)
	f("LM-X999", "LG", "LM-X999", "", MatchBrand)
	f("moto g(99)", "Motorola", "moto g(99)", "", MatchBrand)
	f("XQ-ZZ99", "Sony", "XQ-ZZ99", "", MatchBrand)
	f("TECNO KZ9", "Tecno", "TECNO KZ9", "", MatchBrand)
	f("Infinix X9999", "Infinix", "Infinix X9999", "", MatchBrand)
	f("itel A999", "itel", "itel A999", "", MatchBrand)
	f("HONOR ZZZ-NX9", "Honor", "HONOR ZZZ-NX9", "", MatchBrand)
	f("Pixel 99", "Google", "Pixel 99", "", MatchBrand)
	// Nothing to go by: no brand, no model, no screen.
	f("ZZ-9000", "", "", "", MatchFallback)
}

// TestBrandFor: a maker the UA names outright (the in-app forms'
// "samsung; SM-A505F") beats the model's prefix; when the word is part
// of the model token, its longest prefix decides.
func TestBrandFor(t *testing.T) {
	db := defaultDB(t)
	f := func(named, suaModel, model, wantBrand, wantToken string) {
		t.Helper()
		if b, tok := db.brandFor(named, suaModel, model); b != wantBrand || tok != wantToken {
			t.Errorf("brandFor(%q, %q, %q) = %q, %q, want %q, %q", named, suaModel, model, b, tok, wantBrand, wantToken)
		}
	}
	f("samsung", "", "SM-Z999", "Samsung", "SM-Z999")
	f("HONOR", "", "JSN-L99", "Honor", "JSN-L99")
	f("", "", "JSN-L99", "Huawei", "JSN-L99")
	f("Sony", "", "Sony Ericsson Xperia Z", "Sony Ericsson", "Sony Ericsson Xperia Z")
	f("Acme", "", "SM-Z999", "Samsung", "SM-Z999")
	f("TECNO MOBILE LIMITED", "", "KZ9", "Tecno", "KZ9")
	f("LGE", "", "ZZ-1", "LG", "ZZ-1")
	f("", "SM-Z999", "K", "Samsung", "SM-Z999")
	f("", "", "K", "", "")
	f("", "", "", "", "")
}

// TestFallbackRows: every family slot of the parser finds its first
// fallback device in the default database.
func TestFallbackRows(t *testing.T) {
	db := defaultDB(t)
	for f := fbNone + 1; f < numFallbacks; f++ {
		i := db.fallback[f]
		if i < 0 || db.recs[i].id != fallbackIDs[f][0] {
			id := ""
			if i >= 0 {
				id = db.recs[i].id
			}
			t.Errorf("fallback slot %d: device %q, want %q", f, id, fallbackIDs[f][0])
		}
	}
}

// TestFallbackFamilies: a device of a family the database cannot name
// gets the family's fallback row, its device type and maker, and no
// screen facts.
func TestFallbackFamilies(t *testing.T) {
	db := defaultDB(t)
	f := func(ua, wantID string, wantType int8, wantMake string) {
		t.Helper()
		r := db.Lookup(Evidence{UA: ua})
		if r.ID != wantID || r.DeviceType != wantType || r.Make != wantMake {
			t.Errorf("%s\n got id=%s type=%d make=%q\nwant id=%s type=%d make=%q", ua, r.ID, r.DeviceType, r.Make, wantID, wantType, wantMake)
		}
		if r.W != 0 || r.H != 0 || r.PPI != 0 || r.PxRatio != 0 {
			t.Errorf("%s: screen %dx%d ppi %d pxratio %v, want none", ua, r.W, r.H, r.PPI, r.PxRatio)
		}
	}
	f("MyApp/1.0 CFNetwork/1410.0.3 Darwin/22.6.0", "generic_ios", DeviceTypeMobileTablet, "Apple")
	f("Mozilla/5.0 (Linux; Sky Q; 4.9.0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15 SkyQ", "generic_stb", DeviceTypeSetTopBox, "Sky")
	f("Dalvik/2.1.0 (Linux; U; Android 13; Galaxy Watch5 Build/TP1A.220624.014; Wear OS)", "generic_wearable", DeviceTypeConnected, "Samsung")
	f("Mozilla/5.0 (X11; GNU/Linux) AppleWebKit/601.1 (KHTML, like Gecko) Tesla QtCarBrowser Safari/601.1", "generic_car", DeviceTypeConnected, "Tesla")
	f("Mozilla/5.0 (Linux; Android 12; Android Automotive; Polestar 2 Build/SPB1.210331.013) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/106.0.0.0 Safari/537.36", "generic_car", DeviceTypeConnected, "")
	f("Mozilla/5.0 (Linux; Android) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 CrKey/1.56.500000 DeviceType/SmartSpeaker", "generic_smart_display", DeviceTypeConnected, "Google")
	f("Mozilla/5.0 (Linux; NetTV; U) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36", "generic_smarttv", DeviceTypeCTV, "")
}

// TestStreamingDeviceTypes: streaming players that plug into a TV are
// connected TVs (3), by their database row or by the UA alone; a pay-TV
// operator's box and a satellite receiver are set-top boxes (7).
func TestStreamingDeviceTypes(t *testing.T) {
	db := defaultDB(t)
	f := func(ua string, want int8) {
		t.Helper()
		if r := db.Lookup(Evidence{UA: ua}); r.DeviceType != want {
			t.Errorf("%s: type %d (id %s), want %d", ua, r.DeviceType, r.ID, want)
		}
	}
	f("Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7633; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36", DeviceTypeCTV)
	f("Mozilla/5.0 (Linux; Android 9; AFTR Build/PS7638.3465N; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.5993.80 Mobile Safari/537.36", DeviceTypeCTV)
	f("Dalvik/2.1.0 (Linux; U; Android 12; Chromecast Build/STTE.231215.005)", DeviceTypeCTV)
	f("Roku/DVP-12.5 (12.5.0.4178-51)", DeviceTypeCTV)
	f("AppleTV11,1/11.1", DeviceTypeCTV)
	f("com.example.streaming/8.14.0 (AppleTV; tvOS 17.5; Scale/1.00)", DeviceTypeCTV)
	f("Mozilla/5.0 (Linux; Android 9; MIBOX4 Build/PI; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/112.0.5615.135 Mobile Safari/537.36", DeviceTypeCTV)
	f("HbbTV/1.1.1 (+PVR;Humax;HD FOX+;1.00.12;1.0)CE-HTML/1.0 ANTGalio/3.1.1.23.04.09", DeviceTypeSetTopBox)
	f("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/61.0 Safari/537.36 Freebox", DeviceTypeSetTopBox)
	f("Mozilla/5.0 (Linux; x86_64 GNU/Linux) AppleWebKit/601.1 (KHTML, like Gecko) Version/8.0 Safari/601.1 WPE Comcast X1", DeviceTypeSetTopBox)
}

// TestLookupOwnsModel: the model of a device known only by its brand is
// a copy, never a view of the evidence, whose bytes the caller may reuse.
func TestLookupOwnsModel(t *testing.T) {
	db := defaultDB(t)
	buf := []byte("Mozilla/5.0 (Linux; Android 13; SM-X999Z) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36")
	r := db.Lookup(Evidence{UA: unsafe.String(&buf[0], len(buf))})
	for i := range buf {
		buf[i] = 'x'
	}
	if r.Make != "Samsung" || r.Model != "SM-X999Z" {
		t.Errorf("got %q %q after the evidence bytes changed", r.Make, r.Model)
	}
}

// TestDesktopSiteScreens: an iPad or iPhone asking for the desktop site
// sends a Mac UA; an Apple touch screen size in device.w/h tells it from a
// Mac, in CSS or physical pixels and either orientation.
func TestDesktopSiteScreens(t *testing.T) {
	db := defaultDB(t)
	safari := "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
	webView := "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
	chrome := "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	crios := "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1"
	for _, c := range []struct {
		ua       string
		w, h     int64
		id, os   string
		osv      string
		devType  int8
		isTablet bool
	}{
		{safari, 820, 1180, "apple_ipad", "iPadOS", "17.4", 5, true},
		{safari, 1180, 820, "apple_ipad", "iPadOS", "17.4", 5, true},
		{safari, 1640, 2360, "apple_ipad", "iPadOS", "17.4", 5, true},
		{safari, 768, 1024, "apple_ipad", "iPadOS", "17.4", 5, true},
		{safari, 1032, 1376, "apple_ipad", "iPadOS", "17.4", 5, true},
		{webView, 834, 1194, "apple_ipad", "iPadOS", "", 5, true},
		{safari, 402, 874, "apple_iphone", "iOS", "17.4", 4, false},
		{safari, 1440, 900, "apple_mac", "macOS", "10.15.7", 2, false},
		{safari, 1512, 982, "apple_mac", "macOS", "10.15.7", 2, false},
		{safari, 0, 0, "apple_mac", "macOS", "10.15.7", 2, false},
		{chrome, 820, 1180, "apple_mac", "macOS", "10.15.7", 2, false},
		{crios, 0, 0, "apple_ipad", "iPadOS", "", 5, true},
		{crios, 1024, 1366, "apple_ipad", "iPadOS", "", 5, true},
		{crios, 393, 852, "apple_iphone", "iOS", "", 4, false},
	} {
		r := db.Lookup(Evidence{UA: c.ua, W: c.w, H: c.h})
		if r.ID != c.id || r.OS != c.os || r.OSV != c.osv || r.DeviceType != c.devType || r.IsTablet != c.isTablet {
			t.Errorf("%dx%d %s\n got %s %s %q type %d tablet %v\nwant %s %s %q type %d tablet %v",
				c.w, c.h, c.ua, r.ID, r.OS, r.OSV, r.DeviceType, r.IsTablet, c.id, c.os, c.osv, c.devType, c.isTablet)
		}
	}
	// Android UAs ignore the screen.
	r := db.Lookup(Evidence{UA: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", W: 820, H: 1180})
	if r.OS != "Android" || r.DeviceType != DeviceTypePhone {
		t.Errorf("Pixel 8 with an iPad screen: got %s type %d", r.OS, r.DeviceType)
	}
}

func TestBots(t *testing.T) {
	db := defaultDB(t)
	f := func(ua string, want bool) {
		t.Helper()
		if r := db.Lookup(Evidence{UA: ua}); r.IsBot != want {
			t.Errorf("Lookup(%q).IsBot = %v, want %v (id %s)", ua, r.IsBot, want, r.ID)
		}
	}
	f("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true)
	f("curl/8.4.0", true)
	f("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0.2272.96 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true)
	f("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", false)
	f("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", false)
	// Listed crawler words inside device names ("Sonic", "Butterfly").
	f("Mozilla/5.0 (Linux; Android 4.0.4; Panasonic KX-PRXA10 Build/IMM76D) AppleWebKit/537.31 (KHTML, like Gecko) Chrome/26.0.1410.58 Mobile Safari/537.31", false)
	f("Mozilla/5.0 (Linux; U; Android 2.2.2; Zh-CN; ViewSonic-V350 Build/FRG83G) AppleWebKit/534.31 (KHTML, Like Gecko) UCBrowser/9.3.1.344 U3/0.8.0 Mobile Safari/534.31", false)
	f("Mozilla/5.0 (Linux; U; Android 4.1.1; ru-kz; HTC_Butterfly Build/JRO03C) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30", false)
	f("Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", false)
	f("Mozilla/5.0 (compatible; Sonic/1.0; http://www.yama.info.waseda.ac.jp/~crawler/info.html)", true)
	f("Mozilla/5.0 (compatible; Butterfly/1.0; +http://labs.topsy.com/butterfly/) Gecko/2009032608 Firefox/3.0.8", true)
	// Crawlers the list does not name, by their conventions.
	f("ProoXiBot", true)
	f("NL-Crawler", true)
	f("Mozilla/5.1 (compatible; DBot/7.5.6; +http://a14download.com)", true)
	f("Mozilla/5.0 (compatible; ExampleScraper/2.0)", true)
	// Apps' HTTP clients are in-app traffic, though crawler-user-agents
	// lists okhttp.
	f("okhttp/4.12.0", false)
	f("okhttp/3.5.0", false)
	f("Ktor client", false)
}
