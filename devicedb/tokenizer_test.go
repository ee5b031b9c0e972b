package devicedb

import (
	"strings"
	"testing"
	"unsafe"
)

func TestTokenizer(t *testing.T) {
	f := func(ua string, want ...string) {
		t.Helper()
		var tz Tokenizer
		tz.Reset(ua)
		var got []string
		for {
			tok, ok := tz.Next()
			if !ok {
				break
			}
			s := tok.Name
			if tok.Kind == TokenComment {
				s = "(" + s + ")"
			} else if tok.Version != "" {
				s += "/" + tok.Version
			}
			got = append(got, s)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("tokens of %q\n got %q\nwant %q", ua, got, want)
		}
	}
	f("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0", "(Linux)", "(Android 10)", "(K)", "AppleWebKit/537.36", "(KHTML, like Gecko)", "Chrome/120.0.0.0", "Mobile", "Safari/537.36")
	f("MyApp/1.2 (iPhone15,3; iOS 17.4; Scale/3.00)", "MyApp/1.2", "(iPhone15,3)", "(iOS 17.4)", "(Scale/3.00)")
	f("a (b (c; d); e", "a", "(b (c; d))", "(e)")
	f("")
	f("  ;;) ((", "(()")
	f("Dalvik/2.1.0(Linux; U)", "Dalvik/2.1.0", "(Linux)", "(U)")
}

func TestParseVersion(t *testing.T) {
	f := func(s string, want string) {
		t.Helper()
		if got := versionString(parseVersion(s)); got != want {
			t.Errorf("parseVersion(%q) = %q, want %q", s, got, want)
		}
	}
	f("17_4_1 like", "17.4.1")
	f("10.0", "10.0")
	f("14", "14")
	f("2.1-update1", "2.1")
	f("x", "")
	f("99999999999999.1", "99999.1")
}

// FuzzTokenizer: tokens are substrings in order, the tokenizer terminates,
// and Lookup never panics on the same input.
func FuzzTokenizer(f *testing.F) {
	for _, s := range []string{
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		"Roku/DVP-12.0 (12.0.0.4182-88)", "((((", "a/b/c (;;;) )", "Mozilla/5.0+(iPhone;+CPU+iPhone+OS+9_3_1+like+Mac+OS+X)",
		"Mozilla/5.0 (Linux U Android 2.1-update1 en-us LG-C710 Build/Eclair) AppleWebKit/530.17",
		"Mozilla/5.0 (Linux; U; Android Donut; en-us; HTC_Lexikon_C Build/Donut)", "( Android ", "(Windows NT 6.3; ARM)",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		// In-app forms and screens.
		"MyApp/1.2 CFNetwork/1410.0.3 Darwin/22.6.0", "Bloodhound/2.1 CFNetwork/673.4 Darwin/13.3.0 (x86_64) (MacBookPro10%2C1)",
		"Mozilla/5.0 (iPhone; CPU IPhone OS 8_1_3 Like Mac OS X) AppleWebKit/600.1.4 (KHTML, Like Gecko) Mobile/12B466 [FBAN/FBIOS;FBDV/iPhone7,2;FBMD/iPhone;FBSN/iPhone OS;FBSV/8.1.3;FBSS/2; FBCR/Sprint;FBID/phone]",
		"[FBAN/FB4A;FBAV/3.9;FBDM/{density=1.0,width=320,height=480};FBCR/o2 - de;FBMF/samsung;FBDV/HTC Desire 200;FBSV/4.0.3;]",
		"[FBAN/FB4A;FBDM/{density=;width=;height=", "[FBAN/FBIOS;FBDV/", "FBDV/iPhone15,3 FBMF/",
		"Instagram 302.0.0.23.114 Android (33/13; 420dpi; 1080x2220; samsung; SM-A505F; a50; exynos9610; en_US; 520702284)",
		"Instagram 302.0.0.23.114 (iPhone14,2; iOS 16_5; en_US; en; scale=3.00; 1170x2532; 520702284)", "Instagram Android (/; dpi; x; ;",
		"Snapchat/12.60.0.39 (SM-G991B; Android 13#G991BXXU5DWA1#33; gzip)", "okhttp/4.12.0", "Ktor client",
		"UnityPlayer/2021.3.16f1 (UnityWebRequest/1.0, libcurl/7.84.0-DEV)",
		"Opera/9.80 (Linux mips; U;  HbbTV/1.1.1 (; Sony; KDL22EX320; PKG4.017EUA; 2011;);; en) Presto/2.7.61 Version/11.00",
		"HbbTV/1.1.1 (;;", "HbbTV/", "HbbTV/1.5.1 (+DRM;Hisense;SmartTV;V0000.08.00G.M0825;HU50A6100UW;) ; VIDAA/5.0",
		"Mozilla/5.0 (Linux; Andr0id 9; BRAVIA 4K UR2 Build/PTT1.190515.001.S52) AppleWebKit/537.36 OPR/46.0.2207.0 OMI/4.13.0.180.DIA5.104 Model/Sony-BRAVIA-4K-UR2",
		"Mozilla/5.0 (X11; Linux aarch64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/84.0.4147.125 Safari/537.36 CrKey/1.42.183786 SmartCast/2.3 VIZIO",
		"Roku4640X/DVP-7.70 (297.70E04154A)", "AppleTV11,1/11.1", "Watch4,2/7.0.1", "MyRadio/2.3 (iPhone; iOS 17.2; CarPlay)",
	} {
		f.Add(s, int64(820), int64(1180))
	}
	db, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ua string, w, h int64) {
		var tz Tokenizer
		tz.Reset(ua)
		for n := 0; ; n++ {
			tok, ok := tz.Next()
			if !ok {
				break
			}
			if n > len(ua) {
				t.Fatalf("more tokens than bytes in %q", ua)
			}
			if !strings.Contains(ua, tok.Name) || !strings.Contains(ua, tok.Version) {
				t.Fatalf("token %+v is not part of %q", tok, ua)
			}
		}
		r := db.Lookup(Evidence{UA: ua, W: w, H: h})
		if r.ID == "" {
			t.Fatalf("empty result for %q", ua)
		}
		// A Result may outlive the request, so the brand the parser names
		// must be a static string, never a part of the UA.
		var info uaInfo
		parseUA(ua, &info)
		if b := unsafe.StringData(info.brand); len(info.brand) > 0 && len(ua) > 0 &&
			uintptr(unsafe.Pointer(b)) >= uintptr(unsafe.Pointer(unsafe.StringData(ua))) &&
			uintptr(unsafe.Pointer(b)) < uintptr(unsafe.Pointer(unsafe.StringData(ua)))+uintptr(len(ua)) {
			t.Fatalf("brand %q aliases the UA %q", info.brand, ua)
		}
		if info.w < 0 || info.h < 0 || info.pxRatio < 0 {
			t.Fatalf("negative screen %dx%d@%v from %q", info.w, info.h, info.pxRatio, ua)
		}
	})
}
