//go:build !race

package notice

import "testing"

// TestExpandAllocations pins Expand at no allocation into a buffer with
// room, with or without macros, encrypted or not.
func TestExpandAllocations(t *testing.T) {
	v := testValues()
	enc := testValues()
	enc.Crypter, enc.IV = testCrypter(t), testIV
	buf := make([]byte, 0, 1024)
	f := func(name, s string, v *Values) {
		t.Helper()
		if n := testing.AllocsPerRun(100, func() { buf = ExpandURL(buf[:0], s, v) }); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
	f("no macro", "https://dsp.example/win?x=1", v)
	f("macros", "https://dsp.example/win?a=${AUCTION_ID}&p=${AUCTION_PRICE}&b=${AUCTION_ID:B64}&m=${AUCTION_MBR}", v)
	f("encrypted", "https://dsp.example/win?p=${AUCTION_PRICE}", enc)
}

// TestNoticeAllocations pins Expander.Notice at no allocation into a
// buffer with room, encrypted or not.
func TestNoticeAllocations(t *testing.T) {
	e := testExpander(t)
	c := claims
	buf := make([]byte, 0, 1024)
	for partner := range 2 {
		if n := testing.AllocsPerRun(100, func() { buf = e.Notice(buf[:0], &c, partner, 1_250_000, 0, 0) }); n != 0 {
			t.Errorf("partner %d: %v allocations, want 0", partner, n)
		}
	}
}
