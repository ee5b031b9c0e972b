package devicedb

import (
	"strconv"
	"strings"
	"sync"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// MatchType records how Lookup found a device, for metrics
// (adx_devicedb_matches_total has one label value per match type).
type MatchType uint8

// The match types, best first.
const (
	// MatchGeneric: nothing matched; the result is the generic root.
	MatchGeneric MatchType = iota
	// MatchFallback: the UA's family fallback, such as
	// generic_android_tablet, with no brand known.
	MatchFallback
	// MatchBrand: the device is not in the database, but its brand is
	// known: named outright by the UA ("SAMSUNG SM-A510S") or given by the
	// prefix of its model token ("SM-" is Samsung). The result is the
	// family fallback with that brand and the model token as sent.
	MatchBrand
	// MatchToken: a model token from sua.model, the UA or an Apple
	// hardware id names a device of the database.
	MatchToken
	// MatchExact: the whole User-Agent is a sample of the device.
	MatchExact
	// NumMatchTypes counts the match types, for arrays indexed by them.
	NumMatchTypes = iota
)

// String returns "generic", "fallback", "brand", "token" or "exact".
func (m MatchType) String() string {
	switch m {
	case MatchExact:
		return "exact"
	case MatchToken:
		return "token"
	case MatchBrand:
		return "brand"
	case MatchFallback:
		return "fallback"
	}
	return "generic"
}

// MarshalText encodes the match type as its name, for JSON and logs.
func (m MatchType) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Evidence is what a bid request says about its device: device.ua and,
// when present, device.sua (OpenRTB 2.6) and the screen size device.w and
// device.h. Lookup reads it and keeps no reference to it.
type Evidence struct {
	UA  string
	SUA *openrtb2.UserAgent
	// W and H are the screen size the request states, in CSS or physical
	// pixels, or 0. They serve one purpose: an iPad or iPhone asking for
	// the desktop site sends a Mac UA, and only its screen tells it from a
	// Mac.
	W, H int64
}

// Result is a matched device with the OS and its version taken from the
// evidence. Its strings are owned by the *DB or are static, never by the
// Evidence, so a Result may be cached and kept for the DB's lifetime. The
// fields map one to one onto openrtb2.Device.
type Result struct {
	// ID is the matched device id.
	ID string `json:"id"`
	// Match is how the device was found.
	Match MatchType `json:"match"`
	// DeviceType is the AdCOM device type 1–7, or 0 when unknown.
	DeviceType int8 `json:"devicetype"`
	// IsBot: a known crawler (crawler-user-agents list) or a bot device.
	IsBot bool `json:"is_bot"`
	// IsTablet, IsSmartTV and JS are the device's capabilities.
	IsTablet  bool `json:"is_tablet"`
	IsSmartTV bool `json:"is_smarttv"`
	JS        bool `json:"js"`
	// Make, Model, MarketingName and HWV (Apple hardware id) of the device.
	// Model is the model token the device sent (Build.MODEL, sua.model)
	// when it named one, else the database's model (Apple: the product
	// name); MarketingName is the retail name beside it.
	Make          string `json:"make"`
	Model         string `json:"model"`
	MarketingName string `json:"marketing_name"`
	HWV           string `json:"hwv"`
	// OS (fixed vocabulary, OSNames) and OSV (dotted) from the evidence,
	// else from the device.
	OS  string `json:"os"`
	OSV string `json:"osv"`
	// Browser is the browser family from the UA, else the device's.
	Browser string `json:"browser"`
	// W and H are the screen size in physical pixels (OpenRTB 2.6 device.w
	// and device.h), PPI its density and PxRatio the CSS pixel ratio; 0
	// when unknown. A device the database names reports its row's screen;
	// the screen an app's UA states (Facebook's FBDM, Instagram's WxH) is
	// reported only for a device the database does not list or lists
	// without a size, see Lookup.
	W       int64   `json:"w"`
	H       int64   `json:"h"`
	PPI     int64   `json:"ppi"`
	PxRatio float64 `json:"pxratio"`
}

// Lookup matches ev: bots first, then the exact User-Agent, then the model
// token index (sua.model, then the UA's model, then an Apple hardware id),
// then the brand (named by the UA, else by the prefix of the model token)
// on the UA family's fallback device, then the fallback alone, then
// generic. A brand the UA names counts only when the brand table lists
// it, and is reported as the table spells it. A device the database names
// keeps its row's device type when that is 2–7 and its row's screen; an
// app's stated screen fills in for the others (see Result.W). It allocates nothing except, rarely, an unusual OS version
// string, and the model string of a device known only by its brand or by
// its stem (one copy, so that the Result never aliases the evidence).
// Safe for concurrent use.
func (db *DB) Lookup(ev Evidence) Result {
	var info uaInfo
	ua := ev.UA
	if strings.IndexByte(ua, ' ') < 0 && strings.IndexByte(ua, '+') >= 0 {
		// Form-encoded UAs ("Mozilla/5.0+(iPhone;+CPU+…"): rare, so the
		// copy is acceptable.
		ua = strings.ReplaceAll(ua, "+", " ")
	}
	parseUA(ua, &info)
	suaModel := ""
	if ev.SUA != nil {
		suaModel = applySUA(&info, ev.SUA)
	}
	if info.fb == fbMac && info.browserPri <= 1 || info.desktopSite {
		// Safari, an app's web view or an iOS browser: iPadOS and iOS send
		// a Mac UA for the desktop site (the default on iPads); the screen
		// tells an iPad from an iPhone, and Safari on either from a Mac.
		switch db.appleScreen(ev.W, ev.H) {
		case DeviceTypeTablet:
			info.fb, info.os, info.devType, info.ver = fbIPad, "iPadOS", DeviceTypeTablet, info.safari
		case DeviceTypePhone:
			info.fb, info.os, info.devType, info.ver = fbIPhone, "iOS", DeviceTypePhone, info.safari
		}
	}
	// parseUA has read the crawler conventions of the tokens on its way.
	bot := info.bot || strings.Contains(ev.UA, "+http") || listedBot(ev.UA)
	var r Result
	idx, match := int32(-1), MatchGeneric
	// sent is the model token the device sent, a substring of the
	// evidence; spelled is that model as the database spells it, or "".
	var sent, spelled, brand string
	if i, ok := db.byUA[trimSpace(ev.UA)]; ok {
		idx, match = i, MatchExact
	} else if i, text, ok := db.lookupToken(suaModel); ok {
		idx, match, sent, spelled = i, MatchToken, suaModel, text
	} else if i, text, ok := db.lookupToken(info.model); ok {
		idx, match, sent, spelled = i, MatchToken, info.model, text
	} else if i, _, ok := db.lookupToken(info.hw); ok {
		idx, match = i, MatchToken
	} else {
		fb := info.fb
		if bot {
			fb = fbBot
		}
		if i := db.fallback[fb]; fb != fbNone && i >= 0 {
			idx, match = i, MatchFallback
		} else {
			idx = db.generic
		}
		if !bot && db.recs[idx].brand == "" {
			named := info.brand
			if named == "" {
				named = info.brandWord
			}
			brand, sent = db.brandFor(named, suaModel, info.model)
			if brand != "" {
				match = MatchBrand
			}
		}
	}
	db.fill(&r, idx)
	r.Match = match
	r.IsBot = r.IsBot || bot
	if match == MatchBrand {
		r.Make = brand
	}
	if sent != "" && r.HWV == "" && (match == MatchToken || match == MatchBrand) {
		// Report the model the device sent, not the database's name of a
		// sibling (SM-A515F, not the SM-A515B that its stem found): the
		// database's spelling of it when it has one, else a copy.
		if spelled == "" {
			spelled = strings.Clone(trimSpace(sent))
		}
		r.Model = spelled
	}
	if info.os != "" {
		r.OS = info.os
		switch {
		case info.osv != "":
			r.OSV = info.osv
		case info.ver.n > 0:
			r.OSV = versionString(info.ver)
		default:
			r.OSV = ""
		}
	}
	if info.browser != "" {
		r.Browser = info.browser
	}
	// What the UA names outright fills what the device row leaves open:
	// the maker (a static name, see uaInfo.brand) and an app's screen.
	// The screen an app states is its window, not the panel: without the
	// system bars (Instagram's 1080x2220 on a 1080x2340 Galaxy A50) or at
	// a scaled resolution (FBDM's 1080x2220 on a 1440x2960 Galaxy S9), so
	// the row of a device the database names keeps its physical screen and
	// density; the stated screen serves a device it does not list.
	if r.Make == "" {
		r.Make = info.brand
	}
	if info.w > 0 && info.h > 0 && (match < MatchToken || r.W == 0) {
		r.W, r.H = info.w, info.h
		if info.pxRatio > 0 {
			r.PxRatio = info.pxRatio
		}
	}
	// Trust the device's type when it was identified and is specific;
	// otherwise the UA's heuristic (OpenRTB: phone 4, tablet 5, 1 only when
	// they cannot be told apart).
	if (match < MatchToken || r.DeviceType <= DeviceTypeMobileTablet) && info.devType != deviceTypeUnknown {
		if !(info.devType == DeviceTypeMobileTablet && r.DeviceType > DeviceTypeMobileTablet && match >= MatchToken) {
			r.DeviceType = info.devType
		}
	}
	return r
}

// brandFor returns the brand of a device the database does not list and
// the model token to report with it: the brand the UA names outright,
// else the brand of the longest listed prefix of sua.model, else of the
// UA's model token. named must be a brand of the table, or start with
// one ("HMD Global"), to count.
func (db *DB) brandFor(named, suaModel, model string) (brand, token string) {
	token = suaModel
	if token == "" {
		token = model
	}
	if b, ok := db.brands.maker(named); ok {
		if !hasPrefixFold(token, named) {
			return b, token // a maker field ("samsung; SM-A505F") or a prefix the parser cut
		}
		// The word is part of the model token ("Sony Ericsson Xperia
		// X1"): its longest prefix is at least as precise.
		if pb, ok := db.brands.tokenBrand(token); ok {
			return pb, token
		}
		return b, token
	}
	for _, tok := range [...]string{suaModel, model} {
		if b, ok := db.brands.tokenBrand(tok); ok {
			return b, tok
		}
	}
	return "", ""
}

func (db *DB) fill(r *Result, i int32) {
	rec := &db.recs[i]
	*r = Result{
		ID: rec.id, DeviceType: rec.deviceType,
		IsBot: rec.flags&flagBot != 0, IsTablet: rec.flags&flagTablet != 0,
		IsSmartTV: rec.flags&flagSmartTV != 0, JS: rec.flags&flagJS != 0,
		Make: rec.brand, Model: rec.model, MarketingName: rec.marketingName, HWV: rec.hwv,
		OS: rec.os, OSV: rec.osv, Browser: rec.browser,
		W: int64(rec.w), H: int64(rec.h), PPI: int64(rec.ppi), PxRatio: rec.pxRatio,
	}
}

// lookupToken finds a model token, dropping a "/DS" suffix or a maker's
// name before the model, or trying Samsung's shorter stems ("SM-S918U1" →
// "SM-S918U" → "SM-S918"). text is the model as the database spells it
// (the same token, whatever its case, or the part after the maker's
// name), or "" when only a stem matched: the model the device sent is
// then none the database spells.
func (db *DB) lookupToken(tok string) (dev int32, text string, ok bool) {
	if tok == "" {
		return 0, "", false
	}
	var buf [maxTokenLen]byte
	key, ok := appendNormToken(buf[:0], tok)
	if !ok {
		return 0, "", false
	}
	if t, ok := db.byToken[string(key)]; ok {
		return t.dev, t.text, true
	}
	for k := len(key) - 1; k > 0; k-- {
		if key[k] == '/' {
			key = key[:k]
			if t, ok := db.byToken[string(key)]; ok {
				return t.dev, t.text, true
			}
			break
		}
	}
	// A maker's name before the model ("ONEPLUS A5010", "ZTE-Z992",
	// "SonyST21a"): the rest must be a model of that maker ("LG-E455" is
	// no other maker's E455).
	if t, ok := db.lookupAfterMaker(key); ok {
		return t.dev, t.text, true
	}
	if len(key) > 7 && hasPrefix(string(key[:3]), "SM-") {
		for n := len(key) - 1; n >= 7; n-- {
			if t, ok := db.byToken[string(key[:n])]; ok {
				return t.dev, "", true
			}
		}
	}
	return 0, "", false
}

// lookupAfterMaker looks up key without its first word when that word
// names a brand of the table ("HUAWEI G520-0000"; "SONY" may run into the
// model), and only accepts a device of that brand.
func (db *DB) lookupAfterMaker(key []byte) (tokenRef, bool) {
	k := 0
	for k < len(key) && k < 16 && key[k] != ' ' && key[k] != '-' && key[k] != '_' {
		k++
	}
	rest := k + 1
	if k >= len(key) || k >= 16 {
		if !hasPrefix(string(key), "SONY") { // SonyST21a: SONY runs into the model
			return tokenRef{}, false
		}
		k, rest = 4, 4
	}
	if len(key)-rest < 3 {
		return tokenRef{}, false
	}
	brand, ok := db.brands.named(string(key[:k]))
	if !ok {
		return tokenRef{}, false
	}
	t, ok := db.byToken[string(key[rest:])]
	if !ok || db.recs[t.dev].brand != brand {
		return tokenRef{}, false
	}
	return t, true
}

// applySUA overrides the UA's OS, version and form factor with the client
// hints, which Chrome keeps accurate while it freezes the UA. It returns
// sua.model.
func applySUA(info *uaInfo, sua *openrtb2.UserAgent) string {
	if p := sua.Platform; p != nil {
		var v version
		for i, s := range p.Version {
			if i >= maxVersionParts {
				break
			}
			c := parseVersion(s)
			if c.n == 0 {
				break
			}
			v.p[i] = c.p[0]
			v.n++
		}
		for v.n > 1 && v.p[v.n-1] == 0 {
			v.n-- // "14.0.0" → "14"
		}
		switch p.Brand {
		case "Android":
			if info.os == "" || info.os == "Linux" {
				info.os, info.fb, info.devType = "Android", fbAndroid, DeviceTypeMobileTablet
			}
			if info.os == "Android" && v.n > 0 {
				info.ver = v
			}
		case "Windows":
			info.os, info.osv = "Windows", ""
			if info.fb == fbNone {
				info.fb, info.devType = fbWindows, DeviceTypePC
			}
			if v.n > 0 {
				// Sec-CH-UA-Platform-Version on Windows: 13+ is Windows 11,
				// 1–10 is Windows 10, 0.x is 7/8/8.1.
				switch {
				case v.p[0] >= 13:
					info.osv = "11"
				case v.p[0] >= 1:
					info.osv = "10"
				case v.p[1] == 1:
					info.osv = "7"
				case v.p[1] == 2:
					info.osv = "8"
				case v.p[1] == 3:
					info.osv = "8.1"
				}
			}
		case "macOS":
			info.os = "macOS"
			if info.fb == fbNone {
				info.fb, info.devType = fbMac, DeviceTypePC
			}
			if v.n > 0 {
				info.ver = v
			}
		case "Chrome OS", "Chromium OS":
			info.os, info.fb, info.devType = "Chrome OS", fbChromeOS, DeviceTypePC
			if v.n > 0 {
				info.ver = v
			}
		case "Linux":
			if info.os == "" {
				info.os, info.fb, info.devType = "Linux", fbLinux, DeviceTypePC
			}
		case "iOS", "iPadOS":
			if v.n > 0 && (info.os == "iOS" || info.os == "iPadOS") {
				info.ver = v
			}
		}
	}
	if sua.Mobile != nil && info.os == "Android" && (info.fb == fbAndroid || info.fb == fbAndroidPhone || info.fb == fbAndroidTablet) {
		if *sua.Mobile == 1 {
			info.fb, info.devType = fbAndroidPhone, DeviceTypePhone
		} else {
			info.fb, info.devType = fbAndroidTablet, DeviceTypeTablet
		}
	}
	return sua.Model
}

// Interned version strings: "0"…"99" and "0.0"…"39.19", so that common
// versions cost no allocation.
var (
	versionMajor [100]string
	versionMinor [40][20]string
)

func init() {
	for i := range versionMajor {
		versionMajor[i] = strconv.Itoa(i)
	}
	for i := range versionMinor {
		for j := range versionMinor[i] {
			versionMinor[i][j] = strconv.Itoa(i) + "." + strconv.Itoa(j)
		}
	}
}

// versionPatch interns "10.0.0"…"29.19.9" (4,000 strings, about 0.2 ms
// once).
var versionPatch = sync.OnceValue(func() *[20][20][10]string {
	t := new([20][20][10]string)
	for i := range t {
		for j := range t[i] {
			for k := range t[i][j] {
				t[i][j][k] = versionMinor[i+10][j] + "." + strconv.Itoa(k)
			}
		}
	}
	return t
})

// versionString formats v dotted; it allocates only for versions outside
// the interned ranges.
func versionString(v version) string {
	switch {
	case v.n == 1 && v.p[0] < int32(len(versionMajor)):
		return versionMajor[v.p[0]]
	case v.n == 2 && v.p[0] < int32(len(versionMinor)) && v.p[1] < int32(len(versionMinor[0])):
		return versionMinor[v.p[0]][v.p[1]]
	case v.n == 3 && v.p[0] >= 10 && v.p[0] < 30 && v.p[1] < 20 && v.p[2] < 10:
		// iOS x.y.z and the frozen macOS 10.15.7: built on first use.
		return versionPatch()[v.p[0]-10][v.p[1]][v.p[2]]
	}
	var buf [40]byte
	b := buf[:0]
	for i := uint8(0); i < v.n; i++ {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendInt(b, int64(v.p[i]), 10)
	}
	return string(b)
}
