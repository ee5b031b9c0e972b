package devicedb

import (
	"sort"
	"strings"
	"testing"

	"github.com/ua-parser/uap-go/uaparser"
)

// Floors for the agreement with uap-core's reference parser on every real
// browser UA in testdata (BENCHMARKS.md has the measured figures).
const (
	floorUAPFamily = 0.999
	floorUAPMajor  = 0.995
)

// uapFamilies maps uap-core's OS family to adx's vocabulary for the four
// families the accuracy bar covers.
var uapFamilies = map[string]string{"iOS": "iOS", "Android": "Android", "Windows": "Windows", "Mac OS X": "macOS"}

// sameUAPFamily: iOS and iPadOS are one uap-core family, and Fire OS is
// the vocabulary's name for Amazon's Android fork, which uap-core calls
// Android.
func sameUAPFamily(got, want string) bool {
	return sameOS(got, want) || want == "Android" && got == "Fire OS"
}

// sameMajor reports whether the dotted osv has the major version major:
// "17.4" has "17", "10.15.7" has "10", "RT 8.1" has uap-core's "RT 8".
func sameMajor(osv, major string) bool {
	return osv == major || strings.HasPrefix(osv, major+".")
}

// frozenSafariMajor returns the real iOS major of Safari on iOS 26 and
// later, whose UA freezes the OS token at 18_x and carries the release in
// Version/ (Safari 26 release notes: "Safari now reports a frozen OS
// version in its user agent string on iOS 26 and iPadOS 26"). uap-core
// still reports 18 for these.
func frozenSafariMajor(ua string) (string, bool) {
	if !strings.Contains(ua, " OS 18_") {
		return "", false
	}
	i := strings.Index(ua, " Version/")
	if i < 0 {
		return "", false
	}
	v := parseVersion(ua[i+9:])
	if v.n == 0 || v.p[0] < 26 {
		return "", false
	}
	return versionMajor[v.p[0]], true
}

// realBrowserUAs returns the distinct Mozilla/ UAs of the copied real test
// data: Intoli's browser sample and the uap-core device and OS samples.
func realBrowserUAs(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	add := func(ua string) {
		if strings.HasPrefix(ua, "Mozilla/") && !seen[ua] {
			seen[ua] = true
			out = append(out, ua)
		}
	}
	var intoli []struct{ UserAgent string }
	readGzipJSON(t, "testdata/intoli/user-agents.json.gz", &intoli)
	for _, u := range intoli {
		add(u.UserAgent)
	}
	for _, f := range []string{"testdata/uap-core/test_device.sample30.yaml", "testdata/uap-core/test_os.sample30.yaml"} {
		var cases struct {
			TestCases []struct {
				UA string `yaml:"user_agent_string"`
			} `yaml:"test_cases"`
		}
		readYAML(t, f, &cases)
		for _, c := range cases.TestCases {
			add(c.UA)
		}
	}
	return out
}

// TestOSAgainstUAPCore measures OS family and major version on every real
// browser UA here (about 3,500 distinct) against uap-core's reference
// parser, whose answers are the ones uap-core's own test files record:
// the copied test files hold only 27 browser rows with a version.
func TestOSAgainstUAPCore(t *testing.T) {
	db := defaultDB(t)
	ref := uaparser.NewFromSaved()
	var (
		fam, maj, frozen share
		byFam            = map[string]*share{}
		misses           []string
	)
	for _, ua := range realBrowserUAs(t) {
		o := ref.ParseOs(ua)
		want, ok := uapFamilies[o.Family]
		if !ok {
			continue
		}
		r := db.Lookup(Evidence{UA: ua})
		if r.IsBot {
			continue // a crawler is not a browser UA
		}
		okFam := sameUAPFamily(r.OS, want)
		fam.add(okFam)
		if !okFam {
			misses = append(misses, "family "+o.Family+", got "+r.OS+": "+ua)
		}
		major := o.Major
		if m, ok := frozenSafariMajor(ua); ok {
			major = m
			frozen.add(sameMajor(r.OSV, major))
		}
		if major == "" {
			continue
		}
		okMaj := okFam && sameMajor(r.OSV, major)
		maj.add(okMaj)
		if byFam[want] == nil {
			byFam[want] = &share{}
		}
		byFam[want].add(okMaj)
		if !okMaj && okFam {
			misses = append(misses, "major "+o.Family+" "+major+", got "+r.OSV+": "+ua)
		}
	}
	t.Logf("OS family: %.4f (%d/%d)", fam.rate(), fam.ok, fam.n)
	t.Logf("OS major: %.4f (%d/%d), of which frozen-UA Safari on iOS 26+: %d/%d", maj.rate(), maj.ok, maj.n, frozen.ok, frozen.n)
	keys := make([]string, 0, len(byFam))
	for k := range byFam {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("  %-8s major %.4f (%d/%d)", k, byFam[k].rate(), byFam[k].ok, byFam[k].n)
	}
	for _, m := range misses {
		t.Logf("miss: %s", m)
	}
	if fam.n < 3000 || maj.n < 3000 {
		t.Fatalf("only %d family and %d version rows: the test data shrank", fam.n, maj.n)
	}
	if fam.rate() < floorUAPFamily {
		t.Errorf("OS family agreement %.4f below %.4f", fam.rate(), floorUAPFamily)
	}
	if maj.rate() < floorUAPMajor {
		t.Errorf("OS major agreement %.4f below %.4f", maj.rate(), floorUAPMajor)
	}
}

// TestWindowsLabelsMatchUAPCore checks the Windows release labels, old
// ones included, against uap-core on the tokens browsers have sent.
func TestWindowsLabelsMatchUAPCore(t *testing.T) {
	db := defaultDB(t)
	ref := uaparser.NewFromSaved()
	for _, platform := range []string{
		"Windows NT 10.0; Win64; x64", "Windows NT 6.4", "Windows NT 6.3; Win64; x64", "Windows NT 6.3; ARM; Trident/7.0; Touch",
		"Windows NT 6.2; WOW64", "Windows NT 6.2; ARM; Trident/6.0", "Windows NT 6.1; Trident/7.0", "Windows NT 6.0",
		"Windows NT 5.2; en-US", "Windows NT 5.1; rv:1.9", "Windows NT 5.0", "Windows NT 4.0", "Windows NT",
		"Windows; U; Win32; rv:1.6", "Windows; U; Win98; en-US", "Windows 98", "Windows 95", "Win95", "Windows; U; Win 9x 4.90",
		"Windows ME", "Windows U; Win NT 5.0; en-US", "WinNT4.0", "Win16", "Windows 10.0; Win64", "Windows XP",
		"compatible; MSIE 6.0; Windows CE; IEMobile 7.11", "compatible; MSIE 4.01; Windows CE; PPC; 240x320",
	} {
		ua := "Mozilla/5.0 (" + platform + ") Gecko/20100101 Firefox/40.0"
		o := ref.ParseOs(ua)
		r := db.Lookup(Evidence{UA: ua})
		if o.Family != "Windows" {
			t.Fatalf("%s: uap-core says %q", ua, o.Family)
		}
		if r.OS != "Windows" || !sameMajor(r.OSV, o.Major) {
			t.Errorf("%s: got %s %q, uap-core says %s %q", ua, r.OS, r.OSV, o.Family, o.Major)
		}
	}
}
