package currency

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

// testRates is the EUR table of testdata/rates.json, built inline so the
// conversion tests do not depend on the parser's file handling.
func testRates(t testing.TB) *Rates {
	t.Helper()
	r, err := ParseRates([]byte(`{"base":"EUR","date":"2026-12-02","rates":{"USD":1.0842,"GBP":0.8571,"JPY":162.37,"IDR":17671.52,"KWD":0.3331}}`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConvert(t *testing.T) {
	r := testRates(t)
	f := func(m Micros, from, to string, round Rounding, want Micros) {
		t.Helper()
		got, err := r.Convert(m, from, to, round)
		if err != nil || got != want {
			t.Errorf("Convert(%s %s → %s, %v) = %d, %v; want %d", m, from, to, round, got, err, want)
		}
	}
	// From the base: exact.
	f(1_000_000, "EUR", "USD", Down, 1_084_200)
	f(1_000_000, "EUR", "USD", Up, 1_084_200)
	f(2_500_000, "EUR", "JPY", Down, 405_925_000)
	// To the base: 1 USD = 1/1.0842 EUR = 0.922339789...
	f(1_000_000, "USD", "EUR", Down, 922_339)
	f(1_000_000, "USD", "EUR", Up, 922_340)
	// A cross rate: 1 GBP = 1.0842/0.8571 USD = 1.264963248...
	f(1_000_000, "GBP", "USD", Down, 1_264_963)
	f(1_000_000, "GBP", "USD", Up, 1_264_964)
	// 1,000 JPY in USD: 1000 × 1.0842 / 162.37 = 6.677342...
	f(1_000_000_000, "JPY", "USD", Down, 6_677_341)
	f(1_000_000_000, "JPY", "USD", Up, 6_677_342)
	// Same currency: as is, whatever the table holds.
	f(1_234_567, "USD", "USD", Up, 1_234_567)
	f(1_234_567, "XYZ", "XYZ", Down, 1_234_567)
	// Zero, one micro.
	f(0, "USD", "EUR", Up, 0)
	f(1, "USD", "EUR", Down, 0)
	f(1, "USD", "EUR", Up, 1)
	// Negative amounts round toward −∞ (Down) or +∞ (Up) too.
	f(-1_000_000, "USD", "EUR", Down, -922_340)
	f(-1_000_000, "USD", "EUR", Up, -922_339)
	// The ends of Micros.
	f(math.MaxInt64, "USD", "EUR", Down, 8_507_076_219_198_280_581)
	f(math.MinInt64, "USD", "EUR", Up, -8_507_076_219_198_280_582)
	f(math.MinInt64, "EUR", "EUR", Down, math.MinInt64)
}

func TestConvertErrors(t *testing.T) {
	r := testRates(t)
	f := func(m Micros, from, to string, round Rounding, want error) {
		t.Helper()
		got, err := r.Convert(m, from, to, round)
		if !errors.Is(err, want) && !sameUnknown(err, want) {
			t.Errorf("Convert(%s %s → %s) = %d, %v; want %v", m, from, to, got, err, want)
		}
	}
	f(1, "CHF", "USD", Down, &UnknownCurrencyError{Code: "CHF"})
	f(1, "USD", "usd", Down, &UnknownCurrencyError{Code: "usd"})
	f(1, "", "USD", Up, &UnknownCurrencyError{Code: ""})
	f(math.MaxInt64, "EUR", "USD", Down, ErrOverflow)
	f(math.MaxInt64/2, "EUR", "IDR", Up, ErrOverflow)
	f(math.MinInt64, "EUR", "USD", Down, ErrOverflow)
	f(-math.MaxInt64, "KWD", "IDR", Up, ErrOverflow)

	_, err := r.Convert(1, "EUR", "CHF", Down)
	var unknown *UnknownCurrencyError
	if !errors.As(err, &unknown) || unknown.Code != "CHF" || err.Error() != `currency: no exchange rate for "CHF"` {
		t.Errorf("Convert to CHF: %v, want an *UnknownCurrencyError naming CHF", err)
	}
}

func sameUnknown(err, want error) bool {
	var a, b *UnknownCurrencyError
	return errors.As(err, &a) && errors.As(want, &b) && a.Code == b.Code
}

// TestConvertRounding checks Convert against exact rational arithmetic over
// random rates and amounts: Down never exceeds the exact value and Up
// never falls short of it, each by less than one micro; a price converted
// there and back never rises, a floor never falls.
func TestConvertRounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// A rate between 1e-6 and 1e7, spread over the magnitudes, with up
	// to 12 decimals.
	randRate := func() uint64 {
		return uint64(math.Pow(10, rng.Float64()*13-6) * rateUnit)
	}
	randAmount := func() Micros {
		switch rng.IntN(4) {
		case 0:
			return Micros(rng.Int64N(100_000_000)) // up to 100 units: CPMs
		case 1:
			return Micros(rng.Int64N(math.MaxInt64/1_000_000)) - math.MaxInt64/2_000_000
		case 2:
			return Micros(rng.Int64N(1000))
		}
		return Micros(rng.Int64())
	}
	var converted, overflows int
	for range 200_000 {
		rf, rt := randRate(), randRate()
		if rf == 0 || rt == 0 {
			continue
		}
		r := &Rates{base: "AAA", rates: map[string]uint64{"AAA": rf, "BBB": rt}}
		m := randAmount()
		down, errD := r.Convert(m, "AAA", "BBB", Down)
		up, errU := r.Convert(m, "AAA", "BBB", Up)
		// exact = m × rt / rf
		exact := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(int64(m)), new(big.Int).SetUint64(rt)), new(big.Int).SetUint64(rf))
		fits := func(v *big.Rat) bool {
			return v.Cmp(new(big.Rat).SetInt64(math.MaxInt64)) <= 0 && v.Cmp(new(big.Rat).SetInt64(math.MinInt64)) >= 0
		}
		if errD != nil || errU != nil {
			if !errors.Is(errD, ErrOverflow) && !errors.Is(errU, ErrOverflow) {
				t.Fatalf("%d × %d/%d: %v, %v", m, rt, rf, errD, errU)
			}
			// Overflow only when a rounded result is out of range.
			floor, ceil := ratFloor(exact), ratCeil(exact)
			if (errD != nil) == fits(new(big.Rat).SetInt(floor)) || (errU != nil) == fits(new(big.Rat).SetInt(ceil)) {
				t.Fatalf("%d × %d/%d: errors %v, %v; exact %s", m, rt, rf, errD, errU, exact.FloatString(3))
			}
			overflows++
			continue
		}
		converted++
		d, u := new(big.Rat).SetInt64(int64(down)), new(big.Rat).SetInt64(int64(up))
		one := big.NewRat(1, 1)
		if d.Cmp(exact) > 0 || new(big.Rat).Add(d, one).Cmp(exact) <= 0 {
			t.Fatalf("Down: %d × %d/%d = %d, exact %s", m, rt, rf, down, exact.FloatString(6))
		}
		if u.Cmp(exact) < 0 || new(big.Rat).Sub(u, one).Cmp(exact) >= 0 {
			t.Fatalf("Up: %d × %d/%d = %d, exact %s", m, rt, rf, up, exact.FloatString(6))
		}
		// There and back.
		if back, err := r.Convert(down, "BBB", "AAA", Down); err == nil && back > m {
			t.Fatalf("a price of %d went to %d and back to %d", m, down, back)
		}
		if back, err := r.Convert(up, "BBB", "AAA", Up); err == nil && back < m {
			t.Fatalf("a floor of %d went to %d and back to %d", m, up, back)
		}
	}
	// The sample must exercise both paths.
	if converted < 100_000 || overflows == 0 {
		t.Errorf("%d conversions, %d overflows: the sample misses a path", converted, overflows)
	}
}

// ratFloor is ⌊r⌋: big.Int.Div is Euclidean, the floor for a positive
// denominator.
func ratFloor(r *big.Rat) *big.Int { return new(big.Int).Div(r.Num(), r.Denom()) }

// ratCeil is ⌈r⌉ = −⌊−r⌋.
func ratCeil(r *big.Rat) *big.Int {
	return new(big.Int).Neg(new(big.Int).Div(new(big.Int).Neg(r.Num()), r.Denom()))
}

func TestRatesAccessors(t *testing.T) {
	r := testRates(t)
	if r.Base() != "EUR" || !r.AsOf().Equal(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("base %s, as of %s", r.Base(), r.AsOf())
	}
	if got := r.Currencies(); len(got) != 6 || got[0] != "EUR" || got[5] != "USD" {
		t.Errorf("Currencies() = %v", got)
	}
	for code, want := range map[string]string{"EUR": "1", "USD": "1.0842", "GBP": "0.8571", "IDR": "17671.52"} {
		if got, ok := r.Rate(code); !ok || got != want {
			t.Errorf("Rate(%s) = %q, %v; want %q", code, got, ok, want)
		}
	}
	if _, ok := r.Rate("CHF"); ok || r.Has("CHF") || !r.Has("JPY") {
		t.Error("CHF is not in the table, JPY is")
	}
	if got := r.String(); got != "EUR 2026-12-02, 6 currencies" {
		t.Errorf("String() = %q", got)
	}
	asOf := r.AsOf()
	for now, want := range map[time.Time]time.Duration{
		asOf.Add(90 * time.Hour): 90 * time.Hour,
		asOf:                     0,
		asOf.Add(-time.Hour):     0, // a date ahead of the clock is fresh, not negative
	} {
		if got := r.Age(now); got != want {
			t.Errorf("Age(%s) = %s, want %s", now, got, want)
		}
	}
	id := Identity("USD")
	if id.Age(asOf) != 0 || !id.AsOf().IsZero() || id.String() != "USD no date, 1 currency" {
		t.Errorf("Identity: age %s, as of %s, %q", id.Age(asOf), id.AsOf(), id)
	}
	if got, err := id.Convert(5, "USD", "EUR", Down); !sameUnknown(err, &UnknownCurrencyError{Code: "EUR"}) {
		t.Errorf("Identity converts USD to EUR: %d, %v", got, err)
	}
}
