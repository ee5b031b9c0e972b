package devicedb

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The accuracy floors are the numbers this package achieves on the copied
// test data (BENCHMARKS.md), rounded down; a regression below them fails.
const (
	floorTypeShare    = 0.999 // device type, browser UAs on iOS/Android/Windows/macOS (intoli)
	floorOSShare      = 0.998 // OS family, same population (intoli + uap-core test_os)
	floorOSMajorShare = 0.99  // OS major version (uap-core test_os: only 27 such rows; uapcore_test.go measures 3,456)
	floorBotShare     = 0.999 // crawler-user-agents instances flagged
	floorBotFalsePos  = 0.0   // intoli browser UAs flagged as bots
	floorUAPSpiders   = 0.88  // uap-core test_device "Spider" rows flagged (22/25)
	floorModelShare   = 0.81  // uap-core test_device rows whose device is in the default DB (574 rows; 20 before browscap and node-device-detector)
	floorPlayModel    = 0.87  // the same with the Google Play list imported (1,027 rows)
)

type share struct{ ok, n int }

func (s *share) add(ok bool) {
	s.n++
	if ok {
		s.ok++
	}
}

func (s share) rate() float64 {
	if s.n == 0 {
		return 1
	}
	return float64(s.ok) / float64(s.n)
}

func readGzipJSON(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		t.Fatalf("cannot decode %s: %v", path, err)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("cannot decode %s: %v", path, err)
	}
}

// intoliOS is the OS that navigator.platform tells for sure, else "".
func intoliOS(platform string) string {
	switch {
	case platform == "iPhone" || platform == "iPod":
		return "iOS"
	case platform == "iPad":
		return "iPadOS"
	case platform == "Win32" || platform == "Win64":
		return "Windows"
	case platform == "MacIntel":
		return "macOS"
	case strings.HasPrefix(platform, "Linux arm") || platform == "Linux aarch64":
		return "Android"
	}
	return ""
}

func sameOS(got, want string) bool {
	return got == want || (got == "iOS" || got == "iPadOS") && (want == "iOS" || want == "iPadOS")
}

func TestAccuracy(t *testing.T) {
	db := defaultDB(t)
	var (
		typeBy     = map[string]*share{}
		osBy       = map[string]*share{}
		majorBy    = map[string]*share{}
		typ, osF   share
		osMaj      share
		bots, botF share
		model      share
	)
	get := func(m map[string]*share, k string) *share {
		if m[k] == nil {
			m[k] = &share{}
		}
		return m[k]
	}

	// intoli: device category (ground truth) and OS from navigator.platform.
	var intoli []struct {
		UserAgent, Platform, DeviceCategory string
	}
	readGzipJSON(t, "testdata/intoli/user-agents.json.gz", &intoli)
	wantType := map[string]int8{"mobile": DeviceTypePhone, "tablet": DeviceTypeTablet, "desktop": DeviceTypePC}
	var typeMiss []string
	for _, u := range intoli {
		r := db.Lookup(Evidence{UA: u.UserAgent})
		botF.add(!r.IsBot)
		want := intoliOS(u.Platform)
		if !strings.HasPrefix(u.UserAgent, "Mozilla/") || want == "" || !sameOS(r.OS, want) && want == "iPadOS" {
			continue
		}
		k := want
		if k == "iPadOS" {
			k = "iOS"
		}
		ok := r.DeviceType == wantType[u.DeviceCategory]
		// An iPad asking for the desktop site sends a Mac UA and platform
		// MacIntel: nothing tells it from a Mac, so "tablet" there is not
		// countable.
		if want == "macOS" && u.DeviceCategory != "desktop" {
			continue
		}
		typ.add(ok)
		get(typeBy, k).add(ok)
		if !ok && len(typeMiss) < 10 && !heldOut(u.UserAgent) {
			typeMiss = append(typeMiss, u.DeviceCategory+" "+r.OS+" "+u.UserAgent)
		}
		ok = sameUAPFamily(r.OS, want)
		if !ok && len(typeMiss) < 20 && !heldOut(u.UserAgent) {
			typeMiss = append(typeMiss, "OS "+want+" got "+r.OS+": "+u.UserAgent)
		}
		osF.add(ok)
		get(osBy, k).add(ok)
	}

	// uap-core test_os: OS family and major version.
	var uapOS struct {
		TestCases []struct {
			UA     string `yaml:"user_agent_string"`
			Family string `yaml:"family"`
			Major  string `yaml:"major"`
		} `yaml:"test_cases"`
	}
	readYAML(t, "testdata/uap-core/test_os.sample30.yaml", &uapOS)
	uapFamily := map[string]string{"iOS": "iOS", "Android": "Android", "Windows": "Windows", "Mac OS X": "macOS"}
	var osMiss []string
	for _, c := range uapOS.TestCases {
		want, ok := uapFamily[c.Family]
		if !ok || !strings.HasPrefix(c.UA, "Mozilla/") {
			continue
		}
		r := db.Lookup(Evidence{UA: c.UA})
		okOS := sameUAPFamily(r.OS, want)
		osF.add(okOS)
		get(osBy, want).add(okOS)
		if c.Major == "" {
			continue
		}
		okMaj := okOS && sameMajor(r.OSV, c.Major)
		osMaj.add(okMaj)
		get(majorBy, want).add(okMaj)
		if !okMaj && !heldOut(c.UA) {
			osMiss = append(osMiss, c.Family+" "+c.Major+" got "+r.OS+" "+r.OSV+": "+c.UA)
		}
	}

	// crawler-user-agents: every instance is a bot.
	for _, ua := range crawlerUAs(t) {
		bots.add(db.Lookup(Evidence{UA: ua}).IsBot)
	}

	// uap-core test_device: its "Spider" rows are bots; its browser rows
	// from a known maker are not.
	var uapDev struct {
		TestCases []struct {
			UA     string `yaml:"user_agent_string"`
			Family string `yaml:"family"`
			Brand  string `yaml:"brand"`
		} `yaml:"test_cases"`
	}
	readYAML(t, "testdata/uap-core/test_device.sample30.yaml", &uapDev)
	var spiders, devFP share
	for _, c := range uapDev.TestCases {
		switch {
		case c.Family == "Spider":
			spiders.add(db.Lookup(Evidence{UA: c.UA}).IsBot)
		case c.Brand != "" && strings.HasPrefix(c.UA, "Mozilla/"):
			r := db.Lookup(Evidence{UA: c.UA})
			devFP.add(!r.IsBot)
			if r.IsBot && !heldOut(c.UA) {
				t.Logf("bot false positive: %s", c.UA)
			}
		}
	}

	// uap-core test_device: brand and model on devices in the DB.
	model, modelN := brandModelShare(t, db)

	t.Logf("device type: %.4f (%d/%d)", typ.rate(), typ.ok, typ.n)
	for k, s := range typeBy {
		t.Logf("  %-8s type %.4f (%d/%d)", k, s.rate(), s.ok, s.n)
	}
	t.Logf("OS family: %.4f (%d/%d)", osF.rate(), osF.ok, osF.n)
	for k, s := range osBy {
		t.Logf("  %-8s OS %.4f (%d/%d)", k, s.rate(), s.ok, s.n)
	}
	t.Logf("OS major: %.4f (%d/%d)", osMaj.rate(), osMaj.ok, osMaj.n)
	for k, s := range majorBy {
		t.Logf("  %-8s major %.4f (%d/%d)", k, s.rate(), s.ok, s.n)
	}
	t.Logf("bots detected: %.4f (%d/%d); browser UAs not flagged: %.4f (%d/%d)", bots.rate(), bots.ok, bots.n, botF.rate(), botF.ok, botF.n)
	t.Logf("uap-core Spider rows flagged: %.4f (%d/%d); uap-core browser rows of known makers not flagged: %.4f (%d/%d)", spiders.rate(), spiders.ok, spiders.n, devFP.rate(), devFP.ok, devFP.n)
	t.Logf("brand+model on devices in the default DB: %.4f (%d/%d)", model.rate(), model.ok, model.n)
	t.Logf("uap-core test_device rows whose device is in the default DB: %d", modelN)
	playDB := compileWithPlay(t)
	playModel, playN := brandModelShare(t, playDB)
	t.Logf("brand+model with the Play list imported: %.4f (%d/%d rows in that DB)", playModel.rate(), playModel.ok, playN)
	for _, m := range typeMiss {
		t.Logf("type miss: %s", m)
	}
	for _, m := range osMiss {
		t.Logf("os miss: %s", m)
	}
	f := func(name string, got, floor float64) {
		t.Helper()
		if got < floor {
			t.Errorf("%s accuracy %.4f is below the floor %.4f", name, got, floor)
		}
	}
	f("device type", typ.rate(), floorTypeShare)
	f("OS", osF.rate(), floorOSShare)
	f("OS major", osMaj.rate(), floorOSMajorShare)
	f("bot detection", bots.rate(), floorBotShare)
	f("uap-core Spider detection", spiders.rate(), floorUAPSpiders)
	if devFP.ok != devFP.n {
		t.Errorf("%d uap-core browser rows of known makers flagged as bots", devFP.n-devFP.ok)
	}
	if fp := 1 - botF.rate(); fp > floorBotFalsePos {
		t.Errorf("bot false positives %.4f above %.4f", fp, floorBotFalsePos)
	}
	f("brand+model", model.rate(), floorModelShare)
	f("brand+model (Play)", playModel.rate(), floorPlayModel)
}

// brandModelShare looks up the uap-core test_device rows whose expected
// brand and model name a device of db (by model, marketing name or token)
// and returns the share resolved to that brand and model.
func brandModelShare(t *testing.T, db *DB) (share, int) {
	t.Helper()
	var uapDev struct {
		TestCases []struct {
			UA    string `yaml:"user_agent_string"`
			Brand string `yaml:"brand"`
			Model string `yaml:"model"`
		} `yaml:"test_cases"`
	}
	readYAML(t, "testdata/uap-core/test_device.sample30.yaml", &uapDev)
	known := map[string]bool{} // "brand|MODEL"
	for i := range db.recs {
		r := &db.recs[i]
		if r.brand == "" || r.model == "" {
			continue
		}
		b := brandKey(r.brand)
		known[b+"|"+strings.ToUpper(r.model)] = true
		known[b+"|"+strings.ToUpper(r.marketingName)] = true
	}
	for tok, ref := range db.byToken {
		if b := db.recs[ref.dev].brand; b != "" {
			known[brandKey(b)+"|"+tok] = true
		}
	}
	var s share
	for _, c := range uapDev.TestCases {
		if c.Brand == "" || c.Model == "" || !strings.HasPrefix(c.UA, "Mozilla/") && !strings.HasPrefix(c.UA, "Dalvik/") {
			continue
		}
		b := brandKey(c.Brand)
		if !known[b+"|"+strings.ToUpper(c.Model)] {
			continue
		}
		r := db.Lookup(Evidence{UA: c.UA})
		m := strings.ToUpper(c.Model)
		ok := brandKey(r.Make) == b
		if ok {
			ok = sameModel(r.Model, c.Model, c.Brand) || sameModel(r.MarketingName, c.Model, c.Brand)
			if !ok {
				for tok, ref := range db.byToken {
					if db.recs[ref.dev].id == r.ID && tok == m {
						ok = true
						break
					}
				}
			}
		}
		if !ok && testing.Verbose() && !heldOut(c.UA) {
			t.Logf("model miss: want %s %s got %s %s (%s): %s", c.Brand, c.Model, r.Make, r.Model, r.Match, c.UA)
		}
		s.add(ok)
	}
	return s, s.n
}

// compileWithPlay compiles default.yaml plus the Google Play list.
func compileWithPlay(t testing.TB) *DB {
	t.Helper()
	src, err := ReadSourceFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ImportPlayFile(src, "testdata/play/android-supported-devices.json.gz"); err != nil {
		t.Fatal(err)
	}
	db, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// sameModel compares model names as uap-core writes them: without the
// maker's prefix, case and punctuation ignored ("ZTE-RACER" is "RACER").
func sameModel(got, want, brand string) bool {
	norm := func(s string) string {
		s = strings.ToUpper(s)
		s = strings.TrimPrefix(s, strings.ToUpper(brand))
		var b strings.Builder
		for _, c := range s {
			if c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
				b.WriteRune(c)
			}
		}
		return b.String()
	}
	return got != "" && norm(got) == norm(want)
}

// TestDesktopSiteScreensIntoli runs the Mac UAs of the Intoli sample with
// the screen size their browsers reported. An iPad asking for the desktop
// site is a Mac UA on platform MacIntel with a portrait screen; a Mac's
// screen is landscape. So every row the screen turns into an iPad or iPhone
// must be portrait and from Safari or a web view, and no landscape Mac may
// change.
func TestDesktopSiteScreensIntoli(t *testing.T) {
	db := defaultDB(t)
	var intoli []struct {
		UserAgent, Platform       string
		ScreenWidth, ScreenHeight int64
	}
	readGzipJSON(t, "testdata/intoli/user-agents.json.gz", &intoli)
	var safari, portrait, moved, landscape int
	var missed []string
	for _, u := range intoli {
		if u.Platform != "MacIntel" || !strings.HasPrefix(u.UserAgent, "Mozilla/") {
			continue
		}
		r := db.Lookup(Evidence{UA: u.UserAgent, W: u.ScreenWidth, H: u.ScreenHeight})
		touch := r.OS == "iPadOS" || r.OS == "iOS"
		isSafari := !strings.Contains(u.UserAgent, "Chrome/") && !strings.Contains(u.UserAgent, "Firefox/") && !strings.Contains(u.UserAgent, "Edg/")
		isPortrait := u.ScreenWidth < u.ScreenHeight
		if isSafari {
			safari++
		}
		if isSafari && isPortrait {
			portrait++
			if !touch {
				missed = append(missed, fmt.Sprintf("%dx%d", u.ScreenWidth, u.ScreenHeight))
			}
		}
		if !isPortrait {
			landscape++
		}
		if touch {
			moved++
			if !isPortrait || !isSafari {
				t.Errorf("%dx%d %s became %s %s", u.ScreenWidth, u.ScreenHeight, u.UserAgent, r.ID, r.OS)
			}
		}
	}
	t.Logf("MacIntel Safari rows: %d; with a portrait screen: %d; reported as iPad or iPhone: %d; landscape rows left as Macs: %d",
		safari, portrait, moved, landscape)
	t.Logf("portrait Safari screens not recognised: %v", missed)
	if moved < portrait*9/10 {
		t.Errorf("only %d of %d portrait Safari MacIntel rows recognised", moved, portrait)
	}
}

// appClientUA reports whether ua is the UA of an app's HTTP client
// library (appClientUAs: okhttp, Ktor). crawler-user-agents lists okhttp,
// but apps request ads through it, so devicedb exempts these clients from
// the bot flag and the crawler measures leave their instances out.
func appClientUA(ua string) bool {
	for _, c := range appClientUAs {
		if hasPrefixFold(ua, c) {
			return true
		}
	}
	return false
}

// crawlerUAs returns the instances of crawler-user-agents, but for the
// app HTTP clients (appClientUA): each one a crawler devicedb must flag.
func crawlerUAs(t *testing.T) []string {
	t.Helper()
	var crawlers []struct{ Instances []string }
	data, err := os.ReadFile("testdata/crawler/crawler-user-agents.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &crawlers); err != nil {
		t.Fatal(err)
	}
	var uas []string
	for _, c := range crawlers {
		for _, ua := range c.Instances {
			if !appClientUA(ua) {
				uas = append(uas, ua)
			}
		}
	}
	return uas
}
