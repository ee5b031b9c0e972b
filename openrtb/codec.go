package openrtb

import (
	json "github.com/goccy/go-json"
	"github.com/prebid/openrtb/v20/openrtb2"
)

// The JSON codec is chosen by measurement; see BENCHMARKS.md. Every use of
// it in this package goes through encodeJSON and decodeJSON, so that a
// change of codec is a change of this file (and of decodeError, which
// words the codec's errors).
//
// The codec copies every decoded string and json.RawMessage out of the
// input (goccy/go-json does unless asked for DecodeNoCopyString, which adx
// never uses): the decoded values of DecodeRequest and DecodeResponse own
// their memory. TestDecodedRequestOwnsItsStrings pins it.

// encodeJSON leaves <, > and & as they are: creative markup is full of them
// and escaping only makes the wire bigger.
func encodeJSON(v any) ([]byte, error) { return json.MarshalWithOption(v, json.DisableHTMLEscape()) }

func decodeJSON(data []byte, v any) error { return json.Unmarshal(data, v) }

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
func DecodeResponse(body []byte, resp *openrtb2.BidResponse) error {
	*resp = openrtb2.BidResponse{}
	return unmarshalJSON(body, resp)
}
