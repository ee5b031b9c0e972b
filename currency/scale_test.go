package currency

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// Scale agrees with exact rational arithmetic, rounded each way.
func TestScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(m Micros, num, den int64) {
		t.Helper()
		exact := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(int64(m)), big.NewInt(num)), big.NewInt(den))
		down := new(big.Int).Quo(exact.Num(), exact.Denom())
		up := new(big.Int).Set(down)
		if !exact.IsInt() {
			up.Add(up, big.NewInt(1))
		}
		if got := m.Scale(num, den, false); down.IsInt64() && int64(got) != down.Int64() {
			t.Fatalf("%d×%d/%d rounded down = %d, want %s", m, num, den, got, down)
		}
		if got := m.Scale(num, den, true); up.IsInt64() && int64(got) != up.Int64() {
			t.Fatalf("%d×%d/%d rounded up = %d, want %s", m, num, den, got, up)
		}
	}
	for range 100_000 {
		check(Micros(rng.Int64N(1<<50)), 1+rng.Int64N(int64(OnePPM)), int64(OnePPM))
		check(Micros(rng.Int64N(1<<40)), 1+rng.Int64N(1<<40), 1+rng.Int64N(1<<40))
	}
	if got := Micros(math.MaxInt64).Scale(2, 1, false); got != math.MaxInt64 {
		t.Errorf("overflow gives %d, want the largest Micros", got)
	}
	if got := Micros(1_500_000).Scale(int64(OnePPM-150_000), int64(OnePPM), false); got != 1_275_000 {
		t.Errorf("1.5 less 15%% = %d", got)
	}
}
