package openrtb

import (
	"bytes"
	"strconv"
	"sync"

	json "github.com/goccy/go-json"
	"github.com/prebid/openrtb/v20/openrtb2"
)

// The JSON codec is chosen by measurement; see BENCHMARKS.md. Every use of
// it in this package goes through encodeJSON and decodeJSON, so that a
// change of codec is a change of this file (and of decodeError, which
// words the codec's errors).
//
// Decoded values own their memory, and cheaply: decodeJSON copies the
// input once, into a buffer of its own that nothing else writes, and
// decodes from it with DecodeNoCopyString, so that a decoded string with
// no escape points into that copy instead of being allocated on its own.
// One allocation replaces one per string (most of a request's objects);
// the copy lives as long as any string decoded from it. The caller's
// input may be reused or released at once: the values of DecodeRequest
// and DecodeResponse never point into it. TestDecodedRequestOwnsItsStrings
// pins it.

// encodeJSON leaves <, > and & as they are: creative markup is full of them
// and escaping only makes the wire bigger.
func encodeJSON(v any) ([]byte, error) { return json.MarshalWithOption(v, json.DisableHTMLEscape()) }

func decodeJSON(data []byte, v any) error {
	return json.UnmarshalWithOption(bytes.Clone(data), v, json.DecodeNoCopyString())
}

// decodeJSONInto is decodeJSON with the copy of data made into *buf, grown
// if it must: the decoded strings point into *buf, which belongs to v from
// then on.
func decodeJSONInto(buf *[]byte, data []byte, v any) error {
	*buf = append((*buf)[:0], data...)
	return json.UnmarshalWithOption(*buf, v, json.DecodeNoCopyString())
}

// EncodeRequest encodes a BidRequest for a demand partner. The result is a
// new slice that the caller owns.
func EncodeRequest(req *openrtb2.BidRequest) ([]byte, error) { return encodeJSON(req) }

// EncodeResponse encodes a BidResponse for the wire. The result is a new
// slice that the caller owns.
func EncodeResponse(resp *openrtb2.BidResponse) ([]byte, error) { return encodeJSON(resp) }

// DecodeResponse decodes a demand partner's BidResponse from body into
// resp, which is reset first. Like DecodeRequest, no decoded string or ext
// points into body, so the caller may release body (a pooled HTTP
// response) while the bids are still in use, and a body that makes the
// codec panic is returned as an error. The error is the codec's, for logs
// and counters: a partner's answer is not a client request, so it is not a
// RequestError. The bids are not validated; that is the auction's work.
//
// The codec gives a slice it allocates a capacity of four: a one-seat,
// one-bid answer, the usual one, would cost four SeatBids and four Bids (2
// KB, 1.5 KB of it unused). An answer that names a seatbid is decoded into
// room for one seat with one bid instead, one object of 520 bytes.
func DecodeResponse(body []byte, resp *openrtb2.BidResponse) error {
	*resp = openrtb2.BidResponse{}
	if bytes.Contains(body, seatBidKey) {
		r := new(oneSeatBid)
		r.seat[0].Bid = r.bid[:0]
		resp.SeatBid = r.seat[:0]
	}
	return unmarshalJSON(body, resp)
}

// seatBidKey is the BidResponse member that holds the bids.
var seatBidKey = []byte(`"seatbid"`)

// oneSeatBid is room for the usual answer: one seat with one bid.
type oneSeatBid struct {
	seat [1]openrtb2.SeatBid
	bid  [1]openrtb2.Bid
}

// encoder is a pooled JSON encoder that appends to a slice it is given,
// so that encoding allocates nothing once the slice has grown.
type encoder struct {
	w   sliceWriter
	enc *json.Encoder
}

// sliceWriter is an io.Writer appending to b.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.w)
	e.enc.SetEscapeHTML(false) // as encodeJSON
	return e
}}

// appendJSON appends the JSON of v to dst, as encodeJSON encodes it.
func appendJSON(dst []byte, v any) ([]byte, error) {
	e := encoders.Get().(*encoder)
	e.w.b = dst
	err := e.enc.Encode(v) // one value and a newline, written at once
	out := e.w.b
	e.w.b = nil
	encoders.Put(e)
	if err != nil {
		return dst, err
	}
	return out[:len(out)-1], nil
}

// AppendRequest appends the JSON of req to dst and returns the extended
// slice: EncodeRequest without an allocation once dst has grown.
func AppendRequest(dst []byte, req *openrtb2.BidRequest) ([]byte, error) { return appendJSON(dst, req) }

// AppendResponse appends the JSON of resp to dst and returns the extended
// slice: EncodeResponse without an allocation once dst has grown.
func AppendResponse(dst []byte, resp *openrtb2.BidResponse) ([]byte, error) {
	return appendJSON(dst, resp)
}

// AppendWithTMax appends to dst the encoded request body, which has no
// tmax (encoded with TMax 0, which is omitted), with tmax set to ms: so a
// request encoded once goes to several demand partners, each with the
// time it has left. It returns the extended slice.
func AppendWithTMax(dst, body []byte, ms int64) []byte {
	dst = append(dst, `{"tmax":`...)
	dst = strconv.AppendInt(dst, ms, 10)
	if len(body) > 2 { // not "{}"
		dst = append(dst, ',')
	}
	return append(dst, body[1:]...)
}
