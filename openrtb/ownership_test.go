package openrtb

import (
	"bytes"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
	"github.com/prebid/openrtb/v20/openrtb2"
)

// scribble is what every byte of a body is overwritten with once it has
// been decoded, as fasthttp's reuse of a request buffer would.
const scribble = 0xAA

// decodedBody is one body and the encoder of the value decoded from it.
type decodedBody struct {
	name     string
	body     []byte
	encode   func() ([]byte, error)
	original []byte // encode's output right after decoding
}

// decoder decodes body into a value of its own and returns its encoder;
// ok is false when body does not decode (it is then left out).
type decoder func(body []byte) (encode func() ([]byte, error), ok bool)

// changedByScribble decodes every body with decode, encoding each value
// right after its decoding, then overwrites every byte of every body,
// decodes once more so that the codec's reused input buffer is written over
// too (when its pool hands the same one back), and returns the names of
// the values that now encode differently, and how many bodies were
// decoded.
func changedByScribble(t *testing.T, bodies map[string][]byte, decode decoder) (changed []string, decoded int) {
	t.Helper()
	var all []decodedBody
	for name, body := range bodies {
		body = bytes.Clone(body)
		encode, ok := decode(body)
		if !ok {
			continue
		}
		original, err := encode()
		if err != nil {
			t.Fatalf("%s: cannot encode the decoded value: %v", name, err)
		}
		all = append(all, decodedBody{name: name, body: body, encode: encode, original: original})
	}
	for _, d := range all {
		for i := range d.body {
			d.body[i] = scribble
		}
	}
	decode([]byte(`{"id":"` + strings.Repeat("z", 4096) + `","imp":[{"id":"zz","ext":{"z":"zzz"}}],"ext":{"zz":[1,2,3]}}`))
	for _, d := range all {
		now, err := d.encode()
		if err != nil {
			t.Fatalf("%s: cannot encode the decoded value after the scribble: %v", d.name, err)
		}
		if !bytes.Equal(now, d.original) {
			changed = append(changed, d.name)
		}
	}
	return changed, len(all)
}

// ownershipBodies are bodies that take every path of the codec's string
// decoding: plain ASCII, escapes (short and past its scratch buffer),
// multi-byte and invalid UTF-8, a Native request string, and ext objects
// of every JSON type.
var ownershipBodies = map[string]string{
	"escapes":        `{"id":"r\"1\\\/","imp":[{"id":"i\u00e9","banner":{"w":1,"h":1},"ext":{"k":"v\n"}}],"site":{"page":"https://a.example/?q=\u0026x","keywords":"\ud83d\ude00"}}`,
	"long escaped":   `{"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],"site":{"name":"` + strings.Repeat(`\t`, 70000) + `"}}`,
	"not UTF-8":      "{\"id\":\"r\",\"imp\":[{\"id\":\"1\",\"banner\":{\"w\":1,\"h\":1}}],\"site\":{\"name\":\"caf\xe9\",\"keywords\":\"\xff\xfe\"}}",
	"multi-byte":     `{"id":"été-日本-😀","imp":[{"id":"ü","banner":{"w":1,"h":1}}],"user":{"keywords":"東京"}}`,
	"native":         `{"id":"r","imp":[{"id":"1","native":{"request":"{\"ver\":\"1.2\",\"assets\":[{\"id\":1,\"title\":{\"len\":90}}]}","ver":"1.2"}}]}`,
	"ext every kind": `{"id":"r","ext":{"a":[1,"x",null,true,{"b":1.5}]},"imp":[{"id":"1","ext":"s","banner":{"w":1,"h":1,"ext":[]}}],"user":{"ext":5},"regs":{"ext":null},"source":{"ext":{"schain":{"ver":"1.0"}}}}`,
}

// corpusBodies returns the corpus files of kind (bidrequest, bidresponse)
// by name, valid or not: a request that breaks the object model still
// decodes.
func corpusBodies(t *testing.T, kind string) map[string][]byte {
	t.Helper()
	bodies := map[string][]byte{}
	for _, e := range loadManifest(t) {
		if e.Kind == kind {
			bodies[e.File] = readCorpusFile(t, e.File)
		}
	}
	return bodies
}

func decodeRequestInto(body []byte) (func() ([]byte, error), bool) {
	var req openrtb2.BidRequest
	if DecodeRequest(body, &req) != nil {
		return nil, false
	}
	return func() ([]byte, error) { return EncodeRequest(&req) }, true
}

// TestDecodedRequestOwnsItsStrings checks DecodeRequest's promise that no
// decoded string or ext points into the body: the server's body buffer is
// recycled by fasthttp while bidders still read the request.
func TestDecodedRequestOwnsItsStrings(t *testing.T) {
	bodies := corpusBodies(t, "bidrequest")
	for name, body := range ownershipBodies {
		bodies[name] = []byte(body)
	}
	changed, n := changedByScribble(t, bodies, decodeRequestInto)
	if n < 100 {
		t.Fatalf("only %d of %d bodies decoded; the corpus should give more than 100", n, len(bodies))
	}
	for _, name := range changed {
		t.Errorf("%s: the decoded request changed when its body was overwritten", name)
	}
	t.Logf("%d requests decoded, %d changed", n, len(changed))

	// The same into a room of its own each: the room's copy, not the body.
	changed, _ = changedByScribble(t, bodies, func(body []byte) (func() ([]byte, error), bool) {
		var req openrtb2.BidRequest
		if DecodeRequestInto(body, &req, new(RequestRoom)) != nil {
			return nil, false
		}
		return func() ([]byte, error) { return EncodeRequest(&req) }, true
	})
	for _, name := range changed {
		t.Errorf("%s, into a room: the decoded request changed when its body was overwritten", name)
	}

	// Positive control: the check sees a decode whose strings point into
	// the body (the codec's zero-copy mode, which adx never uses).
	changed, n = changedByScribble(t, bodies, func(body []byte) (func() ([]byte, error), bool) {
		var req openrtb2.BidRequest
		if json.UnmarshalWithOption(body, &req, json.DecodeNoCopyString()) != nil {
			return nil, false
		}
		return func() ([]byte, error) { return EncodeRequest(&req) }, true
	})
	t.Logf("zero-copy control: %d of %d requests changed", len(changed), n)
	if len(changed) < n/2 {
		t.Errorf("zero-copy decoding: only %d of %d requests changed under the scribble; the check cannot see strings that point into the body", len(changed), n)
	}
}

// TestDecodedResponseOwnsItsStrings checks the same of DecodeResponse: an
// HTTP bidder returns a DSP's bids after releasing the response buffer
// they were decoded from.
func TestDecodedResponseOwnsItsStrings(t *testing.T) {
	bodies := corpusBodies(t, "bidresponse")
	bodies["escapes and ext"] = []byte(`{"id":"r\u00e9","cur":"USD","seatbid":[{"seat":"s\"1","bid":[{"id":"b","impid":"1","price":1.5,"adm":"<a href=\"x\">\u003c/a>","crid":"c","ext":{"k":[1,"v"]}}]}],"ext":{"t":1}}`)
	changed, n := changedByScribble(t, bodies, func(body []byte) (func() ([]byte, error), bool) {
		var resp openrtb2.BidResponse
		if DecodeResponse(body, &resp) != nil {
			return nil, false
		}
		return func() ([]byte, error) { return EncodeResponse(&resp) }, true
	})
	if n < 5 {
		t.Fatalf("only %d of %d responses decoded", n, len(bodies))
	}
	for _, name := range changed {
		t.Errorf("%s: the decoded response changed when its body was overwritten", name)
	}
}
