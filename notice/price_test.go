package notice

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/adx-exchange/adx/currency"
)

func TestDSPPrice(t *testing.T) {
	// The DSP bid 3.00 and is charged 2.50 (exchange currency, USD); the
	// SSP was given 2.07 EUR.
	c := Claims{BidPrice: 3_000_000, Charge: 2_500_000, Clear: 2_250_000, Price: 2_070_000}
	f := func(name string, c Claims, ssp int64, reported bool, want int64) {
		t.Helper()
		if got := DSPPrice(&c, ssp, reported); got != want {
			t.Errorf("%s: DSPPrice(%d, %v) = %d, want %d", name, ssp, reported, got, want)
		}
	}
	f("the price given", c, 2_070_000, true, 2_500_000)
	f("a second-price SSP clears lower", c, 1_035_000, true, 1_250_000)
	f("rounded down", c, 1, true, 1) // 1 × 2.5 / 2.07 = 1.2
	f("zero", c, 0, true, 0)
	f("above the price given: capped at the bid", c, 4_000_000, true, 3_000_000)
	f("just at the bid", c, 2_484_000, true, 3_000_000)
	f("not reported", c, 1_035_000, false, 2_500_000)
	f("negative", c, -1, true, 2_500_000)
	zeroPrice := c
	zeroPrice.Price = 0
	f("no price given", zeroPrice, 1_000_000, true, 2_500_000)
	big := Claims{BidPrice: math.MaxInt64, Charge: math.MaxInt64 - 1, Price: 3}
	f("128-bit product", big, math.MaxInt64/2, true, math.MaxInt64)
	f("128-bit product, exact", Claims{BidPrice: math.MaxInt64, Charge: 1 << 62, Price: 1 << 62}, 1<<61, true, 1<<61)
	f("quotient past 64 bits", Claims{BidPrice: 5, Charge: math.MaxInt64, Price: 1}, math.MaxInt64, true, 5)
	f("charge above the bid (never, but bounded)", Claims{BidPrice: 1, Charge: 2, Price: 2}, 2, true, 1)
	f("charge above the bid, not reported", Claims{BidPrice: 1, Charge: 2, Price: 2}, 0, false, 1)
	f("negative charge", Claims{BidPrice: 1, Charge: -2, Price: 2}, 2, false, 0)
	f("negative bid", Claims{BidPrice: -1, Charge: 2, Price: 2}, 2, true, 0)
}

func TestParsePrice(t *testing.T) {
	f := func(s string, want int64, wantOK bool) {
		t.Helper()
		got, ok := ParsePrice(s)
		if ok != wantOK || got != want {
			t.Errorf("ParsePrice(%q) = %d, %v; want %d, %v", s, got, ok, want, wantOK)
		}
	}
	f("1.25", 1_250_000, true)
	f("0.5", 500_000, true)
	f("3", 3_000_000, true)
	f("0", 0, true)
	f("0.000001", 1, true)
	f("12.345678", 12_345_678, true)
	f("1.250000", 1_250_000, true)
	f("007.5", 7_500_000, true)
	f("999999999.999999", 999_999_999_999_999, true)
	// Past six decimals: the nearest micro, a half up.
	f("1.2299999999999999", 1_230_000, true)
	f("1.2300000000000002", 1_230_000, true)
	f("0.0000005", 1, true)
	f("0.0000004999", 0, true)
	f("0.9999995", 1_000_000, true)
	f("1.00000049", 1_000_000, true)
	for _, s := range []string{
		"", "${AUCTION_PRICE}", "%24%7BAUCTION_PRICE%7D", "YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw",
		"-1", "+1", "1e3", "1E3", "1.5e-3", "NaN", "nan", "Inf", "0x10", ".5", "5.", ".", " 1", "1 ", "1,5",
		"1.2.3", "1..2", "1.-2", "1_000", "１", "1000000000", "1234567890.5", "0.1234567890123456789012345678901", "999999999.9999995",
	} {
		f(s, 0, false)
	}
}

// FuzzParsePrice: no input makes ParsePrice panic; what it takes is
// within its bounds, agrees with strconv.ParseFloat to the micro, and
// its canonical spelling parses back to the same micros.
func FuzzParsePrice(f *testing.F) {
	for _, s := range []string{"1.25", "0.5", "3", "1.2299999999999999", "${AUCTION_PRICE}", "1e3", "999999999.9999995", ".5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := ParsePrice(s)
		if !ok {
			if m != 0 {
				t.Errorf("ParsePrice(%q) = %d, not ok: want 0", s, m)
			}
			return
		}
		if m < 0 || m >= maxPrice {
			t.Fatalf("ParsePrice(%q) = %d, out of bounds", s, m)
		}
		if strings.Trim(s, "0123456789.") != "" {
			t.Fatalf("ParsePrice(%q) took a character other than digits and a dot", s)
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("ParsePrice(%q) = %d, but ParseFloat fails: %v", s, m, err)
		}
		if d := math.Abs(x*1e6 - float64(m)); d > 0.5+x*1e6*1e-15 {
			t.Errorf("ParsePrice(%q) = %d, ParseFloat × 1e6 = %f", s, m, x*1e6)
		}
		canon := string(appendDecimal(nil, currency.Micros(m)))
		if again, ok := ParsePrice(canon); !ok || again != m {
			t.Errorf("ParsePrice(%q) = %d, which spells %q, parsed back as %d, %v", s, m, canon, again, ok)
		}
	})
}
