package bench

import (
	"strings"

	"github.com/prebid/openrtb/v20/adcom1"
)

//go:generate go run ./testdata/genua -o uatable.go

// uaRecord is one entry of the built-in User-Agent pool (uatable.go).
type uaRecord struct {
	ua       string
	category string // mobile, tablet or desktop
	w, h     int64  // screen size in CSS pixels
	weight   float64
}

// uaInfo is what the synthesizer derives from one User-Agent string: the
// OpenRTB device fields and, for Chromium browsers, what their client hints
// (and so device.sua) say.
type uaInfo struct {
	ua         string
	os, osv    string
	make       string
	model      string
	deviceType adcom1.DeviceType
	mobile     bool
	w, h       int64

	// chromium is set for Chromium-based browsers, which send UA client
	// hints; brand is their own brand ("Google Chrome", "Microsoft Edge"...)
	// and major versions of Chromium and of the brand.
	chromium       bool
	brand          string
	chromiumMajor  string
	brandMajor     string
	platformBrand  string // Sec-CH-UA-Platform: Android, Windows, macOS, Linux, Chrome OS
	reducedAndroid bool   // "Android 10; K": the frozen, reduced UA
}

// parseUA derives uaInfo from a User-Agent string. It recognises the common
// shapes of the built-in pool; anything else becomes an "Other" desktop
// device without sua.
func parseUA(ua, category string, w, h int64) uaInfo {
	in := uaInfo{ua: ua, w: w, h: h, os: "Other"}
	switch category {
	case "mobile":
		in.deviceType, in.mobile = adcom1.DevicePhone, true
	case "tablet":
		in.deviceType, in.mobile = adcom1.DeviceTablet, true
	default:
		in.deviceType = adcom1.DevicePC
	}
	plat := between(ua, "(", ")")
	switch {
	case strings.Contains(plat, "iPhone") || strings.Contains(plat, "iPad"):
		in.os, in.make = "iOS", "Apple"
		in.model = "iPhone"
		if strings.Contains(plat, "iPad") {
			in.model, in.deviceType = "iPad", adcom1.DeviceTablet
		}
		in.osv = strings.ReplaceAll(firstField(after(plat, " OS ")), "_", ".")
	case strings.Contains(plat, "Android"):
		in.os, in.platformBrand = "Android", "Android"
		parts := strings.Split(plat, "; ")
		for i, p := range parts {
			if v, ok := strings.CutPrefix(p, "Android "); ok {
				in.osv = v
				if i+1 < len(parts) {
					in.model = strings.TrimSuffix(parts[i+1], " Build")
					if j := strings.Index(in.model, " Build/"); j >= 0 {
						in.model = in.model[:j]
					}
				}
			}
		}
		in.reducedAndroid = in.osv == "10" && in.model == "K"
		// Android without the Mobile token is a tablet (also when reduced).
		in.deviceType, in.mobile = adcom1.DevicePhone, true
		if !strings.Contains(ua, "Mobile") {
			in.deviceType = adcom1.DeviceTablet
		}
	case strings.Contains(plat, "Windows NT"):
		in.os, in.platformBrand = "Windows", "Windows"
		in.osv = strings.TrimSuffix(firstField(after(plat, "Windows NT ")), ";")
	case strings.Contains(plat, "Macintosh"):
		in.os, in.make, in.model, in.platformBrand = "macOS", "Apple", "Macintosh", "macOS"
		in.osv = strings.ReplaceAll(strings.TrimSuffix(firstField(after(plat, "Mac OS X ")), ";"), "_", ".")
	case strings.Contains(plat, "CrOS"):
		in.os, in.platformBrand = "ChromeOS", "Chrome OS"
	case strings.Contains(plat, "Linux"):
		in.os, in.platformBrand = "Linux", "Linux"
	}
	// Chromium browsers send client hints; Chrome on iOS (CriOS) is WebKit
	// and sends none.
	if cv := majorAfter(ua, "Chrome/"); cv != "" && in.os != "iOS" && in.platformBrand != "" {
		in.chromium, in.chromiumMajor = true, cv
		in.brand, in.brandMajor = "Google Chrome", cv
		switch {
		case strings.Contains(ua, "Edg/"):
			in.brand, in.brandMajor = "Microsoft Edge", majorAfter(ua, "Edg/")
		case strings.Contains(ua, "OPR/"):
			in.brand, in.brandMajor = "Opera", majorAfter(ua, "OPR/")
		case strings.Contains(ua, "SamsungBrowser/"):
			in.brand, in.brandMajor = "Samsung Internet", majorAfter(ua, "SamsungBrowser/")
		case strings.Contains(ua, "YaBrowser/"):
			in.brand, in.brandMajor = "YaBrowser", majorAfter(ua, "YaBrowser/")
		case strings.Contains(ua, "wv)") || strings.Contains(ua, "; wv"):
			in.brand = "Android WebView"
		}
		if in.brandMajor == "" {
			in.brandMajor = cv
		}
	}
	return in
}

// between returns the text between the first open and the next close after
// it, or "".
func between(s, open, close string) string {
	i := strings.Index(s, open)
	if i < 0 {
		return ""
	}
	s = s[i+len(open):]
	if j := strings.Index(s, close); j >= 0 {
		return s[:j]
	}
	return s
}

// after returns the text after the first sep, or "".
func after(s, sep string) string {
	if i := strings.Index(s, sep); i >= 0 {
		return s[i+len(sep):]
	}
	return ""
}

func firstField(s string) string {
	if i := strings.IndexAny(s, " );"); i >= 0 {
		return s[:i]
	}
	return s
}

// majorAfter returns the major version following prefix ("Chrome/148.0" ->
// "148"), or "".
func majorAfter(ua, prefix string) string {
	v := after(ua, prefix)
	n := 0
	for n < len(v) && v[n] >= '0' && v[n] <= '9' {
		n++
	}
	return v[:n]
}
