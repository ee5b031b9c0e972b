package devicedb

import "strings"

// fallback slots: the family fallback devices Lookup uses when neither the
// exact User-Agent nor a model token matched.
const (
	fbNone = iota
	fbAndroid
	fbAndroidPhone
	fbAndroidTablet
	fbIPhone
	fbIPad
	fbIPod
	fbWindows
	fbWindowsPhone
	fbMac
	fbLinux
	fbChromeOS
	fbTizenTV
	fbTizen
	fbWebOS
	fbRoku
	fbFireTV
	fbKindle
	fbAndroidTV
	fbChromecast
	fbAppleTV
	fbAppleWatch
	fbPlayStation
	fbXbox
	fbNintendo
	fbKaiOS
	fbHarmony
	fbQuest
	fbDeX
	fbBot
	fbIOS      // an iOS app that names no device (CFNetwork, Alamofire)
	fbSmartTV  // a TV of no known platform (HbbTV, NetTV, Viera, VIDAA)
	fbSTB      // a set-top box
	fbWearable // a Wear OS watch
	fbCar      // a car's browser or head unit
	fbDisplay  // a smart display or speaker (Nest Hub)
	numFallbacks
)

// fallbackIDs names, per slot, the device ids tried in order; a database
// that lacks them all falls back to generic.
var fallbackIDs = [numFallbacks][]string{
	fbAndroid:       {"generic_android"},
	fbAndroidPhone:  {"generic_android_phone", "generic_android"},
	fbAndroidTablet: {"generic_android_tablet", "generic_android"},
	fbIPhone:        {"apple_iphone"},
	fbIPad:          {"apple_ipad"},
	fbIPod:          {"apple_ipod", "apple_iphone"},
	fbWindows:       {"generic_windows"},
	fbWindowsPhone:  {"generic_windows_phone"},
	fbMac:           {"apple_mac"},
	fbLinux:         {"generic_linux"},
	fbChromeOS:      {"generic_chromeos"},
	fbTizenTV:       {"samsung_tizen_tv", "generic_smarttv"},
	fbTizen:         {"generic_tizen"},
	fbWebOS:         {"lg_webos_tv", "generic_smarttv"},
	fbRoku:          {"roku_generic", "generic_smarttv"},
	fbFireTV:        {"amazon_fire_tv", "generic_android_tv"},
	fbKindle:        {"amazon_kindle_fire", "generic_android_tablet"},
	fbAndroidTV:     {"generic_android_tv", "generic_smarttv"},
	fbChromecast:    {"google_chromecast", "generic_android_tv"},
	fbAppleTV:       {"apple_tv"},
	fbAppleWatch:    {"apple_watch"},
	fbPlayStation:   {"sony_playstation"},
	fbXbox:          {"microsoft_xbox"},
	fbNintendo:      {"nintendo_switch"},
	fbKaiOS:         {"generic_kaios"},
	fbHarmony:       {"generic_harmonyos"},
	fbQuest:         {"meta_quest", "generic_android"},
	fbDeX:           {"samsung_dex", "generic_android"},
	fbBot:           {"generic_bot"},
	fbIOS:           {"generic_ios"},
	fbSmartTV:       {"generic_smarttv"},
	fbSTB:           {"generic_stb", "generic_smarttv"},
	fbWearable:      {"generic_wearable"},
	fbCar:           {"generic_car"},
	fbDisplay:       {"generic_smart_display"},
}

// OpenRTB / AdCOM device types (AdCOM 1.0 list "Device Types").
const (
	DeviceTypeMobileTablet   int8 = 1
	DeviceTypePC             int8 = 2
	DeviceTypeCTV            int8 = 3
	DeviceTypePhone          int8 = 4
	DeviceTypeTablet         int8 = 5
	DeviceTypeConnected      int8 = 6
	DeviceTypeSetTopBox      int8 = 7
	deviceTypeUnknown        int8 = 0
	maxVersionParts               = 3
	maxVersionComponentValue      = 99999
)

// version is a parsed dotted version; n == 0 means unknown.
type version struct {
	p [maxVersionParts]int32
	n uint8
}

// parseVersion reads up to three numeric components separated by '.' or
// '_' from the start of s.
func parseVersion(s string) version {
	var v version
	i := 0
	for v.n < maxVersionParts {
		start := i
		var x int32
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if x < maxVersionComponentValue {
				x = x*10 + int32(s[i]-'0')
			}
			i++
		}
		if i == start {
			break
		}
		v.p[v.n] = x
		v.n++
		if i+1 < len(s) && (s[i] == '.' || s[i] == '_') && s[i+1] >= '0' && s[i+1] <= '9' {
			i++
			continue
		}
		break
	}
	return v
}

// uaInfo is what the parser learnt from the UA and sua. Its strings are
// substrings of the evidence and must not outlive the lookup, except
// brand, which is always a static canonical name (tvMakers, makers), so
// that a Result may carry it.
type uaInfo struct {
	fb         int
	os         string
	osv        string // a static version string that overrides ver (Windows)
	ver        version
	devType    int8
	model      string // a model token candidate from the UA
	hw         string // an Apple hardware id such as "iPhone15,3"
	browser    string
	browserPri int
	safari     version // Safari's Version/ token
	bot        bool    // a product named like a crawler (conventionalBot)
	// desktopSite: a Mac UA from an iOS browser (CriOS, EdgiOS, FxiOS):
	// an iPad, or an iPhone asking for the desktop site.
	desktopSite bool
	// w, h (physical pixels) and pxRatio are the screen an app's UA states
	// (Instagram, Facebook's FBDM), or 0.
	w, h    int64
	pxRatio float64
	brand   string // the brand the UA names outright, or ""
	// brandWord is a word of the UA that may name the brand ("HUAWEI" of
	// "HUAWEI G520-0000 Build/…"): a substring of the evidence, which
	// Lookup reports only as its brand table spells it, never as is.
	brandWord string
}

// parse flags
const (
	pAndroid = 1 << iota
	pLinux
	pIPhone
	pIPad
	pIPod
	pMac
	pWindows
	pWinPhone
	pXbox
	pCrOS
	pPlayStation
	pNintendo
	pTV
	pTizen
	pWebOS
	pRoku
	pKaiOS
	pHarmony
	pAppleTV
	pWatch
	pCrKey
	pMobile
	pTablet
	pSilk
	pDalvik
	pARM     // "ARM" in the comment: Windows RT on NT 6.2/6.3
	pWinCE   // Windows CE and Windows Mobile before Windows Phone
	pQuest   // Meta Quest headsets (Android-based Horizon OS)
	pIOSApp  // Chrome, Edge or Firefox for iOS: a Mac UA from them is an iPad
	pSamsung // Samsung Internet: with a desktop Linux UA, a phone in DeX mode
	pBrowser // a desktop/mobile browser engine product (Chrome, Firefox, Safari)
	pSTB     // a set-top box, Blu-ray player or streaming box
	pCar     // a car: Tesla, CarPlay, Android Automotive
	pWear    // a Wear OS or Tizen watch
	pDisplay // a smart display or speaker
	pPalm    // Palm/HP webOS phones and tablets (not LG's TV webOS)
	pHbbTV   // an HbbTV token: its vendor and model are read after the loop
)

// browsers by priority: a later match with a higher priority wins, so
// "Chrome/… Safari/…" is Chrome and "… Edg/…" is Edge.
var browserNames = [...]struct {
	product, name string
	pri           int
}{
	{"Safari", "Safari", 1},
	{"Chrome", "Chrome", 2},
	{"Firefox", "Firefox", 3},
	{"CriOS", "Chrome", 4},
	{"FxiOS", "Firefox", 4},
	{"Silk", "Silk", 4},
	{"SamsungBrowser", "Samsung Internet", 5},
	{"UCBrowser", "UC Browser", 5},
	{"YaBrowser", "Yandex Browser", 5},
	{"OculusBrowser", "Oculus Browser", 5},
	{"OPR", "Opera", 6},
	{"OPT", "Opera", 6},
	{"EdgiOS", "Edge", 6},
	{"EdgA", "Edge", 6},
	{"Edg", "Edge", 6},
	{"Edge", "Edge", 6},
}

// parseUA fills info from a User-Agent. It allocates nothing.
func parseUA(ua string, info *uaInfo) {
	var (
		tz                   Tokenizer
		fl                   uint64
		andV, iosV, macV     version
		ntV, tizenV, wpV     version
		andCodename          version
		safariV, watchV, tvV version
		harmonyV, kaiV, webV version
		inAndroidComment     bool
		compatible           bool // in a "(compatible; …)" comment
		winLegacy, lastItem  string
		commentModel         string
		buildModel           string
		app                  appState
	)
	tz.Reset(ua)
	prevKind := TokenKind(0)
	for {
		tok, ok := tz.Next()
		if !ok {
			break
		}
		if tok.Kind == TokenProduct {
			inAndroidComment = false
			if app.instagram == 2 {
				app.instagram = 3 // the description ended
			}
		} else if prevKind != TokenComment {
			inAndroidComment = false
		}
		prevKind = tok.Kind
		if tok.Kind == TokenComment {
			it := tok.Name
			if it == "compatible" {
				compatible = true
			} else if k := strings.IndexByte(it, '/'); compatible && k > 0 && botName(it[:k]) {
				info.bot = true // "(compatible; DBot/7.5.6; …)"
			}
			if appComment(&app, info, it, &andV, &commentModel) {
				continue
			}
			fl |= screenComment(info, it)
			switch {
			case hasPrefix(it, "Android") || hasPrefix(it, "Andr0id"):
				// "Andr0id 9": Opera's TV builds spell it so.
				fl |= pAndroid
				if v := parseVersion(trimSpace(strings.TrimLeft(it[7:], " /-:"))); v.n > 0 && andV.n == 0 {
					andV = v
				} else if andCodename.n == 0 {
					andCodename = androidCodename(trimSpace(it[7:]))
				}
				inAndroidComment = true
				continue
			case strings.Contains(it, " Android "):
				// A comment without ';' separators: "Linux U Android 1.1
				// en-us T-Mobile G1 Build/…", "Linux: U: Android 2.2.1: …".
				fl |= pAndroid
				k := strings.Index(it, " Android ")
				if v := parseVersion(trimSpace(strings.TrimLeft(it[k+9:], " /-:"))); v.n > 0 && andV.n == 0 {
					andV = v
				}
				if k := strings.Index(it, " Build/"); k > 0 && buildModel == "" {
					m := it[:k]
					if j := strings.LastIndexAny(m, ":;"); j >= 0 {
						m = trimSpace(m[j+1:])
					}
					buildModel = m
				}
				continue
			case it == "Linux" || hasPrefix(it, "Linux ") || it == "X11" || hasPrefix(it, "Ubuntu") || hasPrefix(it, "Fedora"):
				fl |= pLinux
			case equalFold(it, "iPhone") || hasPrefix(it, "iPhone;"):
				fl |= pIPhone
			case equalFold(it, "iPad"):
				fl |= pIPad
			case hasPrefixFold(it, "iPod"):
				fl |= pIPod
			case hasPrefixFold(it, "CPU ") && likeMacOSX(it) > 0:
				// "CPU iPhone OS 17_4 like Mac OS X", "CPU OS 16_5 like…",
				// "CPU iPhone 6_1_4 like…", "CPU IPhone OS 8_1_3 Like Mac
				// OS X": the last word before " like".
				pre := trimSpace(it[:likeMacOSX(it)])
				iosV = parseVersion(pre[strings.LastIndexByte(pre, ' ')+1:])
				if strings.Contains(pre, "iPhone") || strings.Contains(pre, "IPhone") {
					fl |= pIPhone // an iPod touch also says so; its flag wins
				}
			case hasPrefix(it, "iOS ") || hasPrefix(it, "iPadOS "):
				iosV = parseVersion(it[strings.IndexByte(it, ' ')+1:])
				if it[1] == 'P' {
					fl |= pIPad // "iPadOS 17.1.0": only iPads run it
				}
			case hasPrefix(it, "tvOS "):
				fl |= pAppleTV
				tvV = parseVersion(it[5:])
			case hasPrefix(it, "watchOS "):
				fl |= pWatch
				watchV = parseVersion(it[8:])
			case it == "Macintosh":
				fl |= pMac
			case strings.Contains(it, "Mac OS X") && likeMacOSX(it) < 0:
				fl |= pMac
				if k := strings.Index(it, "Mac OS X "); k >= 0 {
					macV = parseVersion(it[k+9:])
				}
			case hasPrefix(it, "Windows Phone"):
				fl |= pWinPhone
				rest := strings.TrimPrefix(it[13:], " OS")
				wpV = parseVersion(trimSpace(rest))
			case hasPrefix(it, "Windows NT"):
				fl |= pWindows
				ntV = parseVersion(trimSpace(it[10:]))
				if ntV.n == 0 && winLegacy == "" {
					winLegacy = "NT" // "Windows NT" alone
				}
			case strings.Contains(it, "Windows CE") || strings.Contains(it, "WindowsCE"):
				fl |= pWindows | pWinCE
			case it == "ARM":
				fl |= pARM
			case hasPrefix(it, "Quest"):
				fl |= pQuest
			case hasPrefix(it, "Silk/"):
				fl |= pSilk // a Kindle Fire's desktop-site UA: "(Macintosh; …; Silk/1.1.0-80)"
			case hasPrefix(it, "Windows") || hasPrefix(it, "Win9") || hasPrefix(it, "WinNT") || hasPrefix(it, "Win NT") || hasPrefix(it, "Win 9x") ||
				it == "Win32" || it == "Win16" || it == "Win64" || hasPrefix(it, "WOW64"):
				fl |= pWindows
				if winLegacy == "" {
					winLegacy = legacyWindows(it)
				}
			case hasPrefix(it, "Xbox"):
				fl |= pXbox
			case hasPrefix(it, "CrOS"):
				fl |= pCrOS
			case hasPrefixFold(it, "PlayStation"):
				fl |= pPlayStation
			case hasPrefix(it, "Nintendo"):
				fl |= pNintendo
			case hasPrefixFold(it, "SMART-TV") || hasPrefixFold(it, "SmartTV") || hasPrefixFold(it, "Smart TV") ||
				it == "TV" || hasPrefix(it, "Android TV") || hasPrefix(it, "GoogleTV") || hasPrefix(it, "BRAVIA") ||
				hasPrefix(it, "AndroidTV"):
				fl |= pTV
			case hasPrefix(it, "Tizen"):
				fl |= pTizen
				tizenV = parseVersion(trimSpace(it[5:]))
			case hasPrefix(it, "webOS/") || hasPrefix(it, "hpwOS"):
				fl |= pPalm // "(Linux; webOS/2.1.2; U; en-US)": a Palm phone
			case hasPrefix(it, "Web0S") || hasPrefix(it, "webOS") || hasPrefix(it, "WebOS") || hasPrefix(it, "NetCast"):
				fl |= pWebOS | pTV
			case hasPrefix(it, "HarmonyOS") || hasPrefix(it, "OpenHarmony"):
				fl |= pHarmony
				harmonyV = parseVersion(trimSpace(it[strings.IndexByte(it+" ", ' '):]))
			case hasPrefix(it, "Apple TV") || hasPrefix(it, "AppleTV"):
				fl |= pAppleTV
			case hasPrefix(it, "Roku"):
				fl |= pRoku
			case it == "Mobile" || hasPrefix(it, "Mobile "):
				fl |= pMobile
			case it == "Tablet":
				fl |= pTablet
			case hasPrefix(it, "KAIOS") || hasPrefix(it, "KaiOS"):
				fl |= pKaiOS
			case hasPrefix(it, "MSIE ") || hasPrefix(it, "Trident/"):
				setBrowser(info, "Internet Explorer", 5)
				continue
			}
			hw := strings.TrimPrefix(it, "HW ")
			if k := strings.IndexByte(hw, '/'); k > 0 {
				hw = hw[:k] // "iPhone1,2/4.2.1"
			}
			if isAppleHW(hw) {
				info.hw = hw
			} else if hasPrefix(it, "SAMSUNG SM-") && commentModel == "" {
				commentModel = it // Tizen: "(Linux; Tizen 2.3; SAMSUNG SM-R730A)"
			}
			if hasPrefix(it, "iPad ") {
				fl |= pIPad
			}
			if fl&pWinPhone != 0 && !hasPrefix(it, "Trident") && !hasPrefix(it, "IEMobile") && it != "ARM" && it != "Touch" {
				lastItem = it // Windows Phone: "…; NOKIA; Lumia 520)"
			}
			// Model candidates: "MODEL Build/…" anywhere, else the item
			// after "Android N" that is not a flag or a locale.
			if k := strings.Index(it, " Build/"); k > 0 {
				if buildModel == "" {
					buildModel = it[:k]
				}
			} else if hasPrefix(it, "Build/") {
				// "Build/…" alone carries no model.
			} else if inAndroidComment && commentModel == "" && !isNonModelItem(it) {
				if b := makerBrand(it); b != "" {
					info.brand = b // "(Linux; Android 4.1.1; samsung; SGH-T999)"
				} else {
					commentModel = it
				}
			}
			continue
		}
		// Product tokens.
		name := tok.Name
		compatible = false
		if botName(name) {
			info.bot = true
		}
		switch name {
		case "Mobile":
			fl |= pMobile
		case "Tablet":
			fl |= pTablet
		case "Version":
			safariV = parseVersion(tok.Version)
		case "Roku":
			fl |= pRoku
		case "KAIOS", "KaiOS":
			fl |= pKaiOS
			kaiV = parseVersion(tok.Version)
		case "CrKey":
			fl |= pCrKey
		case "AppleTV", "tvOS":
			fl |= pAppleTV
			if name == "tvOS" {
				tvV = parseVersion(tok.Version)
			}
		case "watchOS":
			fl |= pWatch
			watchV = parseVersion(tok.Version)
		case "Dalvik":
			fl |= pDalvik
		case "SMART-TV", "SmartTV":
			fl |= pTV
		case "Tizen":
			fl |= pTizen
			if tizenV.n == 0 {
				tizenV = parseVersion(tok.Version)
			}
		case "Web0S", "webOS", "WebAppManager":
			fl |= pWebOS | pTV
			webV = parseVersion(tok.Version)
		case "Silk":
			fl |= pSilk
		case "Chrome", "Firefox", "Safari":
			fl |= pBrowser
		case "CriOS", "EdgiOS", "FxiOS":
			fl |= pIOSApp
		case "SamsungBrowser":
			fl |= pSamsung
		default:
			if hasPrefix(name, "Silk-Accelerated") {
				fl |= pSilk
			} else if !appProduct(&app, info, name, tok.Version) {
				fl |= screenProduct(info, name, tok.Version)
			}
		}
		for i := range browserNames {
			if browserNames[i].product == name {
				setBrowser(info, browserNames[i].name, browserNames[i].pri)
				break
			}
		}
		if isAppleHW(name) {
			info.hw = name
			if tok.Version == "" {
				info.hw = name
			}
		}
		if hasPrefix(name, "model") && isAppleHW(tok.Version) {
			info.hw = tok.Version
		}
	}
	model := buildModel
	if model == "" {
		model = commentModel
	}
	if k := strings.IndexByte(buildModel, ' '); k > 0 {
		// "<Brand> <model> Build/…": the first word may be the brand; the
		// lookup accepts it only when its brand table names it ("Linux U
		// Android 2.1 … Build/" names none) and reports the table's string.
		info.brandWord = buildModel[:k]
	}
	for _, p := range [...]string{"SAMSUNG ", "Samsung ", "samsung "} {
		if hasPrefix(model, p) {
			model = model[len(p):]
			info.brand = "Samsung" // "SAMSUNG SM-A510S"
		}
	}
	// Dalvik and some vendors append a build after the model: "C5303
	// Sony/12.1.A.0.266", "MI PAD MIUI/4.12.19".
	if k := strings.LastIndexByte(model, ' '); k > 0 && strings.IndexByte(model[k:], '/') > 0 {
		model = model[:k]
	}
	if model == "K" || model == "k" {
		model = "" // Chrome's reduced UA (Android 10; K)
	}
	info.model = model
	fl |= screenModel(info, model)
	if fl&pHbbTV != 0 {
		if i := indexFold(ua, "HbbTV/"); i >= 0 {
			brand, stb, m := hbbTV(ua, i)
			if info.brand == "" {
				info.brand = brand
			}
			if stb {
				fl |= pSTB
			}
			if info.model == "" {
				info.model = m
			}
		}
	}
	fl = app.apply(ua, info, fl, &iosV, &andV, &macV)

	// Family dispatch, most specific first. doc.go lists the device types.
	switch {
	case fl&pXbox != 0:
		info.fb, info.os, info.devType = fbXbox, "Xbox", DeviceTypeConnected
	case fl&pPlayStation != 0:
		info.fb, info.os, info.devType = fbPlayStation, "PlayStation", DeviceTypeConnected
	case fl&pNintendo != 0:
		info.fb, info.devType = fbNintendo, DeviceTypeConnected
	case fl&pCar != 0:
		info.fb, info.devType = fbCar, DeviceTypeConnected
		switch {
		case fl&pAndroid != 0:
			info.os, info.ver = "Android", andV
		case fl&pIPhone != 0 || iosV.n > 0:
			info.os, info.ver, info.brand = "iOS", iosV, "Apple" // CarPlay
		}
	case fl&pAppleTV != 0:
		info.fb, info.os, info.devType = fbAppleTV, "tvOS", DeviceTypeCTV
		info.ver = tvV
		if info.ver.n == 0 {
			info.ver = iosV
		}
	case fl&pWatch != 0:
		info.fb, info.os, info.devType, info.ver = fbAppleWatch, "watchOS", DeviceTypeConnected, watchV
	case fl&pWear != 0:
		info.fb, info.devType = fbWearable, DeviceTypeConnected
		switch {
		case fl&pTizen != 0:
			info.os, info.ver, info.brand = "Tizen", tizenV, "Samsung"
		default:
			info.os, info.ver = "Android", andV
		}
	case fl&pRoku != 0:
		info.fb, info.os, info.devType = fbRoku, "Roku OS", DeviceTypeCTV
	case fl&pTizen != 0:
		info.os, info.ver, info.brand = "Tizen", tizenV, "Samsung"
		if fl&pTV != 0 || fl&pMobile == 0 {
			info.fb, info.devType = fbTizenTV, DeviceTypeCTV
		} else {
			info.fb, info.devType = fbTizen, DeviceTypePhone
		}
	case fl&pPalm != 0:
		// Palm and HP webOS phones; the HP TouchPad is a tablet.
		info.os, info.ver, info.devType = "webOS", webV, DeviceTypePhone
		if strings.Contains(ua, "TouchPad") {
			info.devType = DeviceTypeTablet
		}
	case fl&pWebOS != 0:
		info.fb, info.os, info.devType, info.ver = fbWebOS, "webOS", DeviceTypeCTV, webV
		if fl&pSTB != 0 {
			info.devType = DeviceTypeSetTopBox // LG NetCast Blu-ray players
		}
	case fl&pKaiOS != 0:
		info.fb, info.os, info.devType, info.ver = fbKaiOS, "KaiOS", DeviceTypePhone, kaiV
	case fl&pHarmony != 0:
		info.fb, info.os, info.ver = fbHarmony, "HarmonyOS", harmonyV
		info.devType = DeviceTypePhone
		if fl&pTablet != 0 {
			info.devType = DeviceTypeTablet
		}
	case fl&pCrKey != 0 && info.brand != "" && info.brand != "Google":
		// Google Cast built into a TV: "CrKey/1.42.183786 SmartCast/2.3 VIZIO".
		info.fb, info.devType = fbSmartTV, DeviceTypeCTV
	case fl&pDisplay != 0:
		info.fb, info.devType, info.brand = fbDisplay, DeviceTypeConnected, "Google"
	case fl&pCrKey != 0:
		info.fb, info.os, info.devType, info.ver = fbChromecast, "Android", DeviceTypeCTV, andV
	case fl&pWinPhone != 0:
		info.fb, info.os, info.devType, info.ver = fbWindowsPhone, "Windows", DeviceTypePhone, wpV
		if info.model == "" {
			info.model = lastItem
		}
	case fl&pWinCE != 0:
		info.fb, info.os, info.osv, info.devType = fbWindowsPhone, "Windows", "CE", DeviceTypePhone
	case fl&pAndroid != 0 || hasPrefix(model, "KF") || hasPrefix(model, "AFT") || fl&pSilk != 0 || fl&pQuest != 0:
		// Silk in a Mac UA is a Kindle Fire asking for the desktop site.
		info.os, info.ver = "Android", andV
		if info.ver.n == 0 {
			info.ver = andCodename
		}
		switch {
		case fl&pQuest != 0:
			info.fb, info.devType = fbQuest, DeviceTypeConnected
		case hasPrefix(model, "AFT"):
			info.fb, info.os, info.devType = fbFireTV, "Fire OS", DeviceTypeCTV
		case hasPrefix(model, "KF") || fl&pSilk != 0:
			info.fb, info.os, info.devType = fbKindle, "Fire OS", DeviceTypeTablet
		case fl&pSTB != 0:
			info.fb, info.devType = fbAndroidTV, DeviceTypeSetTopBox
		case fl&pTV != 0:
			info.fb, info.devType = fbAndroidTV, DeviceTypeCTV
		case fl&pMobile != 0:
			info.fb, info.devType = fbAndroidPhone, DeviceTypePhone
		case fl&pTablet != 0 || fl&pBrowser != 0 && fl&pDalvik == 0:
			// Chrome and Firefox for Android say "Mobile" on phones only.
			info.fb, info.devType = fbAndroidTablet, DeviceTypeTablet
		default:
			info.fb, info.devType = fbAndroid, DeviceTypeMobileTablet
		}
	case fl&pIPad != 0:
		info.fb, info.os, info.devType, info.ver = fbIPad, "iOS", DeviceTypeTablet, iosV
		if iosV.n > 0 && iosV.p[0] >= 13 {
			info.os = "iPadOS"
		}
	case fl&pIPod != 0:
		info.fb, info.os, info.devType, info.ver = fbIPod, "iOS", DeviceTypePhone, iosV
	case fl&pIPhone != 0:
		info.fb, info.os, info.devType, info.ver = fbIPhone, "iOS", DeviceTypePhone, iosV
	case iosV.n > 0 && fl&pMac == 0:
		// An app that names iOS but no device (CFNetwork, Alamofire):
		// phone or tablet, the UA cannot tell.
		info.fb, info.os, info.devType, info.ver = fbIOS, "iOS", DeviceTypeMobileTablet, iosV
		info.brand = "Apple"
	case fl&pMac != 0 && fl&pIOSApp != 0:
		// Chrome, Edge and Firefox for iOS send a Mac UA for the desktop
		// site, the default on iPads since iPadOS 13; the UA then carries
		// no OS version.
		info.fb, info.os, info.devType = fbIPad, "iPadOS", DeviceTypeTablet
		info.desktopSite = true
	case fl&pSTB != 0:
		info.fb, info.devType = fbSTB, DeviceTypeSetTopBox
	case fl&pTV != 0:
		info.fb, info.devType = fbSmartTV, DeviceTypeCTV
	case fl&pWindows != 0:
		info.fb, info.os, info.devType = fbWindows, "Windows", DeviceTypePC
		info.osv, info.ver = windowsVersion(ntV, fl&pARM != 0)
		if info.osv == "" && info.ver.n == 0 {
			info.osv = winLegacy
		}
	case fl&pCrOS != 0:
		info.fb, info.os, info.devType = fbChromeOS, "Chrome OS", DeviceTypePC
	case fl&pMac != 0:
		info.fb, info.os, info.devType, info.ver = fbMac, "macOS", DeviceTypePC, macV
	case fl&pLinux != 0 && fl&pSamsung != 0:
		// Samsung Internet exists only on Android; its desktop UA ("X11;
		// Linux x86_64") is Samsung DeX or "desktop site" on a Galaxy.
		info.fb, info.os, info.devType = fbDeX, "Android", DeviceTypePC
	case fl&pLinux != 0:
		info.fb, info.os, info.devType = fbLinux, "Linux", DeviceTypePC
	}
	// Safari on iOS 26 and later freezes the OS token at 18_x and reports
	// the real release in Version/.
	info.safari = safariV
	// Without "CPU … OS n_n" (the first iPhones' "CPU like Mac OS X")
	// Safari's Version/ is the best estimate of the release.
	if (info.os == "iOS" || info.os == "iPadOS") && safariV.n > 0 &&
		(info.ver.n > 0 && info.ver.p[0] == 18 && safariV.p[0] >= 26 || info.ver.n == 0) {
		info.ver = safariV
	}
}

// likeMacOSX returns the index of " like Mac OS X" in a comment item, in
// either case of "like" (Facebook's iOS 8 UAs say "Like"), or -1. Cheaper
// than indexFold on the hot path: two exact searches.
func likeMacOSX(it string) int {
	if k := strings.Index(it, " like Mac OS X"); k >= 0 {
		return k
	}
	return strings.Index(it, " Like Mac OS X")
}

func setBrowser(info *uaInfo, name string, pri int) {
	if pri > info.browserPri {
		info.browser, info.browserPri = name, pri
	}
}

// androidCodename maps the dessert names of early Android UAs ("Android
// Donut") to their release.
func androidCodename(s string) version {
	for _, c := range [...]struct {
		name string
		v    version
	}{
		{"Cupcake", version{p: [3]int32{1, 5}, n: 2}},
		{"Donut", version{p: [3]int32{1, 6}, n: 2}},
		{"Eclair", version{p: [3]int32{2, 1}, n: 2}},
		{"Froyo", version{p: [3]int32{2, 2}, n: 2}},
		{"Gingerbread", version{p: [3]int32{2, 3}, n: 2}},
		{"Honeycomb", version{p: [3]int32{3}, n: 1}},
	} {
		if hasPrefixFold(s, c.name) {
			return c.v
		}
	}
	return version{}
}

// isAppleHW reports whether s looks like "iPhone15,3", "iPad13,1",
// "iPod9,1", "Watch6,2" or "AppleTV11,1".
func isAppleHW(s string) bool {
	var rest string
	switch {
	case hasPrefix(s, "iPhone"):
		rest = s[6:]
	case hasPrefix(s, "iPad"):
		rest = s[4:]
	case hasPrefix(s, "iPod"):
		rest = s[4:]
	case hasPrefix(s, "Watch"):
		rest = s[5:]
	case hasPrefix(s, "AppleTV"):
		rest = s[7:]
	default:
		return false
	}
	comma := strings.IndexByte(rest, ',')
	if comma <= 0 || comma == len(rest)-1 || len(rest) > 8 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if i != comma && (rest[i] < '0' || rest[i] > '9') {
			return false
		}
	}
	return true
}

// isNonModelItem reports comment items that follow "Android N" but are not
// a model: flags, locales, "wv", "rv:…".
func isNonModelItem(it string) bool {
	switch it {
	case "U", "I", "N", "wv", "Mobile", "Tablet", "TV", "Linux", "K", "x86_64", "arm", "arm64", "aarch64", "armv7l", "armv8l":
		return true
	}
	if hasPrefix(it, "rv:") || hasPrefix(it, "Android") || hasPrefix(it, "Linux") {
		return true
	}
	// Locales: "en", "en-us", "en_GB", "zh-Hans-CN".
	if len(it) == 2 || len(it) == 5 && (it[2] == '-' || it[2] == '_') && isLetters(it[:2]) && isLetters(it[3:]) {
		return isLetters(it[:2])
	}
	return false
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := lower(s[i])
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
