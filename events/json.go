package events

import (
	"strconv"
	"time"

	"github.com/adx-exchange/adx/internal/jsonstr"
)

// AppendJSON appends e as one JSON object to dst and returns the extended
// buffer. The object is the one encoding/json writes for Event's tags,
// byte for byte, with HTML escaping off (SetEscapeHTML(false)): fields in
// declaration order, omitempty respected, strings escaped like
// encoding/json (control characters, U+2028 and U+2029 escaped, invalid
// UTF-8 as U+FFFD). Two things differ on purpose: ts is always written in
// UTC, and a Time outside the years 0..9999, which RFC 3339 cannot write
// and encoding/json refuses, is written as the zero time. AppendJSON uses
// no reflection and allocates nothing when dst has room.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = jsonstr.Append(dst, string(e.Type))
	dst = append(dst, `,"id":`...)
	dst = jsonstr.Append(dst, e.ID)
	dst = append(dst, `,"ts":"`...)
	dst = appendTime(dst, e.Time)
	dst = append(dst, `","auction_id":`...)
	dst = jsonstr.Append(dst, e.AuctionID)
	dst = appendOptString(dst, `,"ssp":`, e.SSP)
	dst = append(dst, `,"cur":`...)
	dst = jsonstr.Append(dst, e.Currency)
	if e.Test {
		dst = append(dst, `,"test":true`...)
	}

	dst = appendOptString(dst, `,"imp_id":`, e.ImpID)
	dst = appendOptString(dst, `,"bid_id":`, e.BidID)
	dst = appendOptString(dst, `,"dsp":`, e.DSP)
	dst = appendOptString(dst, `,"seat":`, e.Seat)
	dst = appendOptString(dst, `,"deal_id":`, e.DealID)
	dst = appendOptInt(dst, `,"bid_micros":`, int64(e.BidPrice))
	dst = appendOptInt(dst, `,"charge_micros":`, int64(e.Charge))
	dst = appendOptInt(dst, `,"clear_micros":`, int64(e.Clear))
	dst = appendOptInt(dst, `,"ssp_price_micros":`, int64(e.SSPPrice))
	dst = appendOptString(dst, `,"ssp_cur":`, e.SSPCurrency)
	dst = appendOptInt(dst, `,"dsp_price_micros":`, int64(e.DSPPrice))
	dst = appendOptInt(dst, `,"loss_reason":`, int64(e.LossReason))

	dst = appendOptInt(dst, `,"imps":`, int64(e.Imps))
	if len(e.Bids) > 0 {
		dst = append(dst, `,"bids":[`...)
		for i := range e.Bids {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.Bids[i].appendJSON(dst)
		}
		dst = append(dst, ']')
	}
	if len(e.NoBids) > 0 {
		dst = append(dst, `,"nobids":[`...)
		for i, nb := range e.NoBids {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"dsp":`...)
			dst = jsonstr.Append(dst, nb.DSP)
			dst = append(dst, `,"reason":`...)
			dst = jsonstr.Append(dst, nb.Reason)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if len(e.Unchecked) > 0 {
		dst = append(dst, `,"unchecked":[`...)
		for i, u := range e.Unchecked {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"dsp":`...)
			dst = jsonstr.Append(dst, u.DSP)
			dst = append(dst, `,"reason":`...)
			dst = jsonstr.Append(dst, u.Reason)
			dst = append(dst, `,"count":`...)
			dst = strconv.AppendInt(dst, int64(u.Count), 10)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if len(e.Privacy) > 0 {
		dst = append(dst, `,"privacy":[`...)
		for i, p := range e.Privacy {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"dsp":`...)
			dst = jsonstr.Append(dst, p.DSP)
			dst = append(dst, `,"action":`...)
			dst = jsonstr.Append(dst, p.Action)
			dst = append(dst, `,"reason":`...)
			dst = jsonstr.Append(dst, p.Reason)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = appendOptInt(dst, `,"duration_us":`, e.DurationMicros)
	return append(dst, '}')
}

func (b *Bid) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"dsp":`...)
	dst = jsonstr.Append(dst, b.DSP)
	dst = appendOptString(dst, `,"seat":`, b.Seat)
	dst = append(dst, `,"imp_id":`...)
	dst = jsonstr.Append(dst, b.ImpID)
	dst = append(dst, `,"bid_id":`...)
	dst = jsonstr.Append(dst, b.BidID)
	dst = appendOptString(dst, `,"deal_id":`, b.DealID)
	dst = append(dst, `,"price_micros":`...)
	dst = strconv.AppendInt(dst, int64(b.Price), 10)
	dst = appendOptString(dst, `,"cur":`, b.Cur)
	dst = append(dst, `,"status":`...)
	dst = jsonstr.Append(dst, b.Status)
	dst = appendOptInt(dst, `,"charge_micros":`, int64(b.Charge))
	dst = appendOptInt(dst, `,"clear_micros":`, int64(b.Clear))
	return append(dst, '}')
}

// appendOptString appends key and s unless s is empty (omitempty).
func appendOptString(dst []byte, key, s string) []byte {
	if s == "" {
		return dst
	}
	return jsonstr.Append(append(dst, key...), s)
}

// appendOptInt appends key and v unless v is 0 (omitempty).
func appendOptInt(dst []byte, key string, v int64) []byte {
	if v == 0 {
		return dst
	}
	return strconv.AppendInt(append(dst, key...), v, 10)
}

// appendTime appends t in UTC as RFC 3339 with nanoseconds, trailing
// zeros trimmed: time.Time's MarshalJSON without the quotes.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		t = time.Time{}
	}
	return t.AppendFormat(dst, time.RFC3339Nano)
}
