package devicedb

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ua-parser/uap-go/uaparser"
)

// TestInApp checks the in-app forms of testdata/inapp/inapp.tsv: the OS,
// its version, the device type, the make, the model token or Apple
// hardware id the parser finds and the screen an app states.
func TestInApp(t *testing.T) {
	db := defaultDB(t)
	f, err := os.Open("testdata/inapp/inapp.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dash := func(s string) string {
		if s == "-" {
			return ""
		}
		return s
	}
	sc := bufio.NewScanner(f)
	rows := 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 7 {
			t.Fatalf("inapp.tsv:%d: %d columns, want 7", n, len(c))
		}
		rows++
		wantOS, wantOSV, wantMake, wantToken, wantScreen, ua := dash(c[0]), dash(c[1]), c[3], dash(c[4]), c[5], c[6]
		wantType, err := strconv.Atoi(c[2])
		if err != nil {
			t.Fatalf("inapp.tsv:%d: bad device type %q", n, c[2])
		}
		r := db.Lookup(Evidence{UA: ua})
		var info uaInfo
		parseUA(ua, &info)
		token := info.model
		if token == "" {
			token = info.hw
		}
		if r.OS != wantOS || r.OSV != wantOSV || r.DeviceType != int8(wantType) || token != wantToken {
			t.Errorf("inapp.tsv:%d: %s\n got os=%q osv=%q type=%d token=%q (id %s)\nwant os=%q osv=%q type=%d token=%q",
				n, ua, r.OS, r.OSV, r.DeviceType, token, r.ID, wantOS, wantOSV, wantType, wantToken)
		}
		if wantMake != "" && r.Make != wantMake {
			t.Errorf("inapp.tsv:%d: make %q, want %q: %s", n, r.Make, wantMake, ua)
		}
		if screen := strconv.FormatInt(r.W, 10) + "x" + strconv.FormatInt(r.H, 10); wantScreen != "" && screen != wantScreen {
			t.Errorf("inapp.tsv:%d: screen %s, want %s: %s", n, screen, wantScreen, ua)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows < 40 {
		t.Fatalf("only %d rows: the test data shrank", rows)
	}
}

// TestDarwinAgainstUAPCore compares the Darwin → iOS table with uap-core's
// CFNetwork rules for every Darwin release from iOS 9 to 18.
func TestDarwinAgainstUAPCore(t *testing.T) {
	ref := uaparser.NewFromSaved()
	n := 0
	for major := 15; major <= 24; major++ {
		for minor := 0; minor <= 7; minor++ {
			if major == 15 && minor == 7 {
				continue // there was no Darwin 15.7
			}
			d := strconv.Itoa(major) + "." + strconv.Itoa(minor) + ".0"
			// uap-core keys its older rules on the CFNetwork version too.
			cf := map[int]string{15: "758.0.2", 16: "811.5.4", 17: "897.15", 18: "975.0.3", 19: "1121.2.2", 20: "1240.0.4", 21: "1333.0.4"}[major]
			if cf == "" {
				cf = "1410.0.3"
			}
			ua := "App/1.0 CFNetwork/" + cf + " Darwin/" + d
			o := ref.ParseOs(ua)
			got := darwinIOS(parseVersion(d), parseVersion(cf).p[0])
			if o.Family != "iOS" || o.Major == "" {
				continue
			}
			n++
			if versionMajor[got.p[0]] != o.Major || o.Minor != "" && strconv.Itoa(int(got.p[1])) != o.Minor {
				t.Errorf("Darwin %s: got iOS %s, uap-core says %s.%s", d, versionString(got), o.Major, o.Minor)
			}
		}
	}
	if n < 40 {
		t.Fatalf("only %d Darwin versions compared", n)
	}
}

// TestMakersSpelling checks that the makers table spells each brand as the
// embedded database's brand table does, so that a device reports one make
// whether its row or its UA names it.
func TestMakersSpelling(t *testing.T) {
	db := defaultDB(t)
	for _, m := range makers {
		b, ok := db.brands.maker(m.name)
		if !ok || m.name == "hmd global" {
			continue // HMD Global sells its phones as Nokia
		}
		if b != m.brand {
			t.Errorf("makers: %q is %q, the brand table spells it %q", m.name, m.brand, b)
		}
	}
}

// TestStatedScreen pins the screen rule: an app's stated screen (FBDM,
// Instagram's WxH) is its window, so a device the database names reports
// its row's physical screen, and the stated one fills in only for a device
// the database does not list.
func TestStatedScreen(t *testing.T) {
	db := defaultDB(t)
	f := func(ua string, statedW, statedH int64, listed bool) {
		t.Helper()
		var info uaInfo
		parseUA(ua, &info)
		if info.w != statedW || info.h != statedH {
			t.Fatalf("parsed screen %dx%d, want %dx%d: %s", info.w, info.h, statedW, statedH, ua)
		}
		r := db.Lookup(Evidence{UA: ua})
		rec := &db.recs[db.byID[r.ID]]
		wantW, wantH := statedW, statedH
		if listed {
			if r.Match < MatchToken || rec.w == 0 {
				t.Fatalf("%s: match %s, row %s has %dx%d: want a listed device with a size", ua, r.Match, r.ID, rec.w, rec.h)
			}
			wantW, wantH = int64(rec.w), int64(rec.h)
		}
		if r.W != wantW || r.H != wantH {
			t.Errorf("screen %dx%d, want %dx%d (listed %v): %s", r.W, r.H, wantW, wantH, listed, ua)
		}
	}
	f("Instagram 302.0.0.23.114 Android (33/13; 420dpi; 1080x2220; samsung; SM-A505F; a50; exynos9610; en_US; 520702284)", 1080, 2220, true)
	f("[FBAN/FB4A;FBAV/442.0.0.35.109;FBDM/{density=2.625,width=1080,height=2220};FBMF/samsung;FBDV/SM-G960U;FBSV/10;]", 1080, 2220, true)
	f("Instagram 302.0.0.23.114 Android (33/13; 420dpi; 1080x2220; samsung; SM-X999Z; x; y; en_US; 520702284)", 1080, 2220, false)
	f("[FBAN/FB4A;FBAV/3.9;FBDM/{density=1.0,width=320,height=480};FBDV/HTC Desire 200;FBSV/4.0.3;]", 320, 480, false)
}
