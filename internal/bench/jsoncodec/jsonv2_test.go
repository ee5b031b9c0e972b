//go:build goexperiment.jsonv2

package jsoncodec

import (
	"encoding/json"
	jsonv2 "encoding/json/v2"
)

// With GOEXPERIMENT=jsonv2 (Go 1.25+), encoding/json/v2 is an extra
// candidate. Note that the experiment also re-implements encoding/json (v1)
// on top of v2, so the "stdlib" rows of such a run measure that, not the
// default encoding/json.
//
// Unmarshal uses v2's defaults (case-sensitive names, duplicate names and
// invalid UTF-8 rejected). Marshal uses v1's omitempty meaning (omit 0 and
// false too, as the openrtb2 tags expect) and null for nil slices, so that
// the output decodes to the same value as encoding/json's.
func init() {
	opts := jsonv2.JoinOptions(json.OmitEmptyWithLegacySemantics(true), jsonv2.FormatNilSliceAsNull(true))
	codecs = append(codecs, codec{
		name:      "jsonv2",
		unmarshal: func(b []byte, v any) error { return jsonv2.Unmarshal(b, v) },
		marshal:   func(v any) ([]byte, error) { return jsonv2.Marshal(v, opts) },
	})
	// v2 is strict by default: it rejects what v1 accepts here.
	for i := range edgeCases {
		switch edgeCases[i].name {
		case "case-insensitive keys", "duplicate keys, last wins", "invalid UTF-8 in string", "invalid UTF-8 in ext":
			edgeCases[i].differs = append(edgeCases[i].differs, "jsonv2")
		}
	}
}
