package currency

import (
	"math"
	"math/bits"
)

// PPM is a ratio in parts per million: a take rate of 15% is 150_000, a
// bid multiplier of 0.9 is 900_000.
type PPM int64

// OnePPM is the ratio 1.
const OnePPM PPM = 1_000_000

// PPMFromFloat converts a ratio to PPM, rounded to the nearest.
func PPMFromFloat(f float64) PPM { return PPM(math.Round(f * float64(OnePPM))) }

// Scale returns m × num / den, rounded down, or up when up is set: exact,
// through 128 bits. m must not be negative, num and den must be positive;
// a result past the range of Micros is clamped to its largest value.
func (m Micros) Scale(num, den int64, up bool) Micros {
	if m <= 0 || num <= 0 || den <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(m), uint64(num))
	if hi >= uint64(den) {
		return math.MaxInt64
	}
	q, r := bits.Div64(hi, lo, uint64(den))
	if up && r != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return Micros(q)
}
