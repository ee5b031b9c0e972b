package devicedb

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"testing"
)

// The labelled sets (uap-core test_device, Intoli, crawler-user-agents,
// uap-core test_os) are split once, by a hash of the User-Agent, into a
// development part, on which the data and rules of this package are worked
// out, and a held-out part (about 30%), which is only measured: its
// failures are never read to tune anything. The floors of
// TestAccuracyHoldout are what the held-out part reached, rounded down.
//
// The split rule, fixed for good: FNV-1a 32 of the UA bytes, modulo 100,
// below 30 is held out.
func heldOut(ua string) bool {
	h := fnv.New32a()
	h.Write([]byte(ua))
	return h.Sum32()%100 < 30
}

// partName names the part of ua for reports.
func partName(ua string) string {
	if heldOut(ua) {
		return "held-out"
	}
	return "dev"
}

// Held-out floors (BENCHMARKS.md, "Device database"): what the held-out
// part reached, rounded down to a tenth of a percent (100% to 99.9%).
// Screens are a rule, not a rate: a device of unknown brand never claims
// one.
const (
	floorHeldBrand      = 0.903 // brand, Android phones/tablets of the 20 biggest brands with a model token (uap-core, 444 rows)
	floorHeldType       = 0.999 // device type phone/tablet/desktop (Intoli, 1,189 rows)
	floorHeldOS         = 0.996 // OS family (Intoli platform, uap-core test_os, 1,198 rows)
	floorHeldCrawlers   = 0.999 // crawler-user-agents instances filtered (655)
	ceilHeldRealAsBot   = 0.0   // real device UAs filtered as bots (Intoli, uap-core: 2,794), at most
	floorHeldNoScreenUn = 1.0   // unknown-brand results that claim no screen size
)

// uapBrandAliases maps uap-core's brand labels to the brand the device
// database names, where the two vocabularies differ only in spelling or
// in era: Honor was Huawei's brand until 2020, and uap-core and Yauaa file
// it under Huawei; Coby sold its tablets as "Kyros"; RIM is BlackBerry;
// POV is Point of View.
var uapBrandAliases = map[string]string{
	"cobykyros": "coby",
	"honor":     "huawei",
	"rim":       "blackberry",
	"pov":       "pointofview",
}

// brandKey folds a brand name for comparison: lower case, letters and
// digits only, then the alias table.
func brandKey(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	k := b.String()
	if a, ok := uapBrandAliases[k]; ok {
		return a
	}
	return k
}

// uapDevice is one uap-core test_device row.
type uapDevice struct {
	UA     string `yaml:"user_agent_string"`
	Family string `yaml:"family"`
	Brand  string `yaml:"brand"`
	Model  string `yaml:"model"`
}

func readUAPDevices(t *testing.T) []uapDevice {
	t.Helper()
	var f struct {
		TestCases []uapDevice `yaml:"test_cases"`
	}
	readYAML(t, "testdata/uap-core/test_device.sample30.yaml", &f)
	return f.TestCases
}

// androidWithModel reports whether c is an Android phone or tablet UA
// that carries its labelled model (the label occurs in the UA).
func androidWithModel(c uapDevice) bool {
	return c.Brand != "" && c.Model != "" && strings.Contains(c.UA, "Android") && !strings.Contains(c.UA, "TV") &&
		strings.Contains(strings.ToLower(c.UA), strings.ToLower(c.Model))
}

// browserForm reports a UA of the browser and web view form
// ("Mozilla/5.0 (Linux; Android …; MODEL Build/…) …") or Android's own
// HTTP client (Dalvik/): the forms whose model token the parser reads.
// Apps' own UA formats are counted apart.
func browserForm(ua string) bool {
	return strings.HasPrefix(ua, "Mozilla/") || strings.HasPrefix(ua, "Dalvik/")
}

// topBrands returns the n brands (brandKey) with the most androidWithModel
// rows over the whole set, both parts: the population is fixed by labels,
// not by results.
func topBrands(cases []uapDevice, n int) map[string]bool {
	count := map[string]int{}
	for _, c := range cases {
		if androidWithModel(c) && c.Family != "Spider" {
			count[brandKey(c.Brand)]++
		}
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if count[keys[i]] != count[keys[j]] {
			return count[keys[i]] > count[keys[j]]
		}
		return keys[i] < keys[j]
	})
	top := map[string]bool{}
	for _, k := range keys[:min(n, len(keys))] {
		top[k] = true
	}
	return top
}

// partFigures are the measures of one part.
type partFigures struct {
	brand, brandAnyForm, brandAll, typ, os, crawlers, realAsBot, noScreen share
	misses                                                                []string
}

func (p *partFigures) miss(format string, args ...any) {
	if len(p.misses) < 400 {
		p.misses = append(p.misses, fmt.Sprintf(format, args...))
	}
}

// measureParts runs every labelled set through db, split into the two
// parts.
func measureParts(t *testing.T, db *DB) map[string]*partFigures {
	t.Helper()
	parts := map[string]*partFigures{"dev": {}, "held-out": {}}
	noScreen := func(p *partFigures, r Result) {
		if r.Make == "" {
			p.noScreen.add(r.W == 0 && r.H == 0 && r.PPI == 0 && r.PxRatio == 0)
		}
	}

	cases := readUAPDevices(t)
	top := topBrands(cases, 20)
	for _, c := range cases {
		p := parts[partName(c.UA)]
		r := db.Lookup(Evidence{UA: c.UA})
		noScreen(p, r)
		if c.Family == "Spider" {
			continue
		}
		if c.Brand != "" && strings.HasPrefix(c.UA, "Mozilla/") {
			p.realAsBot.add(r.IsBot)
		}
		if !androidWithModel(c) {
			continue
		}
		ok := brandKey(r.Make) == brandKey(c.Brand)
		if !top[brandKey(c.Brand)] {
			if browserForm(c.UA) {
				p.brandAll.add(ok)
				if !ok {
					p.miss("brand (every brand): want %s (%s) got %q %q (%s): %s", c.Brand, c.Model, r.Make, r.Model, r.Match, c.UA)
				}
			}
			continue
		}
		p.brandAnyForm.add(ok)
		if browserForm(c.UA) {
			p.brandAll.add(ok)
			p.brand.add(ok)
			if !ok {
				p.miss("brand: want %s (%s) got %q %q (%s): %s", c.Brand, c.Model, r.Make, r.Model, r.Match, c.UA)
			}
		}
	}

	var intoli []struct {
		UserAgent, Platform, DeviceCategory string
	}
	readGzipJSON(t, "testdata/intoli/user-agents.json.gz", &intoli)
	wantType := map[string]int8{"mobile": DeviceTypePhone, "tablet": DeviceTypeTablet, "desktop": DeviceTypePC}
	for _, u := range intoli {
		p := parts[partName(u.UserAgent)]
		r := db.Lookup(Evidence{UA: u.UserAgent})
		noScreen(p, r)
		p.realAsBot.add(r.IsBot)
		want := intoliOS(u.Platform)
		if !strings.HasPrefix(u.UserAgent, "Mozilla/") || want == "" {
			continue
		}
		// An iPad asking for the desktop site sends a Mac UA and platform
		// MacIntel: nothing in the UA tells it from a Mac.
		if want == "macOS" && u.DeviceCategory != "desktop" {
			continue
		}
		ok := r.DeviceType == wantType[u.DeviceCategory]
		p.typ.add(ok)
		if !ok {
			p.miss("type: want %s got %d (%s %s): %s", u.DeviceCategory, r.DeviceType, r.ID, r.Match, u.UserAgent)
		}
		ok = sameUAPFamily(r.OS, want)
		p.os.add(ok)
		if !ok {
			p.miss("os: want %s got %s: %s", want, r.OS, u.UserAgent)
		}
	}

	var uapOS struct {
		TestCases []struct {
			UA     string `yaml:"user_agent_string"`
			Family string `yaml:"family"`
		} `yaml:"test_cases"`
	}
	readYAML(t, "testdata/uap-core/test_os.sample30.yaml", &uapOS)
	for _, c := range uapOS.TestCases {
		want, ok := uapFamilies[c.Family]
		if !ok || !strings.HasPrefix(c.UA, "Mozilla/") {
			continue
		}
		p := parts[partName(c.UA)]
		r := db.Lookup(Evidence{UA: c.UA})
		ok = sameUAPFamily(r.OS, want)
		p.os.add(ok)
		if !ok {
			p.miss("os: want %s got %s: %s", want, r.OS, c.UA)
		}
	}

	for _, ua := range crawlerUAs(t) {
		p := parts[partName(ua)]
		ok := db.Lookup(Evidence{UA: ua}).IsBot
		p.crawlers.add(ok)
		if !ok {
			p.miss("crawler not filtered: %s", ua)
		}
	}
	return parts
}

// TestAccuracyHoldout prints the accuracy report for both parts of the
// labelled sets and holds the held-out part to its floors. -v prints the
// development part's misses (never the held-out part's).
func TestAccuracyHoldout(t *testing.T) {
	db := defaultDB(t)
	parts := measureParts(t, db)
	playParts := measureParts(t, compileWithPlay(t))
	top := topBrands(readUAPDevices(t), 20)
	t.Logf("the 20 biggest Android brands of uap-core test_device (brandKey): %v", sortedKeys(top))
	line := func(name string, f func(*partFigures) share) {
		d, h := f(parts["dev"]), f(parts["held-out"])
		t.Logf("%-62s dev %6.2f%% (%d/%d)   held-out %6.2f%% (%d/%d)", name, 100*d.rate(), d.ok, d.n, 100*h.rate(), h.ok, h.n)
	}
	line("brand, Android phones/tablets, 20 biggest brands, model token", func(p *partFigures) share { return p.brand })
	line("  the same, every brand", func(p *partFigures) share { return p.brandAll })
	line("  the same, 20 biggest brands, apps' own UA formats too", func(p *partFigures) share { return p.brandAnyForm })
	d, h := playParts["dev"].brand, playParts["held-out"].brand
	t.Logf("%-62s dev %6.2f%% (%d/%d)   held-out %6.2f%% (%d/%d)", "  the same with the Google Play list imported", 100*d.rate(), d.ok, d.n, 100*h.rate(), h.ok, h.n)
	line("device type phone/tablet/desktop (Intoli)", func(p *partFigures) share { return p.typ })
	line("OS family (Intoli, uap-core test_os)", func(p *partFigures) share { return p.os })
	line("crawlers filtered (crawler-user-agents)", func(p *partFigures) share { return p.crawlers })
	line("real devices filtered as bots (Intoli, uap-core)", func(p *partFigures) share { return p.realAsBot })
	line("no screen size claimed, device of unknown brand", func(p *partFigures) share { return p.noScreen })
	if testing.Verbose() {
		for _, m := range parts["dev"].misses {
			t.Logf("dev miss: %s", m)
		}
	}
	held := parts["held-out"]
	if p := playParts["held-out"].brand.rate(); p <= held.brand.rate() {
		t.Errorf("held-out brand with the Play list imported %.4f, without %.4f: the import must add coverage", p, held.brand.rate())
	}
	f := func(name string, got, floor float64) {
		t.Helper()
		if got < floor {
			t.Errorf("held-out %s %.4f is below the floor %.4f", name, got, floor)
		}
	}
	f("brand", held.brand.rate(), floorHeldBrand)
	f("device type", held.typ.rate(), floorHeldType)
	f("OS family", held.os.rate(), floorHeldOS)
	f("crawlers filtered", held.crawlers.rate(), floorHeldCrawlers)
	f("no screen for unknown brands", held.noScreen.rate(), floorHeldNoScreenUn)
	if got := held.realAsBot.rate(); got > ceilHeldRealAsBot {
		t.Errorf("held-out real devices filtered as bots %.4f above %.4f", got, ceilHeldRealAsBot)
	}
}
