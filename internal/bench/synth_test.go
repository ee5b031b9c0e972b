package bench

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prebid/openrtb/v20/adcom1"
	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/openrtb"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestSynthValidAndVaried: 3,000
// requests all pass adx's own decoding and validation and carry at least 150
// distinct UAs, 1,500 distinct IPs, 4 banner sizes, app and site, and video.
func TestSynthValidAndVaried(t *testing.T) {
	s, err := NewSynth(DefaultSynthConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	bodies, err := s.Bodies(3000)
	if err != nil {
		t.Fatal(err)
	}
	uas, ips, sizes := map[string]bool{}, map[string]bool{}, map[[2]int64]bool{}
	var apps, sites, video, rewarded, native, instl, v6, gdpr, usp, gpp, schain, sua, reduced, reducedSUA, users int
	var req openrtb2.BidRequest
	for i, b := range bodies {
		if err := openrtb.DecodeRequest(b, &req); err != nil {
			t.Fatalf("request %d does not decode: %v\n%s", i, err, b)
		}
		if err := openrtb.ValidateRequest(&req, openrtb.Limits{}); err != nil {
			t.Fatalf("request %d is invalid: %v\n%s", i, err, b)
		}
		if req.TMax < 100 || req.TMax > 500 || len(req.Imp) < 1 || len(req.Imp) > 3 {
			t.Fatalf("request %d: tmax %d, %d imps", i, req.TMax, len(req.Imp))
		}
		d := req.Device
		uas[d.UA] = true
		ips[d.IP+d.IPv6] = true
		if d.IPv6 != "" {
			v6++
		}
		if req.App != nil {
			apps++
		}
		if req.Site != nil {
			sites++
		}
		for _, imp := range req.Imp {
			switch {
			case imp.Banner != nil:
				sizes[[2]int64{*imp.Banner.W, *imp.Banner.H}] = true
			case imp.Video != nil:
				video++
			case imp.Native != nil:
				native++
			}
			if imp.Rwdd == 1 {
				rewarded++
			}
			if imp.Instl == 1 {
				instl++
			}
		}
		if r := req.Regs; r != nil {
			if r.GDPR != nil && *r.GDPR == 1 {
				gdpr++
			}
			if r.USPrivacy != "" {
				usp++
			}
			if r.GPP != "" {
				gpp++
			}
		}
		if req.Source != nil && req.Source.SChain != nil && len(req.Source.SChain.Nodes) > 0 {
			schain++
		}
		if req.User != nil && req.User.ID != "" {
			users++
		}
		if d.SUA != nil {
			sua++
		}
		if strings.Contains(d.UA, "Android 10; K)") {
			reduced++
			if d.SUA != nil {
				reducedSUA++
			}
		}
	}
	t.Logf("3000 requests: %d UAs, %d IPs (%d v6), sizes %v, app %d site %d, video %d (rewarded imps %d), native %d, instl %d, gdpr=1 %d, us_privacy %d, gpp %d, schain %d, sua %d, reduced Android %d, user ids %d",
		len(uas), len(ips), v6, sizes, apps, sites, video, rewarded, native, instl, gdpr, usp, gpp, schain, sua, reduced, users)
	check := func(name string, got, min int) {
		t.Helper()
		if got < min {
			t.Errorf("%s = %d, want >= %d", name, got, min)
		}
	}
	check("distinct UAs", len(uas), 150)
	check("distinct IPs", len(ips), 1500)
	check("banner sizes", len(sizes), 4)
	check("video imps", video, 1)
	check("rewarded video imps", rewarded, 1)
	check("native imps", native, 1)
	check("site requests", sites, 1)
	check("IPv6 devices", v6, 300)
	check("gdpr=1", gdpr, 100)
	check("us_privacy", usp, 100)
	check("gpp", gpp, 100)
	check("reduced Android UAs with sua", reducedSUA, 10)
	check("user ids", users, 1500)
	if schain != 3000 {
		t.Errorf("schain in %d of 3000 requests, want all", schain)
	}
	if reducedSUA != reduced {
		t.Errorf("%d of %d reduced Android (Chromium) UAs carry sua, want all", reducedSUA, reduced)
	}
	if share := float64(apps) / 3000; share < 0.75 || share > 0.85 {
		t.Errorf("app share %.3f, want about 0.8", share)
	}
	for _, sz := range [][2]int64{{320, 50}, {300, 250}, {728, 90}, {320, 480}} {
		if !sizes[sz] {
			t.Errorf("banner size %dx%d never synthesized", sz[0], sz[1])
		}
	}
}

// TestSynthReproducible pins that a seed fixes the output and golden-tests
// the first requests of seed 1 (regenerate with -update).
func TestSynthReproducible(t *testing.T) {
	gen := func(seed uint64, n int) []byte {
		t.Helper()
		s, err := NewSynth(DefaultSynthConfig(seed))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := s.WriteJSONL(&b, n); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b := gen(7, 200), gen(7, 200)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs with seed 7 differ")
	}
	if bytes.Equal(a, gen(8, 200)) {
		t.Fatal("seeds 7 and 8 give the same requests")
	}
	golden := filepath.Join("testdata", "synth", "seed1-first5.jsonl")
	got := gen(1, 5)
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("seed 1 output differs from %s (run with -update if the change is intended)", golden)
	}
}

func TestParseUA(t *testing.T) {
	f := func(ua, cat string, want uaInfo) {
		t.Helper()
		got := parseUA(ua, cat, 0, 0)
		want.ua = ua
		if got != want {
			t.Errorf("parseUA(%q)\n got %+v\nwant %+v", ua, got, want)
		}
	}
	f("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/153.0.0.0 Mobile Safari/537.36", "mobile",
		uaInfo{os: "Android", osv: "10", model: "K", deviceType: adcom1.DevicePhone, mobile: true, chromium: true,
			brand: "Google Chrome", chromiumMajor: "153", brandMajor: "153", platformBrand: "Android", reducedAndroid: true})
	f("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/30.0 Chrome/143.0.0.0 Mobile Safari/537.36", "mobile",
		uaInfo{os: "Android", osv: "10", model: "K", deviceType: adcom1.DevicePhone, mobile: true, chromium: true,
			brand: "Samsung Internet", chromiumMajor: "143", brandMajor: "30", platformBrand: "Android", reducedAndroid: true})
	f("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/154.0.0.0 Safari/537.36 Edg/154.0.0.0", "desktop",
		uaInfo{os: "Windows", osv: "10.0", deviceType: adcom1.DevicePC, chromium: true,
			brand: "Microsoft Edge", chromiumMajor: "154", brandMajor: "154", platformBrand: "Windows"})
	f("Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/148.0.0.0 Mobile/15E148 Safari/604.1", "mobile",
		uaInfo{os: "iOS", osv: "18.3", make: "Apple", model: "iPhone", deviceType: adcom1.DevicePhone, mobile: true})
	f("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/145.0.0.0 Safari/537.36", "desktop",
		uaInfo{os: "macOS", osv: "10.15.7", make: "Apple", model: "Macintosh", deviceType: adcom1.DevicePC, chromium: true,
			brand: "Google Chrome", chromiumMajor: "145", brandMajor: "145", platformBrand: "macOS"})
	f("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", "desktop",
		uaInfo{os: "Linux", deviceType: adcom1.DevicePC, platformBrand: "Linux"})
	f("curl/8.0", "desktop", uaInfo{os: "Other", deviceType: adcom1.DevicePC})
}

// TestSynthSUAMatchesUA checks that every Chromium UA carries an sua whose
// Chromium version and platform agree with the UA string, and no other UA
// does.
func TestSynthSUAMatchesUA(t *testing.T) {
	s, err := NewSynth(DefaultSynthConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2000; i++ {
		req := s.Next()
		d := req.Device
		in := parseUA(d.UA, "desktop", 0, 0)
		if !in.chromium {
			if d.SUA != nil {
				t.Fatalf("non-Chromium UA %q has sua", d.UA)
			}
			continue
		}
		if d.SUA == nil {
			t.Fatalf("Chromium UA %q has no sua", d.UA)
		}
		if got := d.SUA.Browsers[0]; got.Brand != "Chromium" || got.Version[0] != in.chromiumMajor {
			t.Fatalf("UA %q: sua browser %+v, want Chromium %s", d.UA, got, in.chromiumMajor)
		}
		if d.SUA.Platform.Brand != in.platformBrand {
			t.Fatalf("UA %q: sua platform %q, want %q", d.UA, d.SUA.Platform.Brand, in.platformBrand)
		}
		if (*d.SUA.Mobile == 1) != strings.Contains(d.UA, "Mobile") {
			t.Fatalf("UA %q: sua mobile %d", d.UA, *d.SUA.Mobile)
		}
	}
}

func TestRandomHostStaysInPrefix(t *testing.T) {
	s, _ := NewSynth(DefaultSynthConfig(1))
	for _, p := range []string{"73.0.0.0/8", "107.77.192.0/18", "2601::/20", "1.2.3.0/24", "10.0.0.7/32", "2001:db8::/127", "::ffff:1.2.0.0/112"} {
		pfx := netip.MustParsePrefix(p)
		for i := 0; i < 200; i++ {
			a := randomHost(s.r, pfx)
			if !pfx.Contains(a) && !netip.PrefixFrom(pfx.Addr().Unmap(), max(pfx.Bits()-96, 0)).Contains(a) {
				t.Fatalf("randomHost(%s) = %s, outside", p, a)
			}
		}
	}
}

// TestSynthMMDB draws networks from MaxMind's synthetic test database.
func TestSynthMMDB(t *testing.T) {
	nets, err := LoadMMDBNetworks(filepath.Join("testdata", "maxmind", "GeoIP2-Country-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultSynthConfig(5)
	cfg.Networks = nets
	s, err := NewSynth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	countries := map[string]int{}
	for i := 0; i < 500; i++ {
		req := s.Next()
		ip := req.Device.IP + req.Device.IPv6
		a, err := netip.ParseAddr(ip)
		if err != nil {
			t.Fatalf("bad ip %q", ip)
		}
		found := false
		for _, n := range nets {
			if n.Prefix.Contains(a) {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("ip %s is in none of the mmdb networks", a)
		}
		countries[req.Device.Geo.Country]++
	}
	t.Logf("%d networks; countries %v", len(nets), countries)
	if len(countries) < 3 {
		t.Errorf("only %d countries drawn from the mmdb", len(countries))
	}
	if _, err := LoadMMDBNetworks(filepath.Join("testdata", "nope.mmdb")); err == nil {
		t.Error("LoadMMDBNetworks of a missing file: no error")
	}
}
