//go:build !race

package devicedb

import "testing"

// TestLookupAllocsInApp pins the in-app and screen forms at 0 allocations
// per uncached lookup, like TestLookupAllocs does for browser UAs.
func TestLookupAllocsInApp(t *testing.T) {
	db := defaultDB(t)
	for _, ua := range []string{
		"MyApp/1.2 CFNetwork/1410.0.3 Darwin/22.6.0",
		"Safari/12602.2.14.0.7 CFNetwork/807.1.3 Darwin/16.1.0 (x86_64)",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21B101 [FBAN/FBIOS;FBAV/441.0.0.33.113;FBBV/543537614;FBDV/iPhone15,3;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/545210025]",
		"[FBAN/FB4A;FBAV/442.0.0.35.109;FBBV/545210026;FBDM/{density=2.625,width=1080,height=2220};FBLC/en_US;FBRV/0;FBCR/T-Mobile;FBMF/samsung;FBBD/samsung;FBPN/com.facebook.katana;FBDV/SM-G960U;FBSV/10;FBOP/1;FBCA/arm64-v8a:;]",
		"Instagram 302.0.0.23.114 Android (33/13; 420dpi; 1080x2220; samsung; SM-A505F; a50; exynos9610; en_US; 520702284)",
		"Instagram 302.0.0.23.114 (iPhone14,2; iOS 16_5; en_US; en; scale=3.00; 1170x2532; 520702284)",
		"Snapchat/12.60.0.39 (SM-G991B; Android 13#G991BXXU5DWA1#33; gzip)",
		"Dalvik/2.1.0 (Linux; U; Android 11; SM-A125F Build/RP1A.200720.012)",
		"okhttp/4.12.0",
		"Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.5) AppleWebKit/537.36 (KHTML, like Gecko) 85.0.4183.93/6.5 TV Safari/537.36",
		"Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager",
		"HbbTV/1.5.1 (+DRM;Hisense;SmartTV;V0000.08.00G.M0825;HU50A6100UW;) ; VIDAA/5.0",
		"Opera/9.80 (Linux sh4; U; HbbTV/1.1.1 (; INTEK; VT-100 HD+;;;) hdplusSmartTV/1.0 (NETRANGEMMH;) Bee/3.2 CE-HTML/1.0; en) Presto/2.10.250 Version/11.60",
		"Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7633; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36",
		"Roku/DVP-12.5 (12.5.0.4178-51)",
		"Mozilla/5.0 (PlayStation; PlayStation 5/8.20) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.4 Safari/605.1.15",
	} {
		db.Lookup(Evidence{UA: ua})
		if n := testing.AllocsPerRun(100, func() { db.Lookup(Evidence{UA: ua}) }); n != 0 {
			t.Errorf("%v allocs per lookup, want 0: %s", n, ua)
		}
	}
}
