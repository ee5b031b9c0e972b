package openrtb

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// nativeImpRequest builds a one-imp request whose imp.native.request is the
// given Native request text.
func nativeImpRequest(t testing.TB, native string) []byte {
	t.Helper()
	q, err := json.Marshal(native)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(`{"id":"r","imp":[{"id":"1","native":{"request":` + string(q) + `,"ver":"1.2"}}]}`)
}

func TestNativeRequestValid(t *testing.T) {
	f := func(name, native string) {
		t.Helper()
		if err := decodeValidate(nativeImpRequest(t, native)); err != nil {
			t.Errorf("%s: valid Native request rejected: %v", name, err)
		}
	}
	f("title", `{"assets":[{"id":1,"title":{"len":90}}]}`)
	f("every asset kind", `{"ver":"1.2","context":1,"contextsubtype":12,"plcmttype":4,"assets":[
		{"id":1,"required":1,"title":{"len":25}},
		{"id":2,"img":{"type":3,"w":1200,"h":627,"wmin":600,"hmin":314}},
		{"id":3,"video":{"mimes":["video/mp4"],"minduration":0,"maxduration":30,"protocols":[2,3,7,14]}},
		{"id":4,"data":{"type":12,"len":15}}],
		"eventtrackers":[{"event":1,"methods":[1,2]},{"event":4,"methods":[2]}]}`)
	f("Native 1.0 wrapper", `{"native":{"ver":"1.0","layout":1,"adunit":2,"assets":[{"id":1,"title":{"len":90}}]}}`)
	f("assets without ids are numbered by the exchange", `{"assets":[{"title":{"len":1}},{"img":{"hmin":30}}]}`)
	f("exchange-specific values", `{"context":500,"contextsubtype":21,"plcmttype":501,"assets":[{"id":1,"img":{"type":502}},{"id":2,"data":{"type":503}}],"eventtrackers":[{"event":555,"methods":[500]}]}`)
	f("subtype without context", `{"contextsubtype":31,"assets":[{"id":1,"title":{"len":1}}]}`)
	f("social subtype", `{"context":2,"contextsubtype":22,"assets":[{"id":1,"title":{"len":1}}]}`)
	f("product subtype", `{"context":3,"contextsubtype":30,"assets":[{"id":1,"title":{"len":1}}]}`)
	f("unknown members and ext", `{"aurlsupport":1,"privacy":1,"ext":{"x":[1,{"y":null}]},"assets":[{"id":1,"title":{"len":1,"ext":{}},"ext":{}}]}`)
	f("null members", `{"eventtrackers":null,"assets":[{"id":1,"title":{"len":1},"img":null}]}`)
	f("whitespace around", " \n"+`{"assets":[{"id":1,"title":{"len":1}}]}`+"\t")
}

func TestNativeRequestInvalid(t *testing.T) {
	f := func(native, want string) {
		t.Helper()
		re := asRequestError(t, decodeValidate(nativeImpRequest(t, native)))
		if got := re.Error(); got != want {
			t.Errorf("%s\n got %q\nwant %q", native, got, want)
		}
	}
	const p = "imp[0].native.request"
	f(`...Native Spec request as an encoded string...`, p+" must hold a JSON Native request object")
	f(`[]`, p+" must hold a JSON Native request object")
	f(`null`, p+" must hold a JSON Native request object")
	f(`  `, p+" must hold a JSON Native request object")
	f(`{"native":{"ver":"1.0","assets":[ ... ]}}`, p+" is not valid JSON: invalid character '.' looking for beginning of value at offset 35")
	f(`{"assets":[{"id":1,"title":{"len":1}}]} {}`, p+" is not valid JSON: invalid character '{' after top-level value at offset 41")
	f(`{"assets":"x"}`, p+".assets must be an array, not a string")
	f(`{"assets":[{"id":"1","title":{"len":1}}]}`, p+".assets[0].id must be an integer, not a string")
	f(`{"context":1.5,"assets":[{"id":1,"title":{"len":1}}]}`, p+".context must be an integer, not 1.5")
	f(`{}`, p+".assets must hold at least one asset")
	f(`{"assets":[]}`, p+".assets must hold at least one asset")
	f(`{"native":{}}`, p+".native.assets must hold at least one asset")
	f(`{"native":{"assets":[{"id":1,"title":{}}]}}`, p+".native.assets[0].title.len must be greater than 0")
	f(`{"context":4,"assets":[{"id":1,"title":{"len":1}}]}`, p+".context is not a Native context type (1-3, or 500 and above)")
	f(`{"context":-1,"assets":[{"id":1,"title":{"len":1}}]}`, p+".context is not a Native context type (1-3, or 500 and above)")
	f(`{"contextsubtype":16,"assets":[{"id":1,"title":{"len":1}}]}`, p+".contextsubtype is not a Native context subtype (10-15, 20-22, 30-32, or 500 and above)")
	f(`{"contextsubtype":-10,"assets":[{"id":1,"title":{"len":1}}]}`, p+".contextsubtype is not a Native context subtype (10-15, 20-22, 30-32, or 500 and above)")
	f(`{"context":1,"contextsubtype":20,"assets":[{"id":1,"title":{"len":1}}]}`, p+".contextsubtype is a social subtype, but context is 1 (content)")
	f(`{"plcmttype":11,"assets":[{"id":1,"title":{"len":1}}]}`, p+".plcmttype is not a Native placement type (1-4, or 500 and above)")
	f(`{"assets":[{"id":1}]}`, p+".assets[0] must hold exactly one of title, img, video or data")
	f(`{"assets":[{"id":1,"title":{"len":1}},{"id":2,"data":{"type":1},"img":{}}]}`, p+".assets[1] must hold exactly one of title, img, video or data")
	f(`{"assets":[{"id":1,"title":{"len":-1}}]}`, p+".assets[0].title.len must be greater than 0")
	f(`{"assets":[{"id":1,"img":{"wmin":-1}}]}`, p+".assets[0].img.wmin must not be negative")
	f(`{"assets":[{"id":1,"img":{"hmin":-1}}]}`, p+".assets[0].img.hmin must not be negative")
	f(`{"assets":[{"id":1,"img":{"type":4}}]}`, p+".assets[0].img.type is not a Native image type (1-3, or 500 and above)")
	f(`{"assets":[{"id":1,"video":{"mimes":[],"minduration":1,"maxduration":2,"protocols":[1]}}]}`, p+".assets[0].video.mimes must not be empty")
	f(`{"assets":[{"id":1,"video":{"mimes":["v"],"minduration":-1,"maxduration":2,"protocols":[1]}}]}`, p+".assets[0].video.minduration must not be negative")
	f(`{"assets":[{"id":1,"video":{"mimes":["v"],"minduration":1,"maxduration":0,"protocols":[1]}}]}`, p+".assets[0].video.maxduration must be greater than 0")
	f(`{"assets":[{"id":1,"video":{"mimes":["v"],"minduration":9,"maxduration":2,"protocols":[1]}}]}`, p+".assets[0].video.minduration must not be greater than maxduration")
	f(`{"assets":[{"id":1,"video":{"mimes":["v"],"minduration":1,"maxduration":2,"protocols":[1,15]}}]}`, p+".assets[0].video.protocols[1] is not a video protocol (1-14, or 500 and above)")
	f(`{"assets":[{"id":1,"data":{"type":13}}]}`, p+".assets[0].data.type is not a Native data asset type (1-12, or 500 and above)")
	f(`{"assets":[{"id":1,"title":{"len":1}},{"id":1,"data":{"type":1}}]}`, p+".assets[1].id is duplicated")
	f(`{"assets":[{"title":{"len":1}},{"id":2,"data":{"type":1}},{"data":{"type":2}}]}`, p+".assets[2].id is duplicated")
	f(`{"assets":[{"id":1,"title":{"len":1}}],"eventtrackers":[{"event":5,"methods":[1]}]}`, p+".eventtrackers[0].event is not a Native event type (1-4, or 500 and above)")
	f(`{"assets":[{"id":1,"title":{"len":1}}],"eventtrackers":[{"event":1}]}`, p+".eventtrackers[0].methods must not be empty")
	f(`{"assets":[{"id":1,"title":{"len":1}}],"eventtrackers":[{"event":1,"methods":[1,3]}]}`, p+".eventtrackers[0].methods[1] is not a Native event tracking method (1-2, or 500 and above)")

	// Many assets take the map path for duplicate ids.
	var b strings.Builder
	b.WriteString(`{"assets":[`)
	for i := range 40 {
		b.WriteString(`{"id":` + strconv.Itoa(i+1) + `,"title":{"len":1}},`)
	}
	b.WriteString(`{"id":10,"title":{"len":1}}]}`) // asset 9's id
	f(b.String(), p+".assets[40].id is duplicated")
}

// The Native request samples of the corpus (Native 1.1 spec examples) are
// real requests except for one value: their plcmttype is 11, which Native
// list 7.3 (1-4, 500+) does not hold and Prebid Server rejects too. With
// that value in the list, the rest of each sample must be accepted.
func TestNativeRequestCorpusSamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "valid/prebid-openrtb-native1/native-request-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Native request samples: %v", err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		re := asRequestError(t, decodeValidate(nativeImpRequest(t, string(raw))))
		if re.Field != "imp[0].native.request.plcmttype" {
			t.Errorf("%s: %v, want the plcmttype 11 named", file, re)
		}
		fixed := strings.Replace(string(raw), `"plcmttype": 11`, `"plcmttype": 1`, 1)
		if err := decodeValidate(nativeImpRequest(t, fixed)); err != nil {
			t.Errorf("%s with plcmttype 1: %v", file, err)
		}
	}
}

// FuzzNativeRequest checks that no Native request text makes validation
// panic, and that every error names a field inside imp[0].native.request.
func FuzzNativeRequest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "valid/prebid-openrtb-native1/native-request-*.json"))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(raw))
	}
	for _, file := range []string{"invalid/prebid-server-invalid-native", "valid/prebid-server-valid-native"} {
		bodies, _ := filepath.Glob(filepath.Join(corpusDir, file, "*.json"))
		for _, body := range bodies {
			var req struct {
				Imp []struct {
					Native struct{ Request string } `json:"native"`
				} `json:"imp"`
			}
			raw, err := os.ReadFile(body)
			if err != nil {
				f.Fatal(err)
			}
			if json.Unmarshal(raw, &req) == nil && len(req.Imp) > 0 {
				f.Add(req.Imp[0].Native.Request)
			}
		}
	}
	for _, s := range []string{"", "{}", "[]", `{"native":{"native":{}}}`, `{"assets":[{"id":1,"video":{"mimes":["v"],"minduration":1,"maxduration":2,"protocols":[1]}}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, native string) {
		if native == "" {
			return // "is required", checked before the Native request is read
		}
		err := validateNative(native, 0)
		if err == nil {
			return
		}
		if err.Field != "imp[0].native.request" && !strings.HasPrefix(err.Field, "imp[0].native.request.") || err.Problem == "" {
			t.Fatalf("error %#v does not name a field of the Native request", err)
		}
	})
}
