package main

import (
	"fmt"
	"sort"
	"strings"
)

// ownPrefixes are the adx authors' rules for the model-code schemes of
// the big makers, from their public naming conventions; they override
// the derived and Yauaa prefixes. "" means "no brand": it keeps a shorter
// prefix from firing on a word that is no model code.
var ownPrefixes = map[string]string{
	// Samsung: SM- (since 2013), GT- (before), SC-/SCV/SCG (Japanese
	// carriers), SCH-/SGH-/SPH-/SHV-/SHW- (US and Korean carriers).
	"SM-": "Samsung", "SM-S": "Samsung", "GT-": "Samsung", "SC-": "Samsung", "SCV": "Samsung", "SCG": "Samsung",
	"SCH-": "Samsung", "SGH-": "Samsung", "SPH-": "Samsung", "SHV-": "Samsung", "SHW-": "Samsung",
	"SAMSUNG": "Samsung", "Galaxy": "Samsung", "SEC-": "Samsung", "I9": "Samsung",
	// Huawei's Japanese carrier codes (201HW) and its Ideos and Ascend
	// lines; U8xxx, C8xxx, G5xx…G7xx models.
	"HUAWEI": "Huawei", "IDEOS": "Huawei", "Ascend": "Huawei", "HW-": "Huawei",
	"U8": "Huawei", "U9": "Huawei", "C8": "Huawei", "T8": "Huawei", "Y3": "Huawei", "Y5": "Huawei", "Y6": "Huawei",
	"G5": "Huawei", "G6": "Huawei", "G7": "Huawei", "M65": "Huawei", "M66": "Huawei", "M86": "Huawei", "M88": "Huawei",
	"HONOR": "Honor",
	// Xiaomi: Redmi and POCO lines, Mi names, "M19…"/"M20…" codes (2019-20)
	// and the YYMM-numbered codes since 2021 (xiaomiCodes).
	"Xiaomi": "Xiaomi", "Redmi": "Xiaomi", "POCO": "Xiaomi", "MI ": "Xiaomi", "MIX ": "Xiaomi", "MI-ONE": "Xiaomi",
	"M19": "Xiaomi", "M20": "Xiaomi", "M21": "Xiaomi", "M22": "Xiaomi", "HM NOTE": "Xiaomi", "HM 1": "Xiaomi", "HM 2": "Xiaomi",
	// OPPO: CPH (international), the P???M/P???T Chinese codes
	// (oppoCodes), OPPO itself and its early R/N/U/X/T models.
	"OPPO": "OPPO", "CPH": "OPPO", "OPD": "OPPO", "R80": "OPPO", "R81": "OPPO", "R82": "OPPO", "R83": "OPPO",
	"X90": "OPPO", "U70": "OPPO", "N51": "OPPO", "N52": "OPPO",
	// realme, vivo (V1xxx/V2xxx codes, vivoCodes), OnePlus.
	"realme": "realme", "RMX": "realme", "RMP": "realme", "vivo": "vivo",
	"ONEPLUS": "OnePlus", "ONE A": "OnePlus", "ONE E": "OnePlus", "IN20": "OnePlus", "KB20": "OnePlus", "LE21": "OnePlus",
	"LE22": "OnePlus", "HD19": "OnePlus", "GM19": "OnePlus", "AC20": "OnePlus", "BE20": "OnePlus", "EB21": "OnePlus",
	"NE22": "OnePlus", "PHB110": "OnePlus", "CPH2449": "OnePlus", "CPH2451": "OnePlus", "CPH2581": "OnePlus", "CPH2573": "OnePlus",
	// Motorola: moto, XT codes, DROID, Milestone, Xoom (MZ), MB/ME codes.
	"moto": "Motorola", "motorola": "Motorola", "MOT-": "Motorola", "XT": "Motorola", "DROID": "Motorola",
	"Milestone": "Motorola", "MOT": "Motorola", "MT8": "Motorola", "MT620": "Motorola", "MT680": "Motorola", "MZ5": "Motorola", "MZ6": "Motorola", "XOOM": "Motorola", "MB5": "Motorola", "MB6": "Motorola",
	"MB8": "Motorola", "ME5": "Motorola", "ME6": "Motorola", "ME8": "Motorola", "Razr": "Motorola",
	// Nokia (HMD's TA- codes), Microsoft's Lumia.
	"Nokia": "Nokia", "TA-": "Nokia", "Lumia": "Nokia",
	// LG: LG-, LM-, LGE, LGL/LGMS (US prepaid), VS (Verizon), LS (Sprint).
	"LG": "LG", "LG-": "LG", "LGE": "LG", "L-0": "LG", "Optimus": "LG", "LM-": "LG", "LGM-": "LG", "LGL": "LG", "LGMS": "LG", "LGUS": "LG",
	"VS9": "LG", "VS8": "LG", "LS9": "LG", "LS7": "LG",
	// Amazon: KF (Kindle Fire tablets), AFT (Fire TV), SD4930UR (Fire
	// phone), AEO (Echo).
	"KF": "Amazon", "AFT": "Amazon", "SD4930": "Amazon", "AEO": "Amazon", "Kindle": "Amazon",
	// Google: Pixel, Chromecast; a Nexus is its maker's (nexusMakers).
	"Pixel": "Google", "Nexus": "Google", "Chromecast": "Google",
	// Tecno, Infinix, itel (Transsion): their UAs name the brand.
	"TECNO": "Tecno", "Infinix": "Infinix", "itel": "itel",
	// Lenovo: Lenovo, TB-/TB2-/TB3-/TBx (tablets), YT-/YB- (Yoga),
	// IdeaTab; A and S phones sold as "Lenovo A…".
	"Lenovo": "Lenovo", "LNV-": "Lenovo", "IdeaTab": "Lenovo", "IdeaPad": "Lenovo", "ThinkPad": "Lenovo", "TB-": "Lenovo", "TB2-": "Lenovo",
	"TB3-": "Lenovo", "YT-": "Lenovo", "YT3-": "Lenovo", "YB-": "Lenovo", "YB1-": "Lenovo",
	// Sony: SO- and SOV/SOG/SOL (Japanese carriers), XQ- (since 2019),
	// SGP (tablets), C/D/E/F/G/H/I/J + four digits (Xperia 2012-2019).
	"Sony": "Sony", "Xperia": "Sony", "SO-": "Sony", "SOV": "Sony", "SOG": "Sony", "SOL": "Sony", "XQ-": "Sony", "SGP": "Sony",
	"NW-": "Sony",
	// Sony Ericsson (until 2012): its own name and the LT/MT/ST/SK/WT,
	// X10, E1x, U20, R800 codes.
	"SonyEricsson": "Sony Ericsson", "Sony Ericsson": "Sony Ericsson", "LT1": "Sony Ericsson", "LT2": "Sony Ericsson",
	"MT1": "Sony Ericsson", "MT2": "Sony Ericsson", "ST1": "Sony Ericsson", "ST2": "Sony Ericsson", "SK17": "Sony Ericsson",
	"WT1": "Sony Ericsson", "X10I": "Sony Ericsson", "X10A": "Sony Ericsson", "X10MINI": "Sony Ericsson", "X10S": "Sony Ericsson",
	"E10I": "Sony Ericsson", "E15I": "Sony Ericsson", "E16I": "Sony Ericsson", "U20I": "Sony Ericsson", "U20A": "Sony Ericsson",
	"R800": "Sony Ericsson", "IS11S": "Sony Ericsson", "IS12S": "Sony Ericsson",
	// Xperia models of 2010-11, sold as Sony Ericsson.
	"Xperia X8": "Sony Ericsson", "Xperia X10": "Sony Ericsson", "Xperia Arc": "Sony Ericsson", "Xperia Neo": "Sony Ericsson",
	"Xperia Play": "Sony Ericsson", "Xperia Ray": "Sony Ericsson", "Xperia Mini": "Sony Ericsson", "Xperia Active": "Sony Ericsson",
	"Xperia Pro": "Sony Ericsson", "Xperia X1": "Sony Ericsson", "Xperia X2": "Sony Ericsson",
	// ZTE: ZTE, Blade, nubia (NX codes), Axon.
	"ZTE": "ZTE", "Blade": "ZTE", "nubia": "ZTE", "NX5": "ZTE", "NX6": "ZTE", "Axon": "ZTE", "Racer": "ZTE", "Z7": "ZTE",
	"Z8": "ZTE", "Z9": "ZTE",
	// ASUS: ASUS_ codes (Zenfone, ROG), Zenfone, Transformer, Nexus 7.
	"ASUS": "ASUS", "ASUS_": "ASUS", "Zenfone": "ASUS", "Transformer": "ASUS", "ZB6": "ASUS", "ZS6": "ASUS",
	// HTC: its name (HTC One, HTC Desire, HTC_…), ADR (Verizon), PJ/PG
	// codes.
	"HTC": "HTC", "ADR6": "HTC", "ADR8": "HTC", "PG86": "HTC", "PJ83": "HTC", "Sensation": "HTC", "Wildfire": "HTC",
	"Incredible": "HTC", "Inspire": "HTC", "HD2": "HTC", "HTL2": "HTC",
	// HTC One X, S and V (2012), not OnePlus (Yauaa's "One").
	"One X": "HTC", "OneX": "HTC", "One S": "HTC", "One V": "HTC",
	// Alcatel and TCL: their names, One Touch, the four-digit codes.
	"Alcatel": "Alcatel", "ONE TOUCH": "Alcatel", "TCL": "TCL",
	// Brands of the long tail whose UAs name them.
	"Micromax": "Micromax", "Celkon": "Celkon", "Gionee": "Gionee", "GN": "Gionee", "Fly": "Fly", "IQ1": "Fly", "IQ2": "Fly",
	"IQ4":       "Fly",
	"Prestigio": "Prestigio", "PAP": "Prestigio", "PMP": "Prestigio", "PMT": "Prestigio", "PSP": "Prestigio",
	"Archos": "Archos", "Arnova": "Archos", "AN7": "Archos", "AN8": "Archos", "AN9": "Archos", "AN10": "Archos",
	"AN13": "Archos", "Coby": "Coby", "Kyros": "Coby", "MID7": "Coby", "MID8": "Coby", "MID9": "Coby", "MID1": "Coby",
	"i-mobile": "i-mobile", "iMobile": "i-mobile", "i-STYLE": "i-mobile", "Meizu": "Meizu",
	// Cube (Alldocube) tablets: U<n>GT.
	"Cube": "Cube", "U9GT": "Cube", "U10GT": "Cube", "U16GT": "Cube", "U18GT": "Cube", "U19GT": "Cube", "U20GT": "Cube",
	"U21GT": "Cube", "U22GT": "Cube", "U23GT": "Cube", "U25GT": "Cube", "U26GT": "Cube", "U27GT": "Cube", "U30GT": "Cube",
	"U31GT": "Cube", "U35GT": "Cube", "U39GT": "Cube", "U51GT": "Cube", "U55GT": "Cube", "U65GT": "Cube", "K8GT": "Cube",
	"BlackBerry": "BlackBerry", "BB10": "BlackBerry", "Lava": "Lava", "Karbonn": "Karbonn", "Intex": "Intex",
	"Wiko": "Wiko", "Vodafone": "Vodafone", "Hisense": "Hisense", "Sharp": "Sharp", "Kyocera": "Kyocera",
	"Panasonic": "Panasonic", "Acer": "Acer", "Pantech": "Pantech",
	"ST10": "Trekstor", "ST70": "Trekstor", "ST80": "Trekstor", "ST90": "Trekstor", "JY-": "Jiayu", "MOMO": "Ployer",
	"XELIO": "Odys", "XENO": "Odys", "M-MP": "Mediacom", "M-PP": "Mediacom", "SmartPad": "Mediacom", "TAB-PROTAB": "Point of View",
	// Japanese carriers' codes name the maker first: SH Sharp, P
	// Panasonic, N NEC, F Fujitsu, KY Kyocera (SO Sony, SC Samsung, L LG
	// above).
	"SH-0": "Sharp", "SH01": "Sharp", "SH8": "Sharp", "SHL2": "Sharp", "P-0": "Panasonic", "N-0": "NEC", "F-0": "Fujitsu",
	"KYL2": "Kyocera", "KYV": "Kyocera", "KYY2": "Kyocera",
}

// nexusMakers: a Nexus is filed under the maker that built it, as
// Build.MANUFACTURER, uap-core and WURFL have it.
var nexusMakers = map[string]string{
	"Nexus One": "HTC", "Nexus S": "Samsung", "Galaxy Nexus": "Samsung", "Nexus 4": "LG", "Nexus 5": "LG",
	"Nexus 5X": "LG", "Nexus 6": "Motorola", "Nexus 6P": "Huawei", "Nexus 7": "ASUS", "Nexus 9": "HTC",
	"Nexus 10": "Samsung", "Nexus Player": "ASUS",
}

// xiaomiCodes: Xiaomi's model codes since 2021 start with the year and
// month of approval ("2201117TG": January 2022).
func xiaomiCodes(m map[string]string) {
	for y := 21; y <= 26; y++ {
		for mo := 1; mo <= 12; mo++ {
			m[fmt.Sprintf("%02d%02d", y, mo)] = "Xiaomi"
		}
	}
}

// oppoCodes: OPPO's Chinese models are P, a series letter A-H, a letter,
// then M or T and two digits ("PDEM10", "PCAM00", "PEAT00").
func oppoCodes(m map[string]string) {
	for s := 'A'; s <= 'H'; s++ {
		for c := 'A'; c <= 'Z'; c++ {
			for _, t := range "MT" {
				m[string([]rune{'P', s, c, t})] = "OPPO"
			}
		}
	}
}

// vivoCodes: vivo's models since 2017 are V, the year's two digits and
// two more ("V1901A", "V2027", "V2111A").
func vivoCodes(m map[string]string) {
	for y := 17; y <= 26; y++ {
		for d := 0; d <= 9; d++ {
			m[fmt.Sprintf("V%02d%d", y, d)] = "vivo"
		}
	}
}

// derivedPrefixes finds, in the model codes of the device sources, the
// series prefixes that only one brand uses: the part up to a hyphen
// ("ANE-" of ANE-LX1), or the letters before the first digit ("CPH" of
// CPH2477). A prefix counts when at least minCodes codes carry it, all of
// one brand, and it has at least three characters (two letters are
// shared by too many makers' unlisted codes).
func derivedPrefixes(entries []*entry) map[string]string {
	const minCodes, minLen = 3, 3
	brands := map[string]map[string]int{}
	for _, e := range entries {
		if e.brand == "" || e.brand == "Apple" {
			continue
		}
		for _, tok := range e.tokens {
			p := seriesPrefix(strings.ToUpper(tok))
			if len(p) < minLen {
				continue
			}
			if brands[p] == nil {
				brands[p] = map[string]int{}
			}
			brands[p][e.brand]++
		}
	}
	out := map[string]string{}
	for p, bs := range brands {
		if len(bs) != 1 {
			continue
		}
		for b, n := range bs {
			if n >= minCodes {
				out[p] = b
			}
		}
	}
	return out
}

// seriesPrefix returns the series part of a model code, or "".
func seriesPrefix(code string) string {
	if strings.ContainsAny(code, " _") {
		return ""
	}
	if k := strings.IndexByte(code, '-'); k >= 2 && k <= 5 {
		return code[:k+1]
	}
	n := 0
	for n < len(code) && code[n] >= 'A' && code[n] <= 'Z' {
		n++
	}
	if n >= 2 && n <= 4 && n < len(code) && code[n] >= '0' && code[n] <= '9' {
		return code[:n]
	}
	return ""
}

// brandNamePrefixes makes every brand name a prefix of its own: alone
// ("MICROMAX A110", "SonyEricssonLT15i") and followed by a space, hyphen
// or underscore. Names of four letters or fewer ("Star", "Maze") only
// with a separator, so that they do not fire inside other words.
func brandNamePrefixes(brands []string) map[string]string {
	out := map[string]string{}
	for _, b := range brands {
		for _, n := range []string{b, strings.ReplaceAll(b, " ", "")} {
			if len(n) > 4 {
				out[n] = b
			}
			for _, sep := range []string{" ", "-", "_"} {
				out[n+sep] = b
			}
		}
	}
	return out
}

// mergePrefixes lays the tables over each other, later ones winning, with
// keys upper-cased (the lookup compares upper-cased tokens).
func mergePrefixes(tables ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, t := range tables {
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out[strings.ToUpper(k)] = t[k]
		}
	}
	return out
}
