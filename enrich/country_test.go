package enrich

import "testing"

func TestAlpha3(t *testing.T) {
	f := func(alpha2, want string) {
		t.Helper()
		if got := Alpha3(alpha2); got != want {
			t.Errorf("Alpha3(%q) = %q, want %q", alpha2, got, want)
		}
	}
	// The countries of the MaxMind test databases, and a few more.
	f("GB", "GBR")
	f("US", "USA")
	f("SE", "SWE")
	f("CN", "CHN")
	f("BT", "BTN")
	f("PH", "PHL")
	f("JP", "JPN")
	f("UA", "UKR")
	f("DE", "DEU")
	f("SG", "SGP")
	f("AU", "AUS")
	f("FR", "FRA")
	f("TW", "TWN")
	f("PS", "PSE")
	f("SS", "SSD")
	f("AQ", "ATA")
	f("gb", "GBR")
	f("Us", "USA")
	// Kosovo: MaxMind's XK; CLDR's alpha-3 (ISO 3166-1 has none).
	f("XK", "XKK")
	// Deprecated codes an old database may hold.
	f("AN", "ANT")
	f("YU", "YUG")
	// Not countries.
	f("UK", "")
	f("EU", "")
	f("AP", "")
	f("A1", "")
	f("ZZ", "")
	f("XX", "")
	f("AA", "")
	f("", "")
	f("G", "")
	f("GBR", "")
	f("@A", "")
	f("[A", "")
	f("\xc7\xa1", "")
}

// TestAlpha3Complete checks the table against the size of ISO 3166-1: 249
// assigned codes, plus XK and the deprecated codes CLDR still knows.
func TestAlpha3Complete(t *testing.T) {
	n := 0
	for _, s := range alpha3 {
		if s != "" {
			n++
			if len(s) != 3 {
				t.Errorf("alpha-3 %q", s)
			}
		}
	}
	if n < 250 || n > 300 {
		t.Errorf("table has %d countries, want 249 assigned + XK + a few deprecated", n)
	}
}
