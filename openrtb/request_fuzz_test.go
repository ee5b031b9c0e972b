package openrtb

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// FuzzDecodeAndValidate checks that no body makes DecodeRequest or
// ValidateRequest panic, that every error they return is a *RequestError
// with a Field and a Problem, and that decoding into a room that held
// another request decodes the same request as decoding without one.
func FuzzDecodeAndValidate(f *testing.F) {
	n := 0
	err := filepath.WalkDir(corpusDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f.Add(body)
		n++
		return nil
	})
	if err != nil {
		f.Fatalf("seed corpus: %v", err)
	}
	if n == 0 {
		f.Fatalf("no seed files under %s", corpusDir)
	}
	for _, s := range []string{"", "null", "[]", "1", `"x"`, "true", "{", "{}", `{"id":"a"} x`,
		`{"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}]}`,
		// ids that are not UTF-8, and U+FFFD sent as such
		"{\"id\":\"r\xff\",\"imp\":[{\"id\":\"1\",\"banner\":{\"w\":1,\"h\":1}}]}",
		"{\"id\":\"r\",\"imp\":[{\"id\":\"1\\ud800\",\"pmp\":{\"deals\":[{\"id\":\"\xc3\"}]},\"banner\":{\"w\":1,\"h\":1}}]}",
		`{"id":"\ufffd","imp":[{"id":"1","banner":{"w":1,"h":1}}]}`,
		// optional numbers, set, null, and the room's unset value (-128)
		`{"id":"r","imp":[{"id":"1","secure":1,"banner":{"w":1,"h":1}}],"device":{"js":1,"lmt":null,"connectiontype":2,"geo":{"lat":1.5,"lon":null}},"regs":{"gdpr":0},"source":{"fd":1}}`,
		`{"id":"r","imp":[{"id":"1","secure":-128,"banner":{"w":1,"h":1}}],"device":{"lmt":-128,"geo":{"lat":-128}}}`,
		// a Native request
		`{"id":"r","imp":[{"id":"1","native":{"request":"{\"assets\":[{\"id\":1,\"title\":{\"len\":9}}]}"}}]}`} {
		f.Add([]byte(s))
	}
	var room RequestRoom
	f.Fuzz(func(t *testing.T, body []byte) {
		var req openrtb2.BidRequest
		err := DecodeRequest(body, &req)
		var inRoom openrtb2.BidRequest
		room.Reset()
		if err := DecodeRequestInto([]byte(fullRequest), &inRoom, &room); err != nil {
			t.Fatal(err)
		}
		room.Reset()
		roomErr := DecodeRequestInto(body, &inRoom, &room)
		if (err == nil) != (roomErr == nil) {
			t.Fatalf("without room: %v; into a room: %v", err, roomErr)
		}
		if err == nil {
			want, err1 := AppendRequest(nil, &req)
			got, err2 := AppendRequest(nil, &inRoom)
			if err1 != nil || err2 != nil || string(got) != string(want) {
				t.Fatalf("into a room, %s (%v); without, %s (%v)", got, err2, want, err1)
			}
		}
		if err == nil {
			err = ValidateRequest(&req, Limits{})
		}
		if err == nil {
			return
		}
		re, ok := err.(*RequestError)
		if !ok {
			t.Fatalf("error %T (%v), want *RequestError", err, err)
		}
		if re.Field == "" || re.Problem == "" {
			t.Fatalf("incomplete RequestError %#v", re)
		}
	})
}

// fullRequest has every object a RequestRoom has room for, so that a room
// it was decoded into is dirty if Reset leaves anything.
const fullRequest = `{"id":"full","imp":[{"id":"1","tagid":"t","secure":1,"clickbrowser":1,"banner":{"w":300,"h":250}}],` +
	`"device":{"ua":"UA","ip":"192.0.2.1","js":1,"lmt":1,"dnt":1,"geofetch":1,"connectiontype":2,"geo":{"country":"FRA","lat":1.5,"lon":2.5},` +
	`"sua":{"browsers":[{"brand":"b","version":["1"]}],"mobile":1}},"user":{"id":"u","consent":"c"},` +
	`"regs":{"coppa":1,"gdpr":1},"source":{"tid":"t","fd":1,"schain":{"complete":1,"ver":"1.0","nodes":[{"asi":"a.com","sid":"1","hp":1}]}}}`

// FuzzDecodeResponse checks that no DSP answer makes DecodeResponse panic,
// that a decoded answer owns its memory (scribbling over the body changes
// nothing), and that what it decodes encodes and decodes again to the
// same value.
func FuzzDecodeResponse(f *testing.F) {
	n := 0
	err := filepath.WalkDir(corpusDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(filepath.Base(path), "response") || !strings.HasSuffix(path, ".json") {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f.Add(body)
		n++
		return nil
	})
	if err != nil || n == 0 {
		f.Fatalf("seed corpus: %d files, %v", n, err)
	}
	for _, s := range []string{"", "null", "{}", `{"id":"r","seatbid":[{"bid":[{"id":"b","impid":"1","price":1.5,"adm":"<a href=\"x\">\u00e9</a>"}]}]}`,
		`{"id":"r","seatbid":[{"seat":"s","bid":[{"id":"b","impid":"1","price":1e308,"ext":{"a":[1,{"b":null}]}}]}],"cur":"USD"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var resp openrtb2.BidResponse
		if DecodeResponse(body, &resp) != nil {
			return
		}
		first, err := EncodeResponse(&resp)
		if err != nil {
			return // a value JSON cannot hold (e.g. a NaN that decoded): not the decoder's concern
		}
		for i := range body {
			body[i] = 0xAA
		}
		again, err := EncodeResponse(&resp)
		if err != nil || string(again) != string(first) {
			t.Fatalf("the decoded answer changed when its body was overwritten:\n%s\n%s", first, again)
		}
		var back openrtb2.BidResponse
		if err := DecodeResponse(first, &back); err != nil {
			t.Fatalf("the re-encoded answer does not decode: %v\n%s", err, first)
		}
		if b2, _ := EncodeResponse(&back); string(b2) != string(first) {
			t.Fatalf("encode, decode, encode differs:\n%s\n%s", first, b2)
		}
	})
}
