package devicedb

import "strings"

// In-app User-Agents: the forms app SDKs and HTTP stacks send instead of a
// browser's, most of in-app traffic.
//
//	MyApp/1.2 CFNetwork/1410.0.3 Darwin/22.6.0            iOS (Darwin table)
//	… [FBAN/FBIOS;FBDV/iPhone15,3;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2;…]
//	[FBAN/FB4A;…;FBDM/{density=2.625,width=1080,height=2220};FBMF/samsung;FBDV/SM-G960U;FBSV/10;…]
//	Instagram 302.0.0.23.114 Android (33/13; 420dpi; 1080x2220; samsung; SM-A505F; a50; exynos9610; en_US; …)
//	Instagram 302.0.0.23.114 (iPhone14,2; iOS 16_5; en_US; en; scale=3.00; 1170x2532; …)
//	Snapchat/12.60.0.39 (SM-G991B; Android 13#G991BXXU5DWA1#33; gzip)
//
// TikTok's forms (musical_ly, trill, BytedanceWebview, ByteLocale) and
// Dalvik carry a browser-style comment that parseUA reads as it is.
// okhttp, Ktor and UnityPlayer (without a device) claim nothing: parseUA
// invents no OS or device for them.

// appState is what parseUA gathers from in-app tokens on its way.
type appState struct {
	darwin    version // Darwin/x.y.z
	cfNetwork bool    // CFNetwork/…
	cfMajor   int32   // CFNetwork's major version, which tells iOS 7 from 8 on Darwin 14
	android   version // a product "Android/2.3.5" (feature-phone era browsers)
	macHint   bool    // "(x86_64)", "(MacBookPro18,3)": a Mac app
	fb        bool    // a Facebook bracket: "[FBAN/…;FBDV/…;…]"
	fbAndroid bool    // an Android Facebook app (FB4A, Orca-Android, FBMF/FBBD)
	// instagram is 1 after "Instagram", 2 after "Instagram … Android":
	// the next comment is then the Android device description.
	instagram uint8
	igItem    uint8 // index of the comment item in the Instagram description
	igAndroid bool  // an Instagram Android description was read
	snapchat  uint8 // 1 after "Snapchat": the next comment item is the model
}

// appProduct reads a product token of an in-app form. It reports whether
// the token was one.
func appProduct(st *appState, info *uaInfo, name, ver string) bool {
	switch name {
	case "CFNetwork":
		st.cfNetwork = true
		st.cfMajor = parseVersion(ver).p[0]
	case "Darwin":
		st.darwin = parseVersion(ver)
	case "Instagram":
		st.instagram = 1
	case "Snapchat":
		st.snapchat = 1
	case "[FBAN", "FBAN", "[FB_IAB", "FB_IAB":
		st.fb = true
		if ver == "FB4A" || hasPrefix(ver, "Orca-Android") || ver == "EMA" || ver == "MessengerLite" {
			st.fbAndroid = true
		}
	case "Android":
		if ver != "" {
			st.android = parseVersion(ver)
		}
		if st.instagram == 1 {
			st.instagram = 2 // "Instagram 302.0.0.23.114 Android (…)"
			st.igItem = 0
		}
	default:
		return false
	}
	return true
}

// fbField returns the value of a field of a Facebook bracket ("FBDV/" →
// "HTC Desire 200"): fields may hold spaces, so the bracket is read from
// the UA itself rather than from its tokens.
func fbField(ua, key string) string {
	k := strings.Index(ua, key)
	if k < 0 {
		return ""
	}
	v := ua[k+len(key):]
	if e := strings.IndexAny(v, ";]"); e >= 0 {
		v = v[:e]
	}
	return trimSpace(v)
}

// fbValue returns what follows key in a Facebook FBDM value, or "".
func fbValue(s, key string) string {
	if k := strings.Index(s, key); k >= 0 {
		return s[k+len(key):]
	}
	return ""
}

// decimal reads the decimal number at the start of s ("2.625,width=…")
// without strconv; 0 when there is none.
func decimal(s string) float64 {
	var v, scale float64 = 0, 0
	for i := 0; i < len(s) && i < 12; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9' && scale == 0:
			v = v*10 + float64(c-'0')
		case c >= '0' && c <= '9':
			v += float64(c-'0') * scale
			scale /= 10
		case c == '.' && scale == 0:
			scale = 0.1
		default:
			return v
		}
	}
	return v
}

// appComment reads a comment item of an in-app form. It reports whether
// the item was consumed.
func appComment(st *appState, info *uaInfo, it string, andV *version, model *string) bool {
	if st.instagram == 0 && st.snapchat != 1 && !st.cfNetwork {
		return false // a browser's comment: the common case, kept cheap
	}
	switch {
	case st.instagram == 2:
		// Instagram's Android description: API/release; dpi; WxH; maker;
		// model; device; board; locale; build.
		i := st.igItem
		st.igItem++
		switch i {
		case 0:
			st.igAndroid = true
			if k := strings.IndexByte(it, '/'); k > 0 && andV.n == 0 {
				*andV = parseVersion(it[k+1:])
			}
		case 1:
			if hasSuffix(it, "dpi") {
				if d := atoiPrefix(it); d > 0 {
					info.pxRatio = float64(d) / 160
				}
			}
		case 2:
			info.w, info.h = portrait(screenSize(it))
		case 3:
			if k := strings.IndexByte(it, '/'); k > 0 {
				it = it[:k] // "Xiaomi/Redmi": maker/brand
			}
			if b := makerBrand(it); b != "" {
				info.brand = b
			}
		case 4:
			if *model == "" {
				*model = it
			}
		}
		return true
	case st.snapchat == 1:
		// Snapchat: "(SM-G991B; Android 13#…; gzip)"; on iOS the first item
		// is an Apple hardware id, which parseUA reads itself.
		st.snapchat = 2
		if !isAppleHW(it) && !hasPrefix(it, "Android") && *model == "" {
			*model = it
			return true
		}
	case st.cfNetwork && (it == "x86_64" || it == "i386" || it == "arm64" ||
		hasPrefix(it, "MacBook") || hasPrefix(it, "Macmini") || hasPrefix(it, "iMac") || hasPrefix(it, "MacPro") || hasPrefix(it, "Mac1")):
		st.macHint = true
		return true
	case st.instagram == 1:
		// Instagram iOS: "(iPhone14,2; iOS 16_5; en_US; en; scale=3.00; 1170x2532; …)"
		if w, h := screenSize(it); w > 0 {
			info.w, info.h = portrait(w, h)
			return true
		}
		if hasPrefix(it, "scale=") {
			info.pxRatio = decimal(it[6:])
			return true
		}
	}
	return false
}

// atoiPrefix reads the decimal integer at the start of s (at most 5 digits).
func atoiPrefix(s string) int {
	n := 0
	for i := 0; i < len(s) && i < 5 && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// portrait orders a handheld's screen size shorter side first, as the
// database records it.
func portrait(w, h int64) (int64, int64) {
	if w > h {
		return h, w
	}
	return w, h
}

// screenSize reads "1080x2220"; 0, 0 when s is not a size.
func screenSize(s string) (int64, int64) {
	x := strings.IndexByte(s, 'x')
	if x <= 0 || x == len(s)-1 || len(s) > 11 {
		return 0, 0
	}
	for i := 0; i < len(s); i++ {
		if i != x && (s[i] < '0' || s[i] > '9') {
			return 0, 0
		}
	}
	return int64(atoiPrefix(s[:x])), int64(atoiPrefix(s[x+1:]))
}

// darwinIOS maps a Darwin kernel version (CFNetwork UAs) to the iOS
// release that shipped it; the CFNetwork major version tells apart the
// releases that share a Darwin major (iOS 4.3 and 5 on Darwin 11, 7 and
// 8 on Darwin 14). Sources: Apple's open-source release tables
// (the xnu version of each iOS release at opensource.apple.com/releases),
// cross-checked against uap-core's CFNetwork rules, which
// TestDarwinAgainstUAPCore compares with. From Darwin 20 (iOS 14) on the
// minor versions follow iOS's: iOS = Darwin − 6 up to Darwin 24 (iOS 18),
// and Darwin 25 is iOS 26, when Apple numbered releases by year. Where two
// iOS releases share a Darwin version (16.6 and 16.7 are both Darwin
// 22.6) the earlier one is reported.
func darwinIOS(d version, cfMajor int32) version {
	if d.n == 0 {
		return version{}
	}
	major, minor := d.p[0], d.p[1]
	v := func(a, b int32) version { return version{p: [3]int32{a, b}, n: 2} }
	switch {
	case major >= 25:
		return v(major+1, minor)
	case major >= 21:
		return v(major-6, minor)
	case major == 20:
		// iOS 14.1 and 14.2 are both Darwin 20.1; 14.7 and 14.8 are 20.6.
		switch {
		case minor == 0:
			return v(14, 0)
		case minor <= 5:
			return v(14, minor+1)
		default:
			return v(14, 8)
		}
	case major == 19:
		switch minor {
		case 0, 1:
			return v(13, 0)
		case 2, 3:
			return v(13, 3)
		default:
			return v(13, minor)
		}
	case major == 18:
		return v(12, [...]int32{0, 0, 1, 1, 1, 2, 3, 4}[min(minor, 7)])
	case major == 17:
		return v(11, [...]int32{0, 0, 1, 2, 2, 3, 4, 4}[min(minor, 7)])
	case major == 16:
		return v(10, [...]int32{0, 1, 1, 2, 2, 3, 3, 3}[min(minor, 7)])
	case major == 15:
		if minor >= 4 {
			return v(9, 3)
		}
		return v(9, 0)
	case major == 14 && cfMajor > 0 && cfMajor < 700:
		return v(7, 0)
	case major == 14:
		return v(8, 0)
	case major == 13:
		return v(6, 0)
	case major == 11 && cfMajor > 0 && cfMajor < 500:
		return v(4, 3)
	case major == 11:
		return v(5, 0)
	case major == 10:
		return v(4, 0)
	}
	return version{}
}

// darwinMacOS maps a Darwin version to macOS: Darwin 20 is macOS 11 and
// each later major adds one (Darwin 25 is macOS 26); before that Darwin
// n is Mac OS X 10.(n−4).
func darwinMacOS(d version) version {
	switch {
	case d.n == 0:
		return version{}
	case d.p[0] >= 25:
		return version{p: [3]int32{d.p[0] + 1}, n: 1}
	case d.p[0] >= 20:
		return version{p: [3]int32{d.p[0] - 9}, n: 1}
	case d.p[0] >= 5:
		return version{p: [3]int32{10, d.p[0] - 4}, n: 2}
	}
	return version{}
}

// makers are the canonical brand names of device makers as apps name them
// (Instagram's and Facebook's manufacturer fields), matched ignoring case.
// A brand is spelled as the embedded database's brand table spells it
// ("ASUS", "OPPO"), so that a device reports one make whether its row or
// its UA names it (TestMakersSpelling).
var makers = [...]struct{ name, brand string }{
	{"samsung", "Samsung"}, {"xiaomi", "Xiaomi"}, {"redmi", "Xiaomi"}, {"poco", "Xiaomi"},
	{"huawei", "Huawei"}, {"honor", "Honor"}, {"oppo", "OPPO"}, {"vivo", "vivo"},
	{"realme", "realme"}, {"oneplus", "OnePlus"}, {"motorola", "Motorola"}, {"google", "Google"},
	{"lge", "LG"}, {"lg", "LG"}, {"sony", "Sony"}, {"nokia", "Nokia"}, {"hmd global", "Nokia"},
	{"tecno", "Tecno"}, {"tecno mobile limited", "Tecno"}, {"infinix", "Infinix"},
	{"infinix mobility limited", "Infinix"}, {"itel", "itel"}, {"zte", "ZTE"}, {"lenovo", "Lenovo"},
	{"asus", "ASUS"}, {"tcl", "TCL"}, {"alcatel", "Alcatel"}, {"htc", "HTC"}, {"amazon", "Amazon"},
	{"blackberry", "BlackBerry"}, {"meizu", "Meizu"}, {"nothing", "Nothing"}, {"fairphone", "Fairphone"},
	{"sharp", "Sharp"}, {"kyocera", "Kyocera"}, {"cubot", "Cubot"}, {"ulefone", "Ulefone"},
	{"doogee", "Doogee"}, {"blackview", "Blackview"}, {"umidigi", "UMIDIGI"}, {"wiko", "Wiko"},
	{"apple", "Apple"}, {"meta", "Meta"}, {"oculus", "Meta"},
}

// makerBrand returns the canonical brand of a maker name, or "" when it is
// not one the table knows. The result is static, never a substring of s.
func makerBrand(s string) string {
	for _, m := range makers {
		if equalFold(s, m.name) {
			return m.brand
		}
	}
	return ""
}

// apply merges what the in-app tokens said into the parse flags and
// versions: Facebook's device and OS fields, CFNetwork's Darwin version,
// and the family an Apple hardware id names.
func (st *appState) apply(ua string, info *uaInfo, fl uint64, iosV, andV, macV *version) uint64 {
	if st.fb {
		fl = st.applyFacebook(ua, info, fl, iosV, andV)
	}
	if st.igAndroid {
		fl |= pAndroid
	}
	if st.android.n > 0 {
		fl |= pAndroid
		if andV.n == 0 {
			*andV = st.android
		}
	}
	if st.cfNetwork && st.darwin.n > 0 {
		switch {
		case st.macHint:
			fl |= pMac
			if macV.n == 0 {
				*macV = darwinMacOS(st.darwin)
			}
		case iosV.n == 0 && fl&(pAppleTV|pWatch|pMac) == 0:
			*iosV = darwinIOS(st.darwin, st.cfMajor)
		}
	}
	switch {
	case fl&(pIPhone|pIPad|pIPod|pWatch|pAppleTV) != 0:
	case hasPrefix(info.hw, "iPhone"):
		fl |= pIPhone
	case hasPrefix(info.hw, "iPad"):
		fl |= pIPad
	case hasPrefix(info.hw, "iPod"):
		fl |= pIPod
	case hasPrefix(info.hw, "Watch"):
		fl |= pWatch
	case hasPrefix(info.hw, "AppleTV"):
		fl |= pAppleTV
	}
	return fl
}

// applyFacebook reads the device fields of a Facebook bracket: FBDV (an
// Apple hardware id or an Android model), FBMD, FBSN and FBSV (the OS and
// its version), FBMF/FBBD (the Android maker) and FBDM (the screen).
func (st *appState) applyFacebook(ua string, info *uaInfo, fl uint64, iosV, andV *version) uint64 {
	if b := makerBrand(fbField(ua, "FBMF/")); b != "" {
		st.fbAndroid, info.brand = true, b
	} else if b := makerBrand(fbField(ua, "FBBD/")); b != "" {
		st.fbAndroid, info.brand = true, b
	}
	if dv := fbField(ua, "FBDV/"); isAppleHW(dv) {
		if info.hw == "" {
			info.hw = dv
		}
	} else if dv != "" {
		st.fbAndroid = true
		if info.model == "" {
			info.model = dv
		}
	}
	switch fbField(ua, "FBMD/") {
	case "iPhone":
		fl |= pIPhone
	case "iPad":
		fl |= pIPad
	case "iPod":
		fl |= pIPod
	}
	if sv := fbField(ua, "FBSV/"); sv != "" {
		v := parseVersion(sv)
		switch sn := fbField(ua, "FBSN/"); {
		case sn == "iOS" || sn == "iPadOS" || sn == "iPhone OS":
			if iosV.n == 0 {
				*iosV = v
			}
		case st.fbAndroid || sn == "Android":
			if andV.n == 0 {
				*andV = v
			}
		}
	}
	if dm := fbField(ua, "FBDM/"); dm != "" {
		// "{density=2.625,width=1080,height=2220}"
		info.pxRatio = decimal(fbValue(dm, "density="))
		info.w, info.h = portrait(int64(atoiPrefix(fbValue(dm, "width="))), int64(atoiPrefix(fbValue(dm, "height="))))
	}
	if st.fbAndroid {
		fl |= pAndroid
	}
	return fl
}
