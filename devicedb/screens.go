package devicedb

import "strings"

// Screens other than phones, tablets and PCs: TVs, set-top boxes,
// consoles, wearables, cars and smart displays. doc.go gives the device
// type each is reported as.

// tvMakers are the makers of TVs and set-top boxes that UAs name (HbbTV's
// vendor field, a product or a model prefix), matched ignoring case; stb
// marks makers of set-top boxes only.
var tvMakers = [...]struct {
	name, brand string
	stb         bool
}{
	{"Samsung", "Samsung", false}, {"LGE", "LG", false}, {"LG", "LG", false}, {"Sony", "Sony", false},
	{"Philips", "Philips", false}, {"Panasonic", "Panasonic", false}, {"Toshiba", "Toshiba", false},
	{"Loewe", "Loewe", false}, {"Hisense", "Hisense", false}, {"Vestel", "Vestel", false},
	{"TechniSat", "TechniSat", false}, {"Grundig", "Grundig", false}, {"Sharp", "Sharp", false},
	{"Telefunken", "Telefunken", false}, {"Metz", "Metz", false}, {"Medion", "Medion", false},
	{"Thomson", "Thomson", false}, {"TCL", "TCL", false}, {"Hitachi", "Hitachi", false},
	{"Finlux", "Finlux", false}, {"JVC", "JVC", false}, {"Vizio", "Vizio", false}, {"Xiaomi", "Xiaomi", false},
	{"Skyworth", "Skyworth", false}, {"Haier", "Haier", false}, {"Arcelik", "Arcelik", false}, {"Beko", "Beko", false},
	{"Humax", "Humax", true}, {"Kathrein", "Kathrein", true}, {"VU+", "VU+", true}, {"inverto", "Inverto", true},
	{"DMM", "Dream Multimedia", true}, {"Dreambox", "Dream Multimedia", true}, {"INTEK", "Intek", true},
	{"Arris", "Arris", true}, {"Technicolor", "Technicolor", true}, {"Sagemcom", "Sagemcom", true},
	{"Kaon", "Kaon", true}, {"Zgemma", "Zgemma", true}, {"Octagon", "Octagon", true},
}

// tvMaker returns the canonical brand of a TV or set-top box maker, and
// whether it makes set-top boxes only; "" when the table lacks it.
func tvMaker(s string) (string, bool) {
	s = trimSpace(s)
	for _, m := range tvMakers {
		if equalFold(s, m.name) {
			return m.brand, m.stb
		}
	}
	return "", false
}

// hbbTV reads the device fields of an HbbTV User-Agent token (ETSI TS
// 102 796, 7.3.2.4: "HbbTV/1.1.1 (<capabilities>; <vendorName>;
// <modelName>; <softwareVersion>; <hardwareVersion>; <reserved>)") that
// starts at ua[i:]: the maker's brand, whether it makes set-top boxes,
// and the model.
func hbbTV(ua string, i int) (brand string, stb bool, model string) {
	s := ua[i:]
	k := strings.IndexByte(s, '(')
	if k < 0 || k > 16 {
		return "", false, "" // "HbbTV/1.1.1;CE-HTML/1.0": no fields
	}
	s = s[k+1:]
	if e := strings.IndexByte(s, ')'); e >= 0 {
		s = s[:e]
	}
	for f := 0; f < 3; f++ {
		field := s
		if e := strings.IndexByte(s, ';'); e >= 0 {
			field, s = s[:e], s[e+1:]
		} else {
			s = ""
		}
		switch f {
		case 1:
			brand, stb = tvMaker(field)
		case 2:
			model = trimSpace(field)
			if isPlaceholderModel(model) {
				model = "" // Hisense VIDAA: "(+DRM;Hisense;SmartTV;…)"
			}
		}
	}
	return brand, stb, model
}

// isPlaceholderModel reports whether an HbbTV model field is a word some
// makers send in place of a model ("SmartTV", "HBBTV"): the form then
// claims no model, and the lookup reports none.
func isPlaceholderModel(s string) bool {
	for _, w := range [...]string{"SmartTV", "Smart TV", "HbbTV", "TV", "DTV"} {
		if equalFold(s, w) {
			return true
		}
	}
	return false
}

// screenProduct reads a product token that names a TV, set-top box, car
// or smart display, sets the brand it names and returns the parse flags.
func screenProduct(info *uaInfo, name, ver string) uint64 {
	switch name {
	case "HbbTV":
		return pTV | pHbbTV
	case "NETTV", "NetTV", "PhilipsTV":
		info.brand = "Philips"
		return pTV
	case "Viera":
		info.brand = "Panasonic"
		return pTV
	case "Hisense", "VIDAA", "Vidaa":
		info.brand = "Hisense"
		return pTV
	case "SmartCast", "VIZIO", "Vizio":
		info.brand = "Vizio"
		return pTV
	case "SmartTvA", "VSTVB", "OMI", "InettvBrowser", "DTVNetBrowser", "Large":
		return pTV
	case "Model":
		// Opera's TV builds: "Model/Sony-BRAVIA-4K-UR2", "Model/Vestel-MB211".
		if k := strings.IndexByte(ver, '-'); k > 0 {
			if b, stb := tvMaker(ver[:k]); b != "" {
				info.brand = b
				if stb {
					return pSTB
				}
			}
		}
		return pTV
	case "SkyQ":
		info.brand = "Sky"
		return pSTB
	case "Freebox":
		info.brand = "Free"
		return pSTB
	case "Comcast":
		info.brand = "Comcast"
		return pSTB
	case "WebTV":
		return pSTB
	case "QtCarBrowser", "Tesla":
		info.brand = "Tesla"
		return pCar
	case "DeviceType":
		// Google Cast: "CrKey/1.56.500000 DeviceType/SmartSpeaker".
		switch ver {
		case "SmartSpeaker", "SmartDisplay":
			return pDisplay
		}
	case "webOSBrowser", "wOSBrowser":
		return pPalm
	case "NintendoBrowser":
		return pNintendo
	}
	if hasPrefix(name, "NetCast.Media") {
		info.brand = "LG"
		return pWebOS | pSTB // LG Blu-ray players and home cinemas
	}
	if hasPrefix(name, "NetCast") {
		return pWebOS | pTV
	}
	if hasPrefix(name, "Roku") {
		return pRoku // "Roku4640X/DVP-7.70"
	}
	return 0
}

// screenComment reads a comment item that names a TV, set-top box,
// console, wearable, car or smart display and returns the parse flags.
func screenComment(info *uaInfo, it string) uint64 {
	if it == "" {
		return 0
	}
	switch lower(it[0]) {
	case 'a':
		if strings.Contains(it, "Automotive") {
			return pCar // "Android Automotive", "Automotive"
		}
		if hasPrefix(it, "Apple Watch") {
			return pWatch
		}
		if hasPrefixFold(it, "AQUOS-TV") {
			info.brand = "Sharp"
			return pTV
		}
	case 'c':
		if it == "CarPlay" {
			return pCar
		}
	case 'd':
		if it == "DTV" || it == "DirectFB" {
			return pTV // Japanese digital TVs; LG NetCast
		}
	case 'f':
		if it == "Fuchsia" {
			return pDisplay // Google Nest Hub
		}
	case 'h':
		if hasPrefix(it, "HbbTV") {
			return pTV | pHbbTV
		}
		if hasPrefixFold(it, "Hisense") || hasPrefix(it, "HiSmartTV") {
			info.brand = "Hisense"
			return pTV
		}
	case 'n':
		if hasPrefixFold(it, "NetTV") || hasPrefix(it, "NETRANGE") {
			return pTV
		}
		if strings.Contains(it, "Nintendo") {
			return pNintendo // "New Nintendo 3DS like iPhone"
		}
	case 'p':
		if strings.Contains(it, "PlayStation") {
			return pPlayStation // "PSP (PlayStation Portable)"
		}
	case 's':
		if it == "Sky Q" {
			info.brand = "Sky"
			return pSTB
		}
		if it == "SMART-TV" || it == "SmartHub" {
			info.brand = "Samsung" // Samsung's spelling, Tizen and Orsay alike
			return pTV
		}
		if hasPrefixFold(it, "Smart TV") || hasPrefixFold(it, "SmartTV") || hasPrefixFold(it, "SMART-TV") {
			return pTV
		}
	case 't':
		if hasPrefix(it, "TSBNetTV") {
			info.brand = "Toshiba"
			return pTV
		}
	case 'v':
		if hasPrefixFold(it, "VIDAA") {
			info.brand = "Hisense"
			return pTV
		}
		if equalFold(it, "Viera") {
			info.brand = "Panasonic"
			return pTV
		}
	case 'w':
		if it == "Wear OS" {
			return pWear
		}
	case '(':
		if hasPrefix(it, "(SonyBDP") {
			info.brand = "Sony"
			return pSTB // Sony Blu-ray players
		}
	}
	if k := strings.Index(it, "TV"); k >= 0 && (hasSuffix(it[:k], "Android ") || hasSuffix(it[:k], "Android") || hasSuffix(it[:k], "Smart")) {
		return pTV // "SHIELD Android TV Build/…", "AndroidTV", "Hisense SmartTV"
	}
	return 0
}

// screenModel reads the Android model token (Build.MODEL) for the words
// that make it a TV, a box, a watch or a car, and the brands they name.
func screenModel(info *uaInfo, model string) uint64 {
	if model == "" {
		return 0
	}
	var fl uint64
	switch {
	case hasPrefix(model, "BRAVIA"):
		info.brand, fl = "Sony", pTV
	case hasPrefixFold(model, "MiTV"):
		info.brand, fl = "Xiaomi", pTV
	case hasPrefixFold(model, "MIBOX"):
		info.brand, fl = "Xiaomi", pTV // a streaming player, as Fire TV and Chromecast
	case hasPrefix(model, "Freebox"):
		info.brand, fl = "Free", pSTB
	case hasPrefixFold(model, "AQUOS-TV"):
		info.brand, fl = "Sharp", pTV
	case hasPrefix(model, "SHIELD"):
		fl = pTV
	case hasPrefix(model, "SM-R") && len(model) >= 7 && model[4] >= '0' && model[4] <= '9':
		fl = pWear // Galaxy Watch and Gear: SM-R800, SM-R730A
	default:
		fl = modelWords(model)
	}
	if fl != 0 && info.brand == "" {
		if k := strings.IndexByte(model, ' '); k > 0 {
			if b, _ := tvMaker(model[:k]); b != "" {
				info.brand = b // "Panasonic TV", "LG Android TV"
			}
		}
	}
	return fl
}

// modelWords reads the words of a model name (runs of letters and
// digits) in one pass: a word starting with "Watch" makes it a wearable
// ("Pixel Watch", "Galaxy Watch5"), "STB", "TVBOX" or "TV BOX" a set-top
// box, "TV" a TV ("Panasonic TV", "LG Android TV"; not "CloudPad 701tv"
// nor "TVA301").
func modelWords(model string) uint64 {
	var fl uint64
	prevTV := false
	for i := 0; i < len(model); {
		for i < len(model) && !alnum(model[i]) {
			i++
		}
		start := i
		for i < len(model) && alnum(model[i]) {
			i++
		}
		w := model[start:i]
		switch {
		case w == "":
		case hasPrefix(w, "Watch"):
			return pWear
		case w == "STB" || equalFold(w, "TVBOX") || prevTV && equalFold(w, "BOX"):
			return pSTB
		case equalFold(w, "TV"):
			fl = pTV
		}
		prevTV = equalFold(w, "TV")
	}
	return fl
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
