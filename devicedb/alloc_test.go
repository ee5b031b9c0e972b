//go:build !race

package devicedb

import (
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// Allocation pins (house style): a cached lookup allocates nothing, and so
// does an uncached one whose OS version is interned.
func TestLookupAllocs(t *testing.T) {
	db := defaultDB(t)
	c := NewCache(1024)
	mobile := int8(1)
	f := func(name string, ev Evidence, cached bool) {
		t.Helper()
		c.Lookup(db, ev)
		n := testing.AllocsPerRun(200, func() {
			if cached {
				c.Lookup(db, ev)
			} else {
				db.Lookup(ev)
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocs per lookup, want 0", name, n)
		}
	}
	reduced := "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
	sua := &openrtb2.UserAgent{Model: "SM-S918B", Mobile: &mobile, Platform: &openrtb2.BrandVersion{Brand: "Android", Version: []string{"14", "0", "0"}},
		Browsers: []openrtb2.BrandVersion{{Brand: "Chromium", Version: []string{"120"}}}}
	iphone := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	f("cached reduced UA + sua", Evidence{UA: reduced, SUA: sua}, true)
	f("cached iPhone", Evidence{UA: iphone}, true)
	f("uncached reduced UA + sua", Evidence{UA: reduced, SUA: sua}, false)
	f("uncached iPhone", Evidence{UA: iphone}, false)
	f("uncached Mac (10.15.7)", Evidence{UA: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"}, false)
	f("uncached iPhone 17.4.1", Evidence{UA: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"}, false)
	ipad := Evidence{UA: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", W: 820, H: 1180}
	f("cached iPad desktop site", ipad, true)
	f("uncached iPad desktop site", ipad, false)
	f("uncached Windows", Evidence{UA: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"}, false)
	listed := Evidence{UA: "Mozilla/5.0 (Linux; Android 13; SM-A515F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"}
	f("uncached listed model, as the database spells it", listed, false)
	brand := Evidence{UA: "Mozilla/5.0 (Linux; Android 13; SM-X999Z) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"}
	f("cached brand match", brand, true)
	// A device known only by its brand reports the model it sent: one
	// copy of it, so that the result never aliases the evidence.
	if n := testing.AllocsPerRun(200, func() { db.Lookup(brand) }); n != 1 {
		t.Errorf("uncached brand match: %v allocs per lookup, want 1 (the model's copy)", n)
	}
}
