package privacy

import (
	"strings"
	"testing"
)

func TestParseUSPrivacy(t *testing.T) {
	f := func(s string, want USPrivacy, wantOK, optOut bool) {
		t.Helper()
		got, ok := ParseUSPrivacy(s)
		if got != want || ok != wantOK || got.OptedOut() != optOut {
			t.Errorf("ParseUSPrivacy(%q) = %+v, %v (opted out %v); want %+v, %v (%v)", s, got, ok, got.OptedOut(), want, wantOK, optOut)
		}
		if b, bok := ParseUSPrivacy([]byte(s)); b != got || bok != ok {
			t.Errorf("ParseUSPrivacy([]byte(%q)) = %+v, %v; the string form gave %+v, %v", s, b, bok, got, ok)
		}
	}
	f("1YYN", USPrivacy{'Y', 'Y', 'N'}, true, true)
	f("1YNN", USPrivacy{'Y', 'N', 'N'}, true, false)
	f("1NYY", USPrivacy{'N', 'Y', 'Y'}, true, true)
	f("1---", USPrivacy{'-', '-', '-'}, true, false)
	f("1-Y-", USPrivacy{'-', 'Y', '-'}, true, true)
	f("1yyn", USPrivacy{'Y', 'Y', 'N'}, true, true)
	f("", USPrivacy{}, false, false)
	f("1YY", USPrivacy{}, false, false)
	f("1YYNN", USPrivacy{}, false, false)
	f("2YYN", USPrivacy{}, false, false)
	f("1YXN", USPrivacy{}, false, false)
	f("1 YN", USPrivacy{}, false, false)
	f("YYN1", USPrivacy{}, false, false)
	f("1ÝN", USPrivacy{}, false, false) // 4 bytes, not 4 flags
}

func TestUSPrivacyString(t *testing.T) {
	for _, s := range []string{"1YYN", "1---", "1NYY"} {
		if u, _ := ParseUSPrivacy(s); u.String() != s {
			t.Errorf("%q: String() = %q", s, u.String())
		}
	}
	if s := (USPrivacy{}).String(); s != "" {
		t.Errorf("zero USPrivacy: String() = %q, want empty", s)
	}
}

func FuzzParseUSPrivacy(f *testing.F) {
	for _, s := range []string{"1YYN", "1YNN", "1---", "1yyn", "", "2YYN", "1YY", "1\xffYN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := ParseUSPrivacy(s)
		if !ok {
			if u != (USPrivacy{}) {
				t.Fatalf("%q: not ok, yet %+v", s, u)
			}
			return
		}
		if len(s) != 4 || s[0] != '1' {
			t.Fatalf("%q: accepted", s)
		}
		if u.String() != strings.ToUpper(s) {
			t.Fatalf("%q: reads back as %q", s, u.String())
		}
		if u.OptedOut() != (s[2] == 'Y' || s[2] == 'y') {
			t.Fatalf("%q: opted out %v", s, u.OptedOut())
		}
		if b, bok := ParseUSPrivacy([]byte(s)); b != u || !bok {
			t.Fatalf("%q: the bytes parse as %+v, %v", s, b, bok)
		}
	})
}
