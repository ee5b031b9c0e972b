package devicedb

import (
	"strings"
	"testing"
)

func TestTokenizer(t *testing.T) {
	f := func(ua string, want ...string) {
		t.Helper()
		var tz Tokenizer
		tz.Reset(ua)
		var got []string
		for {
			tok, ok := tz.Next()
			if !ok {
				break
			}
			s := tok.Name
			if tok.Kind == TokenComment {
				s = "(" + s + ")"
			} else if tok.Version != "" {
				s += "/" + tok.Version
			}
			got = append(got, s)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("tokens of %q\n got %q\nwant %q", ua, got, want)
		}
	}
	f("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0", "(Linux)", "(Android 10)", "(K)", "AppleWebKit/537.36", "(KHTML, like Gecko)", "Chrome/120.0.0.0", "Mobile", "Safari/537.36")
	f("MyApp/1.2 (iPhone15,3; iOS 17.4; Scale/3.00)", "MyApp/1.2", "(iPhone15,3)", "(iOS 17.4)", "(Scale/3.00)")
	f("a (b (c; d); e", "a", "(b (c; d))", "(e)")
	f("")
	f("  ;;) ((", "(()")
	f("Dalvik/2.1.0(Linux; U)", "Dalvik/2.1.0", "(Linux)", "(U)")
}

func TestParseVersion(t *testing.T) {
	f := func(s string, want string) {
		t.Helper()
		if got := versionString(parseVersion(s)); got != want {
			t.Errorf("parseVersion(%q) = %q, want %q", s, got, want)
		}
	}
	f("17_4_1 like", "17.4.1")
	f("10.0", "10.0")
	f("14", "14")
	f("2.1-update1", "2.1")
	f("x", "")
	f("99999999999999.1", "99999.1")
}

// FuzzTokenizer: tokens are substrings in order, the tokenizer terminates,
// and Lookup never panics on the same input.
func FuzzTokenizer(f *testing.F) {
	for _, s := range []string{
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		"Roku/DVP-12.0 (12.0.0.4182-88)", "((((", "a/b/c (;;;) )", "Mozilla/5.0+(iPhone;+CPU+iPhone+OS+9_3_1+like+Mac+OS+X)",
		"Mozilla/5.0 (Linux U Android 2.1-update1 en-us LG-C710 Build/Eclair) AppleWebKit/530.17",
		"Mozilla/5.0 (Linux; U; Android Donut; en-us; HTC_Lexikon_C Build/Donut)", "( Android ", "(Windows NT 6.3; ARM)",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
	} {
		f.Add(s, int64(820), int64(1180))
	}
	db, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ua string, w, h int64) {
		var tz Tokenizer
		tz.Reset(ua)
		for n := 0; ; n++ {
			tok, ok := tz.Next()
			if !ok {
				break
			}
			if n > len(ua) {
				t.Fatalf("more tokens than bytes in %q", ua)
			}
			if !strings.Contains(ua, tok.Name) || !strings.Contains(ua, tok.Version) {
				t.Fatalf("token %+v is not part of %q", tok, ua)
			}
		}
		r := db.Lookup(Evidence{UA: ua, W: w, H: h})
		if r.ID == "" {
			t.Fatalf("empty result for %q", ua)
		}
	})
}
