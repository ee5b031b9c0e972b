package main

// curated lists current devices by public specification facts (maker,
// marketing name, model codes, panel resolution, density). These facts are
// written by the adx authors; see SOURCES.md.
type spec struct {
	brand, name string
	typ         int // AdCOM device type
	w, h, ppi   int
	dpr         float64
	tokens      []string // Build.MODEL / hardware ids
}

// sm expands Samsung model stems into the regional variants plus the stem
// itself (lookup trims unknown suffixes down to the stem).
func sm(stems ...string) []string {
	var out []string
	for _, s := range stems {
		out = append(out, s)
		for _, v := range []string{"B", "B/DS", "U", "U1", "W", "N", "0", "E", "F", "M", "FN"} {
			out = append(out, s+v)
		}
	}
	return out
}

var curated = []spec{
	// Apple iPhone (identifiers: ios-devices.json up to iPhone15,3; later ones added here).
	{"Apple", "iPhone 11", 4, 828, 1792, 326, 2, []string{"iPhone12,1"}},
	{"Apple", "iPhone 11 Pro", 4, 1125, 2436, 458, 3, []string{"iPhone12,3"}},
	{"Apple", "iPhone 11 Pro Max", 4, 1242, 2688, 458, 3, []string{"iPhone12,5"}},
	{"Apple", "iPhone SE (2nd generation)", 4, 750, 1334, 326, 2, []string{"iPhone12,8"}},
	{"Apple", "iPhone 12 mini", 4, 1080, 2340, 476, 3, []string{"iPhone13,1"}},
	{"Apple", "iPhone 12", 4, 1170, 2532, 460, 3, []string{"iPhone13,2"}},
	{"Apple", "iPhone 12 Pro", 4, 1170, 2532, 460, 3, []string{"iPhone13,3"}},
	{"Apple", "iPhone 12 Pro Max", 4, 1284, 2778, 458, 3, []string{"iPhone13,4"}},
	{"Apple", "iPhone 13 mini", 4, 1080, 2340, 476, 3, []string{"iPhone14,4"}},
	{"Apple", "iPhone 13", 4, 1170, 2532, 460, 3, []string{"iPhone14,5"}},
	{"Apple", "iPhone 13 Pro", 4, 1170, 2532, 460, 3, []string{"iPhone14,2"}},
	{"Apple", "iPhone 13 Pro Max", 4, 1284, 2778, 458, 3, []string{"iPhone14,3"}},
	{"Apple", "iPhone SE (3rd generation)", 4, 750, 1334, 326, 2, []string{"iPhone14,6"}},
	{"Apple", "iPhone 14", 4, 1170, 2532, 460, 3, []string{"iPhone14,7"}},
	{"Apple", "iPhone 14 Plus", 4, 1284, 2778, 458, 3, []string{"iPhone14,8"}},
	{"Apple", "iPhone 14 Pro", 4, 1179, 2556, 460, 3, []string{"iPhone15,2"}},
	{"Apple", "iPhone 14 Pro Max", 4, 1290, 2796, 460, 3, []string{"iPhone15,3"}},
	{"Apple", "iPhone 15", 4, 1179, 2556, 460, 3, []string{"iPhone15,4"}},
	{"Apple", "iPhone 15 Plus", 4, 1290, 2796, 460, 3, []string{"iPhone15,5"}},
	{"Apple", "iPhone 15 Pro", 4, 1179, 2556, 460, 3, []string{"iPhone16,1"}},
	{"Apple", "iPhone 15 Pro Max", 4, 1290, 2796, 460, 3, []string{"iPhone16,2"}},
	{"Apple", "iPhone 16", 4, 1179, 2556, 460, 3, []string{"iPhone17,3"}},
	{"Apple", "iPhone 16 Plus", 4, 1290, 2796, 460, 3, []string{"iPhone17,4"}},
	{"Apple", "iPhone 16 Pro", 4, 1206, 2622, 460, 3, []string{"iPhone17,1"}},
	{"Apple", "iPhone 16 Pro Max", 4, 1320, 2868, 460, 3, []string{"iPhone17,2"}},
	{"Apple", "iPhone 16e", 4, 1170, 2532, 460, 3, []string{"iPhone17,5"}},
	// Apple iPad.
	{"Apple", "iPad (9th generation)", 5, 1620, 2160, 264, 2, []string{"iPad12,1", "iPad12,2"}},
	{"Apple", "iPad (10th generation)", 5, 1640, 2360, 264, 2, []string{"iPad13,18", "iPad13,19"}},
	{"Apple", "iPad Air (5th generation)", 5, 1640, 2360, 264, 2, []string{"iPad13,16", "iPad13,17"}},
	{"Apple", "iPad Air 11-inch (M2)", 5, 1640, 2360, 264, 2, []string{"iPad14,8", "iPad14,9"}},
	{"Apple", "iPad Air 13-inch (M2)", 5, 2048, 2732, 264, 2, []string{"iPad14,10", "iPad14,11"}},
	{"Apple", "iPad mini (6th generation)", 5, 1488, 2266, 326, 2, []string{"iPad14,1", "iPad14,2"}},
	{"Apple", "iPad mini (A17 Pro)", 5, 1488, 2266, 326, 2, []string{"iPad16,1", "iPad16,2"}},
	{"Apple", "iPad Pro (11-inch) (3rd generation)", 5, 1668, 2388, 264, 2, []string{"iPad13,4", "iPad13,5", "iPad13,6", "iPad13,7"}},
	{"Apple", "iPad Pro (11-inch) (4th generation)", 5, 1668, 2388, 264, 2, []string{"iPad14,3", "iPad14,4"}},
	{"Apple", "iPad Pro (12.9-inch) (5th generation)", 5, 2048, 2732, 264, 2, []string{"iPad13,8", "iPad13,9", "iPad13,10", "iPad13,11"}},
	{"Apple", "iPad Pro (12.9-inch) (6th generation)", 5, 2048, 2732, 264, 2, []string{"iPad14,5", "iPad14,6"}},
	{"Apple", "iPad Pro 11-inch (M4)", 5, 1668, 2420, 264, 2, []string{"iPad16,3", "iPad16,4"}},
	{"Apple", "iPad Pro 13-inch (M4)", 5, 2064, 2752, 264, 2, []string{"iPad16,5", "iPad16,6"}},
	// Samsung Galaxy S.
	{"Samsung", "Galaxy S21 5G", 4, 1080, 2400, 421, 2.625, sm("SM-G991")},
	{"Samsung", "Galaxy S21+ 5G", 4, 1080, 2400, 394, 2.625, sm("SM-G996")},
	{"Samsung", "Galaxy S21 Ultra 5G", 4, 1440, 3200, 515, 3.5, sm("SM-G998")},
	{"Samsung", "Galaxy S21 FE 5G", 4, 1080, 2340, 411, 2.625, sm("SM-G990")},
	{"Samsung", "Galaxy S22", 4, 1080, 2340, 425, 2.625, sm("SM-S901")},
	{"Samsung", "Galaxy S22+", 4, 1080, 2340, 393, 2.625, sm("SM-S906")},
	{"Samsung", "Galaxy S22 Ultra", 4, 1440, 3088, 500, 3.5, sm("SM-S908")},
	{"Samsung", "Galaxy S23", 4, 1080, 2340, 425, 3, sm("SM-S911")},
	{"Samsung", "Galaxy S23+", 4, 1080, 2340, 393, 3, sm("SM-S916")},
	{"Samsung", "Galaxy S23 Ultra", 4, 1440, 3088, 500, 3.5, sm("SM-S918")},
	{"Samsung", "Galaxy S23 FE", 4, 1080, 2340, 403, 2.625, sm("SM-S711")},
	{"Samsung", "Galaxy S24", 4, 1080, 2340, 416, 3, sm("SM-S921")},
	{"Samsung", "Galaxy S24+", 4, 1440, 3120, 513, 3.5, sm("SM-S926")},
	{"Samsung", "Galaxy S24 Ultra", 4, 1440, 3120, 505, 3.5, sm("SM-S928")},
	{"Samsung", "Galaxy S24 FE", 4, 1080, 2340, 385, 2.625, sm("SM-S721")},
	{"Samsung", "Galaxy Z Flip5", 4, 1080, 2640, 425, 2.625, sm("SM-F731")},
	{"Samsung", "Galaxy Z Fold5", 4, 1812, 2176, 373, 2.625, sm("SM-F946")},
	// Samsung Galaxy A.
	{"Samsung", "Galaxy A12", 4, 720, 1600, 264, 2, sm("SM-A125")},
	{"Samsung", "Galaxy A13", 4, 1080, 2408, 400, 2.625, sm("SM-A135")},
	{"Samsung", "Galaxy A14", 4, 1080, 2408, 400, 2.625, sm("SM-A145")},
	{"Samsung", "Galaxy A14 5G", 4, 1080, 2408, 400, 2.625, sm("SM-A146")},
	{"Samsung", "Galaxy A15", 4, 1080, 2340, 396, 2.625, sm("SM-A155")},
	{"Samsung", "Galaxy A15 5G", 4, 1080, 2340, 396, 2.625, sm("SM-A156")},
	{"Samsung", "Galaxy A16 5G", 4, 1080, 2340, 385, 2.625, sm("SM-A166")},
	{"Samsung", "Galaxy A25 5G", 4, 1080, 2340, 396, 2.625, sm("SM-A256")},
	{"Samsung", "Galaxy A32", 4, 1080, 2400, 411, 2.625, sm("SM-A325")},
	{"Samsung", "Galaxy A34 5G", 4, 1080, 2340, 390, 2.625, sm("SM-A346")},
	{"Samsung", "Galaxy A35 5G", 4, 1080, 2340, 390, 2.625, sm("SM-A356")},
	{"Samsung", "Galaxy A51", 4, 1080, 2400, 405, 2.625, sm("SM-A515")},
	{"Samsung", "Galaxy A52", 4, 1080, 2400, 405, 2.625, sm("SM-A525")},
	{"Samsung", "Galaxy A52 5G", 4, 1080, 2400, 405, 2.625, sm("SM-A526")},
	{"Samsung", "Galaxy A53 5G", 4, 1080, 2400, 405, 2.625, sm("SM-A536")},
	{"Samsung", "Galaxy A54 5G", 4, 1080, 2340, 403, 2.625, sm("SM-A546")},
	{"Samsung", "Galaxy A55 5G", 4, 1080, 2340, 390, 2.625, sm("SM-A556")},
	{"Samsung", "Galaxy A71", 4, 1080, 2400, 393, 2.625, sm("SM-A715")},
	{"Samsung", "Galaxy Tab S8", 5, 1600, 2560, 276, 2, sm("SM-X700", "SM-X706")},
	{"Samsung", "Galaxy Tab S9", 5, 1600, 2560, 274, 2, sm("SM-X710", "SM-X716")},
	{"Samsung", "Galaxy Tab A9+", 5, 1200, 1920, 225, 1.5, sm("SM-X210", "SM-X216")},
	// Google Pixel (Build.MODEL is the marketing name).
	{"Google", "Pixel 6", 4, 1080, 2400, 411, 2.625, []string{"Pixel 6"}},
	{"Google", "Pixel 6 Pro", 4, 1440, 3120, 512, 3.5, []string{"Pixel 6 Pro"}},
	{"Google", "Pixel 6a", 4, 1080, 2400, 429, 2.625, []string{"Pixel 6a"}},
	{"Google", "Pixel 7", 4, 1080, 2400, 416, 2.625, []string{"Pixel 7"}},
	{"Google", "Pixel 7 Pro", 4, 1440, 3120, 512, 3.5, []string{"Pixel 7 Pro"}},
	{"Google", "Pixel 7a", 4, 1080, 2400, 429, 2.625, []string{"Pixel 7a"}},
	{"Google", "Pixel 8", 4, 1080, 2400, 428, 2.625, []string{"Pixel 8"}},
	{"Google", "Pixel 8 Pro", 4, 1344, 2992, 489, 3, []string{"Pixel 8 Pro"}},
	{"Google", "Pixel 8a", 4, 1080, 2400, 430, 2.625, []string{"Pixel 8a"}},
	{"Google", "Pixel 9", 4, 1080, 2424, 422, 2.625, []string{"Pixel 9"}},
	{"Google", "Pixel 9 Pro", 4, 1280, 2856, 495, 3, []string{"Pixel 9 Pro"}},
	{"Google", "Pixel 9 Pro XL", 4, 1344, 2992, 486, 3, []string{"Pixel 9 Pro XL"}},
	{"Google", "Pixel 9 Pro Fold", 4, 2076, 2152, 373, 2.625, []string{"Pixel 9 Pro Fold"}},
	{"Google", "Pixel Tablet", 5, 1600, 2560, 276, 2, []string{"Pixel Tablet"}},
	// Xiaomi, Redmi, POCO.
	{"Xiaomi", "Redmi Note 11", 4, 1080, 2400, 409, 2.625, []string{"2201117TG", "2201117TY", "2201117TL"}},
	{"Xiaomi", "Redmi Note 12", 4, 1080, 2400, 395, 2.625, []string{"23021RAA2Y", "23021RAAEG", "23028RA60L"}},
	{"Xiaomi", "Redmi Note 12 Pro 5G", 4, 1080, 2400, 395, 2.625, []string{"22101316G", "22101316C"}},
	{"Xiaomi", "Redmi Note 13", 4, 1080, 2400, 395, 2.625, []string{"23129RAA4G", "23124RA7EO"}},
	{"Xiaomi", "Redmi Note 13 Pro", 4, 1220, 2712, 446, 2.75, []string{"23117RA68G", "2312DRA50G"}},
	{"Xiaomi", "Redmi 12", 4, 1080, 2460, 396, 2.625, []string{"23053RN02A", "23053RN02Y", "23053RN02L"}},
	{"Xiaomi", "Redmi 12C", 4, 720, 1650, 268, 2, []string{"22120RN86G", "2212ARNC4L"}},
	{"Xiaomi", "Redmi 13C", 4, 720, 1600, 260, 2, []string{"23100RN82L", "23106RN0DA", "23108RN04Y"}},
	{"Xiaomi", "Xiaomi 13", 4, 1080, 2400, 414, 2.75, []string{"2211133G", "2211133C"}},
	{"Xiaomi", "Xiaomi 13T", 4, 1220, 2712, 446, 2.75, []string{"2306EPN60G"}},
	{"Xiaomi", "Xiaomi 14", 4, 1200, 2670, 460, 3, []string{"23127PN0CG", "23127PN0CC"}},
	{"Xiaomi", "POCO X5 Pro 5G", 4, 1080, 2400, 395, 2.625, []string{"22101320G"}},
	// Oppo.
	{"Oppo", "A17", 4, 720, 1612, 269, 2, []string{"CPH2477"}},
	{"Oppo", "A57", 4, 720, 1612, 269, 2, []string{"CPH2387"}},
	{"Oppo", "A58", 4, 1080, 2400, 401, 2.625, []string{"CPH2577"}},
	{"Oppo", "A78", 4, 1080, 2400, 409, 2.625, []string{"CPH2565"}},
	{"Oppo", "A79 5G", 4, 1080, 2400, 391, 2.625, []string{"CPH2553"}},
	{"Oppo", "Reno8 5G", 4, 1080, 2400, 409, 2.625, []string{"CPH2359"}},
	{"Oppo", "Reno10 5G", 4, 1080, 2412, 394, 2.625, []string{"CPH2531"}},
	// Motorola (Build.MODEL is the marketing name).
	{"Motorola", "moto g54 5G", 4, 1080, 2400, 405, 2.625, []string{"moto g54 5G"}},
	{"Motorola", "moto g84 5G", 4, 1080, 2400, 402, 2.625, []string{"moto g84 5G"}},
	{"Motorola", "moto g32", 4, 1080, 2400, 401, 2.625, []string{"moto g32"}},
	{"Motorola", "moto g23", 4, 720, 1600, 270, 2, []string{"moto g23"}},
	{"Motorola", "moto e13", 4, 720, 1600, 270, 2, []string{"moto e13"}},
	{"Motorola", "moto g play - 2023", 4, 720, 1600, 269, 2, []string{"moto g play - 2023"}},
	{"Motorola", "moto g power 5G - 2023", 4, 1080, 2400, 400, 2.625, []string{"moto g power 5G - 2023"}},
	{"Motorola", "moto g stylus 5G (2023)", 4, 1080, 2400, 396, 2.625, []string{"moto g stylus 5G (2023)"}},
	{"Motorola", "motorola edge 40", 4, 1080, 2400, 402, 2.625, []string{"motorola edge 40"}},
	// TVs and streaming devices.
	{"Amazon", "Fire TV Stick 4K", 7, 3840, 2160, 0, 1, []string{"AFTMM"}},
	{"Amazon", "Fire TV Stick 4K Max", 7, 3840, 2160, 0, 1, []string{"AFTKA"}},
	{"Amazon", "Fire TV Stick (3rd generation)", 7, 1920, 1080, 0, 1, []string{"AFTSSS"}},
	{"Amazon", "Fire TV Stick Lite", 7, 1920, 1080, 0, 1, []string{"AFTSS"}},
	{"Google", "Chromecast with Google TV", 7, 3840, 2160, 0, 1, []string{"Chromecast"}},
}
