package devicedb

import (
	"bytes"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// minimal is a valid source that the rejection tests break one way each.
const minimal = `format: adx-devicedb/1
version: t1
devices:
  - id: generic
    caps: {brand: "", model: "", marketing_name: "", hardware_version: "", device_type: 0, os: "", os_version: "",
      browser: "", screen_width: 0, screen_height: 0, pixel_ratio: 0, ppi: 0, is_bot: false, is_tablet: false,
      is_smarttv: false, js: true}
  - id: generic_android
    fall_back: generic
    caps: {os: Android, device_type: 1}
  - id: phone
    fall_back: generic_android
    user_agents: ["UA-1"]
    tokens: [SM-T1]
    caps: {brand: Acme, device_type: 4, pixel_ratio: 2.5}
`

func compileString(s string) (*DB, error) {
	src, err := ParseSource([]byte(s))
	if err != nil {
		return nil, err
	}
	return Compile(src)
}

func TestCompileRejects(t *testing.T) {
	if _, err := compileString(minimal); err != nil {
		t.Fatalf("minimal source: %v", err)
	}
	f := func(name, old, new string, wantErr ...string) {
		t.Helper()
		src := strings.Replace(minimal, old, new, 1)
		if src == minimal {
			t.Fatalf("%s: %q not in the minimal source", name, old)
		}
		_, err := compileString(src)
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		for _, w := range wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", name, err, w)
			}
		}
	}
	f("duplicate id", "id: phone", "id: generic_android", `device "generic_android"`, "duplicate")
	f("missing parent", "fall_back: generic_android\n    user", "fall_back: nosuch\n    user", `device "phone"`, "fall_back", `"nosuch"`)
	f("cycle", "fall_back: generic\n    caps: {os: Android", "fall_back: phone\n    caps: {os: Android", "fall_back", "cycle")
	f("no generic", "id: generic\n", "id: root0\n", `"generic"`, "missing")
	f("bad int", "device_type: 4", "device_type: four", `device "phone"`, "caps.device_type", `"four" is not an int`)
	f("int range", "device_type: 4", "device_type: 9", `device "phone"`, "caps.device_type", "outside")
	f("bad float", "pixel_ratio: 2.5", "pixel_ratio: x", `device "phone"`, "caps.pixel_ratio")
	f("bad enum", "os: Android", "os: Androidd", `device "generic_android"`, "caps.os", "not one of")
	f("bad bool", "js: true", "js: yes please", `device "generic"`, "caps.js")
	f("unknown cap", "brand: Acme", "brandd: Acme", `device "phone"`, "caps.brandd", "unknown capability")
	f("root lacks cap", "ppi: 0, ", "", `device "generic"`, "caps.ppi", "every capability")
	f("UA twice", "caps: {os: Android", "user_agents: [\"UA-1\"]\n    caps: {os: Android", `device "`, "user_agents", `"UA-1"`, "also mapped")
	f("token twice", "caps: {os: Android", "tokens: [sm-t1]\n    caps: {os: Android", "tokens", "also mapped")
	f("empty fall_back", "fall_back: generic\n", "fall_back: \"\"\n", `device "generic_android"`, "fall_back: empty")
	f("unknown key", "version: t1", "versio: t1", "versio")
	f("bad format", "adx-devicedb/1", "adx-devicedb/9", "format")
	f("brand prefix case", "version: t1", "version: t1\nbrand_prefixes: {\"AC-\": Acme, \"ac-\": Other}", "brand_prefixes", `"AC-"`, `"ac-"`)
	f("blank brand prefix", "version: t1", "version: t1\nbrand_prefixes: {\" \": Acme}", "brand_prefixes", "blank")
	f("long brand prefix", "version: t1", "version: t1\nbrand_prefixes: {"+strings.Repeat("A", 64)+": Acme}", "brand_prefixes", "longer than 63")
}

// TestBrandPrefixes: the longest listed prefix of a model token names
// the brand of a device the database does not list, case-insensitively;
// an empty brand stops shorter prefixes; a listed device wins.
func TestBrandPrefixes(t *testing.T) {
	db, err := compileString(strings.Replace(minimal, "version: t1", `version: t1
brand_prefixes: {"SM-": Acme, "sm-t9": Other, "SM-X": "", "Acme": Acme}`, 1))
	if err != nil {
		t.Fatal(err)
	}
	f := func(model, wantMake, wantModel string, wantMatch MatchType) {
		t.Helper()
		r := db.Lookup(Evidence{UA: "Mozilla/5.0 (Linux; Android 13; " + model + ") Chrome/120.0.0.0 Mobile Safari/537.36"})
		if r.Make != wantMake || r.Model != wantModel || r.Match != wantMatch {
			t.Errorf("%s: got %q %q %s, want %q %q %s", model, r.Make, r.Model, r.Match, wantMake, wantModel, wantMatch)
		}
	}
	f("SM-T1", "Acme", "SM-T1", MatchToken)
	f("sm-t1", "Acme", "SM-T1", MatchToken) // the listed spelling of the same token
	f("SM-A100", "Acme", "SM-A100", MatchBrand)
	f("SM-T900", "Other", "SM-T900", MatchBrand)
	f("SM-X100", "", "", MatchFallback)
	f("XY-100", "", "", MatchFallback)
	f("Acme One Build/1", "Acme", "Acme One", MatchBrand)
}

func TestCompileResolves(t *testing.T) {
	db, err := compileString(minimal)
	if err != nil {
		t.Fatal(err)
	}
	f := func(id, capName, want string) {
		t.Helper()
		if got, ok := db.Capability(id, capName); !ok || got != want {
			t.Errorf("Capability(%q, %q) = %q, %v; want %q", id, capName, got, ok, want)
		}
	}
	f("phone", "os", "Android")    // inherited
	f("phone", "device_type", "4") // overridden
	f("phone", "js", "true")       // from the root
	f("phone", "pixel_ratio", "2.5")
	f("generic_android", "brand", "")
	if _, ok := db.Capability("nosuch", "os"); ok {
		t.Error("Capability of a missing device succeeded")
	}
	r := db.Lookup(Evidence{UA: "UA-1"})
	if r.ID != "phone" || r.Match != MatchExact || r.Make != "Acme" {
		t.Errorf("exact lookup = %+v", r)
	}
}

func TestWURFLImport(t *testing.T) {
	src, err := ReadSourceFile("testdata/wurfl/mini.xml")
	if err != nil {
		t.Fatal(err)
	}
	db, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	f := func(id, capName, want string) {
		t.Helper()
		if got, ok := db.Capability(id, capName); !ok || got != want {
			t.Errorf("Capability(%q, %q) = %q, %v; want %q", id, capName, got, ok, want)
		}
	}
	f("samsung_sm_s918b_ver1", "brand", "Samsung")
	f("samsung_sm_s918b_ver1", "marketing_name", "Galaxy S23 Ultra")
	f("samsung_sm_s918b_ver1", "os", "Android")
	f("samsung_sm_s918b_ver1", "screen_width", "1440")
	f("samsung_sm_s918b_ver1", "device_type", "4")
	f("samsung_sm_x710_ver1", "device_type", "5")
	f("samsung_sm_s918b_ver1", "wurfl_pointing_method", "touchscreen")
	r := db.Lookup(Evidence{UA: "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Mobile Safari/537.36"})
	if r.Match != MatchExact || r.Model != "SM-S918B" || r.OSV != "13" {
		t.Errorf("lookup in the WURFL import = %+v", r)
	}
}

// TestDefaultUpToDate checks that the embedded snapshot is default.yaml
// compiled, and pins a golden summary of the default DB
// (testdata/golden/default-summary.txt, rewritten by -update).
func TestDefaultUpToDate(t *testing.T) {
	db, err := OpenFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := db.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap, DefaultSnapshot()) {
		t.Fatal("default.snap is not default.yaml compiled: run go generate ./devicedb")
	}
	var b strings.Builder
	for _, id := range []string{"samsung_galaxy_s23_ultra", "google_pixel_8", "apple_iphone_15_pro", "apple_ipad_10th_generation", "generic_android_tablet", "amazon_fire_tv_stick_4k", "oneplus_5t", "huawei_p20_lite", "apple_iphone_17_pro"} {
		r, ok := db.Device(id)
		if !ok {
			t.Errorf("default DB lacks %q", id)
			continue
		}
		b.WriteString(strings.Join([]string{r.ID, r.Make, r.Model, r.MarketingName, r.HWV, r.OS,
			itoa(int64(r.DeviceType)), itoa(r.W), itoa(r.H), itoa(r.PPI)}, "|") + "\n")
	}
	golden(t, "testdata/golden/default-summary.txt", b.String())
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run go test -update after checking):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
