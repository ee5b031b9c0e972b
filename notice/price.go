package notice

import (
	"math/bits"
)

// DSPPrice returns what the demand partner of c pays for the notice, in
// micros of the exchange currency, from sspPrice, the price the SSP
// reported in its notice (${AUCTION_PRICE}), in micros of the response
// currency: sspPrice × Charge / Price. The ratio carries both the margin
// and the exchange rate, so an SSP that clears below the price it was
// given (a second-price SSP) passes its discount on in proportion. The
// product is computed in 128 bits and rounded down; the result is never
// above BidPrice and never negative. When the SSP reported no price
// (reported is false, or sspPrice is negative: ParsePrice did not take
// it) or c.Price is not positive, it is Charge, within the same bounds.
func DSPPrice(c *Claims, sspPrice int64, reported bool) int64 {
	p := c.Charge
	if reported && sspPrice >= 0 && c.Price > 0 && c.Charge > 0 {
		hi, lo := bits.Mul64(uint64(sspPrice), uint64(c.Charge))
		if hi >= uint64(c.Price) {
			p = c.BidPrice // the quotient passes 64 bits: far above the bid
		} else if q, _ := bits.Div64(hi, lo, uint64(c.Price)); q > uint64(c.BidPrice) {
			p = c.BidPrice
		} else {
			p = int64(q)
		}
	}
	return max(0, min(p, c.BidPrice))
}

// maxPriceDigits bounds a price's integer digits: a CPM of a billion units
// (maxPrice) or more is no price, and 9 digits in micros stay far within
// int64.
const (
	maxPriceDigits = 9
	maxPrice       = 1_000_000_000 * 1_000_000
)

// maxPriceLen bounds a price's text, float formatting included
// ("1.2300000000000002").
const maxPriceLen = 32

// ParsePrice parses the decimal CPM an SSP reports in its notice ("1.25",
// "0.5", "3") into micros. It takes digits, then optionally a dot and at
// least one digit: no sign, exponent, spaces, "NaN" or "Inf", nothing
// before the first digit or after the last, at most 9 integer digits and
// 32 characters, below a billion units once rounded. Digits past the sixth decimal round to the nearest micro,
// a half up, which undoes float formatting ("1.2299999999999999" is
// 1.23, "0.0000005" is 0.000001). An unexpanded "${AUCTION_PRICE}", an
// encrypted price or anything else is not ok.
func ParsePrice(s string) (micros int64, ok bool) {
	if len(s) == 0 || len(s) > maxPriceLen {
		return 0, false
	}
	var units int64
	i := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		units = units*10 + int64(s[i]-'0')
	}
	if i == 0 || i > maxPriceDigits {
		return 0, false
	}
	micros = units * 1_000_000
	if i == len(s) {
		return micros, true
	}
	if s[i] != '.' || i+1 == len(s) {
		return 0, false
	}
	frac := s[i+1:]
	scale := int64(100_000)
	for k := range len(frac) {
		c := frac[k]
		if !isDigit(c) {
			return 0, false
		}
		switch {
		case k < 6:
			micros += int64(c-'0') * scale
			scale /= 10
		case k == 6 && c >= '5':
			micros++
		}
	}
	if micros >= maxPrice {
		return 0, false // rounded up past the bound
	}
	return micros, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
