package notice

import (
	"encoding/base64"
	"math/bits"
	"strconv"
	"strings"

	"github.com/adx-exchange/adx/currency"
)

// Values are what the macros of one bid stand for (OpenRTB 2.6 §4.4).
type Values struct {
	// AuctionID is the bid request's id: ${AUCTION_ID}.
	AuctionID string
	// BidID is the bid's id: ${AUCTION_BID_ID}.
	BidID string
	// ImpID is the id of the imp the bid is for: ${AUCTION_IMP_ID}.
	ImpID string
	// SeatID is the bidder's seat: ${AUCTION_SEAT_ID}.
	SeatID string
	// AdID is the bid's adid: ${AUCTION_AD_ID}.
	AdID string
	// Price is the clearing price the bidder is charged, per thousand, in
	// Currency: ${AUCTION_PRICE}, a decimal without trailing zeros.
	Price currency.Micros
	// BidPrice is what the bidder bid, in Currency: ${AUCTION_MBR}, the
	// market bid ratio, is Price / BidPrice.
	BidPrice currency.Micros
	// Currency is the currency of Price: ${AUCTION_CURRENCY}.
	Currency string
	// Loss is the loss reason code, 0 for a win: ${AUCTION_LOSS}.
	Loss int
	// MinToWin is the lowest bid that would have won: ${AUCTION_MIN_TO_WIN};
	// zero is unknown, substituted as nothing.
	MinToWin currency.Micros
	// Crypter, when set, makes ${AUCTION_PRICE} the token of Price under
	// IV, and ${AUCTION_PRICE:B64} the same token (it is base64 already,
	// and the price never leaves in the clear).
	Crypter *PriceCrypter
	IV      [16]byte
}

// The macros, by the name between "${" and "}" (without a ":B64" suffix).
type macro uint8

const (
	unknownMacro macro = iota
	auctionID
	bidID
	impID
	seatID
	adID
	price
	currencyCode
	mbr
	loss
	minToWin
)

func lookup(name string) macro {
	switch name {
	case "AUCTION_ID":
		return auctionID
	case "AUCTION_BID_ID":
		return bidID
	case "AUCTION_IMP_ID":
		return impID
	case "AUCTION_SEAT_ID":
		return seatID
	case "AUCTION_AD_ID":
		return adID
	case "AUCTION_PRICE":
		return price
	case "AUCTION_CURRENCY":
		return currencyCode
	case "AUCTION_MBR":
		return mbr
	case "AUCTION_LOSS":
		return loss
	case "AUCTION_MIN_TO_WIN":
		return minToWin
	}
	return unknownMacro
}

// maxMacro bounds the length of a macro between "${" and "}": longer is
// no macro of ours.
const maxMacro = len("AUCTION_MIN_TO_WIN:B64")

// b64Suffix asks for a value in base64 (2.6 §4.4: "${AUCTION_PRICE:B64}").
const b64Suffix = ":B64"

// Expand appends s to dst with the macros it holds replaced by v's values,
// as they are: the form for markup (adm), where the spec has the exchange
// substitute the raw value. Unknown macros are left as they are. When s
// holds no "${", it is appended unchanged and nothing is allocated past
// dst's growth.
func Expand(dst []byte, s string, v *Values) []byte {
	return expand(dst, s, v, false)
}

// ExpandURL is Expand for a notice URL (nurl, burl, lurl): each value is
// query-escaped, so that an id cannot break the URL.
func ExpandURL(dst []byte, s string, v *Values) []byte {
	return expand(dst, s, v, true)
}

func expand(dst []byte, s string, v *Values, escape bool) []byte {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		end := strings.IndexByte(s[2:min(len(s), 2+maxMacro+1)], '}')
		if end < 0 {
			dst = append(dst, "${"...)
			s = s[2:]
			continue
		}
		name := s[2 : 2+end]
		b64 := strings.HasSuffix(name, b64Suffix)
		if b64 {
			name = name[:len(name)-len(b64Suffix)]
		}
		m := lookup(name)
		if m == unknownMacro {
			dst = append(dst, "${"...)
			s = s[2:]
			continue
		}
		dst = v.appendMacro(dst, m, b64, escape)
		s = s[2+end+1:]
	}
}

// appendMacro appends the value of m, in base64 when b64, query-escaped
// when escape.
func (v *Values) appendMacro(dst []byte, m macro, b64, escape bool) []byte {
	if m == price && v.Crypter != nil {
		// Web-safe base64: nothing to escape.
		return v.Crypter.AppendEncrypt(dst, int64(v.Price), v.IV)
	}
	var raw, enc [96]byte
	val := v.appendValue(raw[:0], m)
	if b64 {
		val = base64.StdEncoding.AppendEncode(enc[:0], val)
	}
	if escape {
		return appendQueryEscape(dst, val)
	}
	return append(dst, val...)
}

// appendValue appends the plain value of m.
func (v *Values) appendValue(dst []byte, m macro) []byte {
	switch m {
	case auctionID:
		return append(dst, v.AuctionID...)
	case bidID:
		return append(dst, v.BidID...)
	case impID:
		return append(dst, v.ImpID...)
	case seatID:
		return append(dst, v.SeatID...)
	case adID:
		return append(dst, v.AdID...)
	case price:
		return appendDecimal(dst, v.Price)
	case currencyCode:
		return append(dst, v.Currency...)
	case mbr:
		if r, ok := ratio(v.Price, v.BidPrice); ok {
			return appendDecimal(dst, r)
		}
		return dst
	case loss:
		return strconv.AppendInt(dst, int64(v.Loss), 10)
	case minToWin:
		if v.MinToWin > 0 {
			return appendDecimal(dst, v.MinToWin)
		}
		return dst
	}
	return dst
}

// ratio returns num/den in micros, rounded down; ok is false unless
// 0 <= num <= den and den > 0.
func ratio(num, den currency.Micros) (currency.Micros, bool) {
	if den <= 0 || num < 0 || num > den {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(num), currency.MicrosPerUnit)
	q, _ := bits.Div64(hi, lo, uint64(den)) // hi < den: num <= den
	return currency.Micros(q), true
}

// appendDecimal appends m in units, without trailing zeros: 1.5, 0.000123, 2.
func appendDecimal(dst []byte, m currency.Micros) []byte {
	u := uint64(m)
	if m < 0 {
		dst = append(dst, '-')
		u = -u
	}
	dst = strconv.AppendUint(dst, u/currency.MicrosPerUnit, 10)
	frac := u % currency.MicrosPerUnit
	if frac == 0 {
		return dst
	}
	var digits [6]byte
	n := len(digits)
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	for n > 0 && digits[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, digits[:n]...)
}

// appendQueryEscape appends s escaped as url.QueryEscape does, without
// allocating: everything but letters, digits and "-_.~" as %XX, a space
// as "+".
func appendQueryEscape(dst, s []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}
