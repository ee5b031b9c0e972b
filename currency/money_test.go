package currency

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestFromFloat(t *testing.T) {
	f := func(in float64, want Micros, wantOK bool) {
		t.Helper()
		got, ok := FromFloat(in)
		if got != want || ok != wantOK {
			t.Errorf("FromFloat(%v) = %d, %v; want %d, %v", in, got, ok, want, wantOK)
		}
	}
	f(0, 0, true)
	f(1.5, 1_500_000, true)
	f(1.1, 1_100_000, true)
	f(0.29, 290_000, true)
	f(2.675, 2_675_000, true)
	f(1.2345678, 1_234_567, true) // toward zero: never above the bid
	f(0.0000019, 1, true)
	f(-1.5, -1_500_000, true)
	f(1000, 1_000_000_000, true)
	f(math.NaN(), 0, false)
	f(math.Inf(1), 0, false)
	f(1e308, 0, false)
}

// A price never grows on its way in: FromFloat(f) ≤ f, within one micro,
// and every decimal with six places or fewer comes in exactly.
func TestFromFloatNeverRaises(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		f := rng.Float64() * 1000
		m, ok := FromFloat(f)
		if !ok {
			t.Fatalf("FromFloat(%v) not ok", f)
		}
		if m.Float() > f || f-m.Float() > 1.0/MicrosPerUnit {
			t.Fatalf("FromFloat(%v) = %d micros", f, m)
		}
		// A price with at most six decimals, as JSON carries it.
		micros := rng.Int64N(1_000_000_000)
		dec, _ := strconv.ParseFloat(Micros(micros).String(), 64)
		if got, _ := FromFloat(dec); got != Micros(micros) {
			t.Fatalf("FromFloat(%s) = %d, want %d", Micros(micros), got, micros)
		}
	}
}

func TestRoundDownAndString(t *testing.T) {
	f := func(m, step, want Micros, s string) {
		t.Helper()
		got := m.RoundDown(step)
		if got != want || got.String() != s {
			t.Errorf("%d.RoundDown(%d) = %d (%s), want %d (%s)", m, step, got, got, want, s)
		}
	}
	f(1_234_567, 10_000, 1_230_000, "1.230000")
	f(1_239_999, 10_000, 1_230_000, "1.230000")
	f(1_230_000, 10_000, 1_230_000, "1.230000")
	f(1_234_567, 1, 1_234_567, "1.234567")
	f(5, 10_000, 0, "0.000000")
	f(-1_234_567, 10_000, -1_240_000, "-1.240000")
}
