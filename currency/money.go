// Package currency holds adx's money: exact amounts (Micros), the
// arithmetic on them, and conversion between currencies.
//
// # The arithmetic, in one place
//
// Every amount is an integer number of micros (millionths) of a currency
// unit, a CPM in the OpenRTB sense: 1.5 USD CPM is 1,500,000 micros. A
// price from JSON (a float64) becomes Micros once, when it enters the
// auction, rounded toward zero (FromFloat): a bid of 1.2345678 is
// 1,234,567 micros, never more than the partner bid. From there on
// everything (floors, second prices, increments, margins, conversions) is
// integer arithmetic, and every step that must round rounds so that a
// price never rises above what a partner bid:
//   - a price converted to another currency, or reduced by a margin,
//     rounds down;
//   - a floor converted to the bid's currency rounds up, so that a bid just
//     under the true floor is never let through by rounding;
//   - the price sent to the SSP is rounded down to the configured
//     precision (RoundDown).
//
// Micros hold ±9.2 trillion units, far past any CPM; the conversions that
// multiply check for overflow.
package currency

import (
	"math"
	"strconv"
)

// Micros is an amount of money in millionths of a currency unit.
type Micros int64

// MicrosPerUnit is the number of micros in one currency unit.
const MicrosPerUnit = 1_000_000

// maxFloat is the largest float64 whose micros fit an int64 with room.
const maxFloat = float64(math.MaxInt64/MicrosPerUnit) / 2

// FromFloat converts a price in currency units to Micros, rounding toward
// zero. ok is false for NaN, infinities and amounts too large to hold.
func FromFloat(f float64) (m Micros, ok bool) {
	if math.IsNaN(f) || f > maxFloat || f < -maxFloat {
		return 0, false
	}
	// f*1e6 is exact enough: a float64 holds 15-17 significant digits,
	// and prices have at most 6 decimals that matter here. Nudge by the
	// float's own rounding error so that 1.1 (1.0999999999999999...)
	// is 1,100,000 micros, not 1,099,999.
	v := f * MicrosPerUnit
	if v >= 0 {
		return Micros(math.Floor(v + v*1e-15)), true
	}
	return Micros(math.Ceil(v + v*1e-15)), true
}

// Float returns m in currency units, for JSON.
func (m Micros) Float() float64 { return float64(m) / MicrosPerUnit }

// RoundDown rounds m down to a multiple of step micros (step ≤ 1: m as is).
// A price sent to the SSP at a precision of 0.01 is RoundDown(10_000).
func (m Micros) RoundDown(step Micros) Micros {
	if step <= 1 {
		return m
	}
	r := m % step
	if r < 0 {
		r += step
	}
	return m - r
}

// String formats m in units with six decimals, e.g. "1.500000".
func (m Micros) String() string {
	neg := m < 0
	u := uint64(m)
	if neg {
		u = uint64(-m)
	}
	s := strconv.FormatUint(u/MicrosPerUnit, 10) + "." + pad6(u%MicrosPerUnit)
	if neg {
		return "-" + s
	}
	return s
}

func pad6(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for len(s) < 6 {
		s = "0" + s
	}
	return s
}
