package openrtb

import (
	"strings"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

func TestIDsMustBeUTF8(t *testing.T) {
	f := func(name, body, want string) {
		t.Helper()
		var req openrtb2.BidRequest
		err := DecodeRequest([]byte(body), &req)
		if want == "" {
			if err != nil {
				t.Errorf("%s: rejected: %v", name, err)
			}
			return
		}
		if re := asRequestError(t, err); re.Error() != want {
			t.Errorf("%s: got %q, want %q", name, re, want)
		}
	}
	const imp = `{"id":"1","banner":{"w":1,"h":1}}`
	f("request id", "{\"id\":\"r\xff\",\"imp\":["+imp+"]}", "id must be valid UTF-8")
	f("request id, truncated sequence", "{\"id\":\"r\xe2\x82\",\"imp\":["+imp+"]}", "id must be valid UTF-8")
	f("request id, encoded surrogate", "{\"id\":\"\xed\xa0\x80\",\"imp\":["+imp+"]}", "id must be valid UTF-8")
	f("request id, escaped lone surrogate", `{"id":"r\ud800","imp":[`+imp+`]}`, "id must be valid UTF-8")
	f("request id, escaped lone low surrogate", `{"id":"\udc00r","imp":[`+imp+`]}`, "id must be valid UTF-8")
	f("request id, key in upper case", "{\"ID\":\"r\xff\",\"imp\":["+imp+"]}", "id must be valid UTF-8")
	f("request id, escaped key", "{\"\\u0069d\":\"r\xff\",\"imp\":["+imp+"]}", "id must be valid UTF-8")
	f("imp id", "{\"id\":\"r\",\"imp\":["+imp+",{\"id\":\"\xc3\",\"banner\":{\"w\":1,\"h\":1}}]}", "imp[1].id must be valid UTF-8")
	f("fourth imp id", "{\"id\":\"r\",\"imp\":[{\"id\":\"a\"},{\"id\":\"b\",\"ext\":{\"id\":\"\xff\"}},{\"id\":\"c\"},{\"banner\":{},\"id\":\"d\xff\"}]}", "imp[3].id must be valid UTF-8")
	f("deal id", "{\"id\":\"r\",\"imp\":[{\"id\":\"1\",\"pmp\":{\"private_auction\":1,\"deals\":[{\"id\":\"ok\"},{\"bidfloor\":1,\"id\":\"d\xff\"}]},\"banner\":{\"w\":1,\"h\":1}}]}", "imp[0].pmp.deals[1].id must be valid UTF-8")

	f("valid multi-byte ids", `{"id":"été-日本-😀","imp":[{"id":"ü","banner":{"w":1,"h":1}}]}`, "")
	f("escaped surrogate pair", `{"id":"r\ud83d\ude00","imp":[`+imp+`]}`, "")
	f("U+FFFD sent as such", `{"id":"r\ufffd","imp":[{"id":"`+replacementChar+`","banner":{"w":1,"h":1}}]}`, "")
	f("U+FFFD in an id, bad byte in free text", "{\"id\":\"r\\ufffd\",\"site\":{\"page\":\"x\xff\"},\"imp\":["+imp+"]}", "")
	f("bad byte in free text", "{\"id\":\"r\",\"site\":{\"name\":\"caf\xe9\",\"keywords\":\"\\ud800\"},\"imp\":["+imp+"]}", "")
	f("bad byte in an ext id", "{\"id\":\"r\",\"ext\":{\"id\":\"\xff\"},\"user\":{\"id\":\"\xff\"},\"imp\":["+imp+"]}", "")
}

// TestFindBadIDSurvivesAnyInput runs the raw scan, which normally sees only
// bodies the decoder accepted, over malformed text.
func TestFindBadIDSurvivesAnyInput(t *testing.T) {
	for _, body := range []string{"", "{", "}", `{"id"`, `{"id":`, `{"imp":[`, `{"imp":[{"id":"\`, `{"imp":[,,]}`, `{"imp":[}]`,
		`{"imp":[1,{"pmp":{"deals":[{"id":1},[]]}}]}`, `{"a":{"b":[[[]]]},"id":null}`, `[{"id":"\xff"}]`, `{"imp":[{"pmp":[]}],"id":"\xff"}`,
		strings.Repeat("[", 10000)} {
		findBadID([]byte(body)) // must return
	}
	if err := findBadID([]byte("{\"a\":[1,true,null,{\"id\":\"\xff\"}],\"id\":\"\xff\"}")); err == nil || err.Field != "id" {
		t.Errorf("got %v, want the top-level id named past nested values", err)
	}
}

func TestCheckIDEncodingNoAllocs(t *testing.T) {
	var req openrtb2.BidRequest
	body := readCorpusFile(t, benchFile)
	if err := DecodeRequest(body, &req); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(100, func() { checkIDEncoding(body, &req) }); allocs != 0 {
		t.Errorf("checkIDEncoding allocates %v times on a valid request, want 0", allocs)
	}
}
