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
