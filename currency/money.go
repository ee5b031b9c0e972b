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
//
// # Conversion
//
// Rates is a table of exchange rates against one base currency, as of a
// date. Each rate is held as an integer of 1e-12 units (a rate with more
// decimals is rounded to the nearest at load), and Convert computes
// amount × rate(to) / rate(from) exactly in 128-bit integers, rounding
// once, in the direction the caller names: Down for prices, Up for
// floors. A cross rate (neither currency the base) is exact too: the two
// rates meet in one fraction, with no rounding through the base. No float
// enters a conversion.
//
// A Source serves the table in service from a rates file, reloaded when
// the file changes, or, with no file, the exchange currency alone. Rates
// older than the maximum age are stale: Snapshot.Convert then refuses every
// conversion between two currencies (ErrStaleRates), and the caller drops
// the amount (reason stale_rates) rather than price it at a rate the
// market has left.
//
// # Rates files
//
// One loader reads two formats, told apart by the first character.
//
// JSON, adx's own:
//
//	{"base": "EUR", "date": "2026-12-02", "rates": {"USD": 1.0842, "GBP": 0.8571, "JPY": 162.37}}
//
// Its keys, all required:
//   - base: the ISO-4217 code every rate is quoted against.
//   - date: the day the rates are for, YYYY-MM-DD (its start, in UTC), or
//     an RFC 3339 instant for rates taken during a day.
//   - rates: how much of each currency one unit of base buys, as JSON
//     numbers (their decimal text is read exactly). The base may be
//     listed with rate 1, or left out.
//
// Unknown keys, a currency given twice, a code that is not three capital
// letters, and a rate that is not positive, is below 1e-12 or above 1e7
// are errors.
//
// XML: the European Central Bank's daily euro reference rates, as
// published at https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml
// (a gesmes:Envelope holding one <Cube time="YYYY-MM-DD"> of
// <Cube currency="USD" rate="1.0842"/> entries), base EUR. The ECB
// publishes once per TARGET business day, around 16:00 CET: none on
// weekends and TARGET holidays, when the last day's file stays current.
// The history files (several days) are refused.
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
