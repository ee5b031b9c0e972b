package auction

import (
	json "github.com/goccy/go-json"
	"github.com/prebid/openrtb/v20/openrtb2"
)

// The JSON codec is chosen by measurement; see BENCHMARKS.md. Every use of
// it in this package goes through these two functions, so that a change of
// codec is a change of this file.

// encodeJSON leaves <, > and & as they are: creative markup is full of them
// and escaping only makes the wire bigger.
func encodeJSON(v any) ([]byte, error) { return json.MarshalWithOption(v, json.DisableHTMLEscape()) }

func decodeJSON(data []byte, v any) error { return json.Unmarshal(data, v) }

// EncodeResponse encodes a BidResponse for the wire.
func EncodeResponse(resp *openrtb2.BidResponse) ([]byte, error) { return encodeJSON(resp) }
