package currency

import (
	"errors"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"time"
)

// Rounding says which way Convert rounds a result that falls between two
// micros. See the package doc for which amount takes which.
type Rounding uint8

const (
	// Down rounds toward negative infinity: for prices, so that a
	// converted price never rises above what the partner bid.
	Down Rounding = iota
	// Up rounds toward positive infinity: for floors, so that a converted
	// floor never falls below the seller's.
	Up
)

// ErrOverflow is returned by Convert when the converted amount does not fit
// in Micros.
var ErrOverflow = errors.New("currency: converted amount overflows")

// ErrStaleRates is returned by Snapshot.Convert between two currencies when
// the rates are older than the Source's maximum age, or when a configured
// rates file has not loaded yet: foreign-currency amounts are then not
// converted at all (reason stale_rates), rather than at a rate the market
// has left behind.
var ErrStaleRates = errors.New("currency: exchange rates are stale")

// UnknownCurrencyError is returned by Convert for a currency the table has
// no rate for. Code is the currency as the caller gave it.
type UnknownCurrencyError struct {
	Code string
}

func (e *UnknownCurrencyError) Error() string {
	return "currency: no exchange rate for " + strconv.Quote(e.Code)
}

// ratePrecision is the number of decimal places a rate is held to, and
// rateUnit one unit of rate in those places: a rate of 1.0842 is held as
// 1,084,200,000,000. Twelve places keep every rate a bank publishes
// (the ECB gives 5 or 6 significant digits) exactly, and keep 8 significant
// digits of a rate as small as 0.0001, while a rate up to maxRate still
// fits a uint64.
const (
	ratePrecision = 12
	rateUnit      = 1_000_000_000_000
)

// maxRate is the largest rate a table holds, in units of the currency per
// unit of the base: 1e7 ×rateUnit fits a uint64, and no currency trades
// near ten million to another (the widest pair, Iranian rial to Kuwaiti
// dinar, is under two million).
const maxRate = 10_000_000

// Rates is a table of exchange rates against one base currency, as of one
// date. It is immutable once built (ParseRates, LoadRates, Identity) and
// safe for concurrent use; a newer table replaces it whole.
//
// Each rate is the amount of its currency that one unit of the base buys,
// held as an integer of 1e-12 units. Convert works in integers only: the
// exact product of the amount and the two rates, divided once and rounded
// once in the direction the caller names. A cross rate (neither currency
// the base) goes through the base without an intermediate rounding.
type Rates struct {
	base  string
	asOf  time.Time         // zero: no date (Identity)
	rates map[string]uint64 // in 1e-12 units of the currency per base unit; holds base at rateUnit
	codes []string          // sorted
}

// Identity returns a table that holds code alone, with no date: it converts
// code to itself and nothing else, and is never stale. It stands for the
// exchange currency when no rates file is configured.
func Identity(code string) *Rates {
	return &Rates{base: code, rates: map[string]uint64{code: rateUnit}, codes: []string{code}}
}

// newRates builds a table from parsed, validated rates. rates must hold
// base at rateUnit.
func newRates(base string, asOf time.Time, rates map[string]uint64) *Rates {
	codes := make([]string, 0, len(rates))
	for c := range rates {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return &Rates{base: base, asOf: asOf, rates: rates, codes: codes}
}

// Base returns the currency the rates are quoted against.
func (r *Rates) Base() string { return r.base }

// AsOf returns the time the rates are for: the start (00:00 UTC) of their
// date, or the instant a JSON file gives. For ECB rates the date is the
// business day whose 14:10 CET concertation set them (published around
// 16:00 CET that day), so AsOf is up to about 15 hours earlier than the
// moment the rates were known. Zero for Identity.
func (r *Rates) AsOf() time.Time { return r.asOf }

// Age returns now − AsOf, never negative; zero for a table without a date.
func (r *Rates) Age(now time.Time) time.Duration {
	if r.asOf.IsZero() {
		return 0
	}
	return max(now.Sub(r.asOf), 0)
}

// Currencies returns the ISO-4217 codes the table holds, the base
// included, sorted. The slice is the caller's.
func (r *Rates) Currencies() []string { return slices.Clone(r.codes) }

// Has tells whether the table holds a rate for code.
func (r *Rates) Has(code string) bool {
	_, ok := r.rates[code]
	return ok
}

// Rate returns how much of code one unit of the base buys, as the decimal
// held (at most 12 places, trailing zeros cut), e.g. "1.0842"; ok is false
// for a currency the table does not hold.
func (r *Rates) Rate(code string) (rate string, ok bool) {
	v, ok := r.rates[code]
	if !ok {
		return "", false
	}
	s := strconv.FormatUint(v/rateUnit, 10)
	frac := v % rateUnit
	if frac == 0 {
		return s, true
	}
	f := strconv.FormatUint(frac, 10)
	for len(f) < ratePrecision {
		f = "0" + f
	}
	for f[len(f)-1] == '0' {
		f = f[:len(f)-1]
	}
	return s + "." + f, true
}

// String describes the table for logs and /version, e.g.
// "EUR 2026-12-02, 30 currencies".
func (r *Rates) String() string {
	date := "no date"
	if !r.asOf.IsZero() {
		date = r.asOf.Format(time.DateOnly)
		if r.asOf.Hour() != 0 || r.asOf.Minute() != 0 || r.asOf.Second() != 0 {
			date = r.asOf.Format(time.RFC3339)
		}
	}
	if len(r.codes) == 1 {
		return r.base + " " + date + ", 1 currency"
	}
	return r.base + " " + date + ", " + strconv.Itoa(len(r.codes)) + " currencies"
}

// Convert converts m micros of from into micros of to, rounded as round
// says: Down for prices, Up for floors. The same currency converts to
// itself unchanged, whether the table holds it or not. A currency the
// table does not hold is an *UnknownCurrencyError, a result past the range
// of Micros ErrOverflow. Convert does not allocate, except for the
// UnknownCurrencyError.
func (r *Rates) Convert(m Micros, from, to string, round Rounding) (Micros, error) {
	if from == to {
		return m, nil
	}
	rf, ok := r.rates[from]
	if !ok {
		return 0, &UnknownCurrencyError{Code: from}
	}
	rt, ok := r.rates[to]
	if !ok {
		return 0, &UnknownCurrencyError{Code: to}
	}
	return mulDiv(m, rt, rf, round)
}

// mulDiv returns m×num/den rounded as round says, exactly: the product is
// held in 128 bits. den must not be zero.
func mulDiv(m Micros, num, den uint64, round Rounding) (Micros, error) {
	neg := m < 0
	mag := uint64(m)
	if neg {
		mag = -mag // two's complement: also right for math.MinInt64
	}
	// The magnitude is rounded; for a negative amount rounding down means
	// rounding the magnitude up.
	up := (round == Up) != neg
	hi, lo := bits.Mul64(mag, num)
	if hi >= den {
		return 0, ErrOverflow // the quotient needs more than 64 bits
	}
	q, rem := bits.Div64(hi, lo, den)
	if up && rem != 0 {
		if q == math.MaxUint64 {
			return 0, ErrOverflow
		}
		q++
	}
	if neg {
		if q > 1<<63 {
			return 0, ErrOverflow
		}
		return Micros(-int64(q)), nil // q == 1<<63 wraps to math.MinInt64, as wanted
	}
	if q > math.MaxInt64 {
		return 0, ErrOverflow
	}
	return Micros(q), nil
}
