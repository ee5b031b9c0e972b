package openrtb

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

// corpusDir is the project's own copy of the shared OpenRTB examples.
const corpusDir = "../testdata/openrtb"

// manifestEntry is one row of testdata/openrtb/manifest.json.
type manifestEntry struct {
	File     string `json:"file"`
	Kind     string `json:"kind"`
	Valid    *bool  `json:"valid"`
	Scope    string `json:"scope"`
	Expected string `json:"expected"`
}

func loadManifest(t *testing.T) []manifestEntry {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, "manifest.json"))
	if err != nil {
		t.Fatalf("read manifest: %v", err)
	}
	var m []manifestEntry
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("parse manifest: %v", err)
	}
	return m
}

func readCorpusFile(t testing.TB, file string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(corpusDir, filepath.FromSlash(file)))
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	return body
}

// decodeValidate runs both steps, as the auction endpoint will.
func decodeValidate(body []byte) error {
	var req openrtb2.BidRequest
	if err := DecodeRequest(body, &req); err != nil {
		return err
	}
	return ValidateRequest(&req, Limits{})
}

// asRequestError fails the test unless err is a *RequestError.
func asRequestError(t *testing.T, err error) *RequestError {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a *RequestError")
	}
	re, ok := err.(*RequestError)
	if !ok {
		t.Fatalf("got %T (%v), want *RequestError", err, err)
	}
	return re
}

func TestRequestErrorMessage(t *testing.T) {
	err := &RequestError{Field: "imp[1].id", Problem: "is duplicated"}
	if got, want := err.Error(), "imp[1].id is duplicated"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// corpusNativePlaceholders are the valid bid requests of the corpus whose
// imp.native.request is documentation text standing in for a Native
// request, not one: "...Native Spec request as an encoded string..." and
// {"native":{"ver":"1.0","assets":[ ... ]}}. They are valid examples of the
// OpenRTB 2.x structure, but a request with such an imp cannot be served
// and is rejected, naming the field.
var corpusNativePlaceholders = map[string]string{
	"valid/bsm-openrtb/bidrequest-native.json":                        "imp[0].native.request",
	"valid/prebid-openrtb-2.5-spec-samples/bidrequest-native-ad.json": "imp[0].native.request",
}

func TestCorpusValidRequests(t *testing.T) {
	n := 0
	for _, e := range loadManifest(t) {
		if e.Kind != "bidrequest" || e.Valid == nil || !*e.Valid {
			continue
		}
		n++
		t.Run(e.File, func(t *testing.T) {
			body := readCorpusFile(t, e.File)
			if want, ok := corpusNativePlaceholders[e.File]; ok {
				if !strings.Contains(string(body), "...") {
					t.Fatalf("listed as a placeholder, but holds no \"...\"")
				}
				if re := asRequestError(t, decodeValidate(body)); re.Field != want {
					t.Errorf("Field = %q (%v), want %q", re.Field, re, want)
				}
				return
			}
			if err := decodeValidate(body); err != nil {
				t.Errorf("valid request rejected: %v", err)
			}
		})
	}
	for file := range corpusNativePlaceholders {
		if _, err := os.Stat(filepath.Join(corpusDir, file)); err != nil {
			t.Errorf("placeholder %s: %v", file, err)
		}
	}
	if n == 0 {
		t.Fatal("manifest lists no valid bid requests")
	}
}

// corpusInvalidGeneric maps every invalid bid request of scope
// openrtb-generic in the manifest to the Field our validator must name. The
// manifest's "expected" text (prebid-server's message) names the same field.
var corpusInvalidGeneric = map[string]string{
	"invalid/prebid-server-invalid-whole/audio-maxbitrate-negative.json":    "imp[0].audio.maxbitrate",
	"invalid/prebid-server-invalid-whole/audio-maxseq-negative.json":        "imp[0].audio.maxseq",
	"invalid/prebid-server-invalid-whole/banner-h-negative.json":            "imp[0].banner.h",
	"invalid/prebid-server-invalid-whole/banner-no-size.json":               "imp[0].banner",
	"invalid/prebid-server-invalid-whole/banner-w-only.json":                "imp[0].banner",
	"invalid/prebid-server-invalid-whole/device-geo-accuracy-negative.json": "device.geo.accuracy",
	"invalid/prebid-server-invalid-whole/device-ppi-negative.json":          "device.ppi",
	"invalid/prebid-server-invalid-whole/device-w-negative.json":            "device.w",
	"invalid/prebid-server-invalid-whole/format-empty-object.json":          "imp[0].banner.format[0]",
	"invalid/prebid-server-invalid-whole/format-two-widths.json":            "imp[0].banner.format[0]",
	"invalid/prebid-server-invalid-whole/format-w-negative.json":            "imp[0].banner.format[0].w",
	"invalid/prebid-server-invalid-whole/format-wratio-negative.json":       "imp[0].banner.format[0].wratio",
	"invalid/prebid-server-invalid-whole/imp-empty-array.json":              "imp",
	"invalid/prebid-server-invalid-whole/imp-empty-object.json":             "imp[0].id",
	"invalid/prebid-server-invalid-whole/imp-no-type.json":                  "imp[0]",
	"invalid/prebid-server-invalid-whole/native-empty.json":                 "imp[0].native.request",
	"invalid/prebid-server-invalid-whole/only-request-id.json":              "imp",
	"invalid/prebid-server-invalid-whole/regs-gdpr-invalid.json":            "regs.gdpr",
	"invalid/prebid-server-invalid-whole/site-dooh-both.json":               "dooh",
	"invalid/prebid-server-invalid-whole/tmax-negative.json":                "tmax",
	"invalid/prebid-server-invalid-whole/user-geo-accuracy-negative.json":   "user.geo.accuracy",
	"invalid/prebid-server-invalid-whole/video-empty.json":                  "imp[0].video.mimes",
	"invalid/prebid-server-invalid-whole/video-h-negative.json":             "imp[0].video.h",
	"invalid/prebid-server-invalid-whole/video-w-negative.json":             "imp[0].video.w",
}

func TestCorpusInvalidGenericRequests(t *testing.T) {
	inManifest := map[string]bool{}
	for _, e := range loadManifest(t) {
		if e.Kind != "bidrequest" || e.Valid == nil || *e.Valid || e.Scope != "openrtb-generic" {
			continue
		}
		inManifest[e.File] = true
		t.Run(e.File, func(t *testing.T) {
			want, ok := corpusInvalidGeneric[e.File]
			if !ok {
				t.Fatalf("no expected field in corpusInvalidGeneric; manifest expects: %s", e.Expected)
			}
			// The mapping must agree with the source's own message: it names
			// the field itself or the object that holds it.
			parent := want
			if i := strings.LastIndexByte(want, '.'); i >= 0 {
				parent = want[:i]
			}
			if !strings.Contains(e.Expected, want) && !strings.Contains(e.Expected, parent) {
				t.Fatalf("mapping %q does not match manifest text %q", want, e.Expected)
			}
			re := asRequestError(t, decodeValidate(readCorpusFile(t, e.File)))
			if re.Field != want {
				t.Errorf("Field = %q (%v), want %q", re.Field, re, want)
			}
		})
	}
	for file := range corpusInvalidGeneric {
		if !inManifest[file] {
			t.Errorf("%s is mapped but not an invalid openrtb-generic bid request in the manifest", file)
		}
	}
}

// corpusInvalidNative maps every invalid bid request of scope
// openrtb-native in the manifest to the Field our validator must name.
// Prebid Server's messages say only "Invalid request"; the files' section
// text in the manifest says what is wrong, and the field here is that.
var corpusInvalidNative = map[string]string{
	"invalid/prebid-server-invalid-native/asset-data-invalid-type.json":                   "imp[0].native.request.assets[0].data.type",
	"invalid/prebid-server-invalid-native/asset-data-no-type.json":                        "imp[0].native.request.assets[0].data.type",
	"invalid/prebid-server-invalid-native/asset-img-h-negative.json":                      "imp[0].native.request.assets[0].img.h",
	"invalid/prebid-server-invalid-native/asset-img-w-negative.json":                      "imp[0].native.request.assets[0].img.w",
	"invalid/prebid-server-invalid-native/asset-mixed-type.json":                          "imp[0].native.request.assets[0]",
	"invalid/prebid-server-invalid-native/asset-title-empty.json":                         "imp[0].native.request.assets[0].title.len",
	"invalid/prebid-server-invalid-native/asset-video-no-maxduration.json":                "imp[0].native.request.assets[0].video.maxduration",
	"invalid/prebid-server-invalid-native/asset-video-no-mimes.json":                      "imp[0].native.request.assets[0].video.mimes",
	"invalid/prebid-server-invalid-native/asset-video-no-minduration.json":                "imp[0].native.request.assets[0].video.minduration",
	"invalid/prebid-server-invalid-native/asset-video-no-protocols.json":                  "imp[0].native.request.assets[0].video.protocols",
	"invalid/prebid-server-invalid-native/asset-video-protocols-invalid.json":             "imp[0].native.request.assets[0].video.protocols[0]",
	"invalid/prebid-server-invalid-native/context-type-content-incompatible-subtype.json": "imp[0].native.request.contextsubtype",
	"invalid/prebid-server-invalid-native/context-type-product-incompatible-subtype.json": "imp[0].native.request.contextsubtype",
	"invalid/prebid-server-invalid-native/context-type-social-incompatible-subtype.json":  "imp[0].native.request.contextsubtype",
	"invalid/prebid-server-invalid-native/empty-object.json":                              "imp[0].native.request.assets",
	"invalid/prebid-server-invalid-native/empty.json":                                     "imp[0].native.request",
	"invalid/prebid-server-invalid-native/eventtracker-empty.json":                        "imp[0].native.request.eventtrackers[0].event",
	"invalid/prebid-server-invalid-native/request-context-invalid.json":                   "imp[0].native.request.context",
	"invalid/prebid-server-invalid-native/request-plcmttype-invalid.json":                 "imp[0].native.request.plcmttype",
}

func TestCorpusInvalidNativeRequests(t *testing.T) {
	inManifest := map[string]bool{}
	for _, e := range loadManifest(t) {
		if e.Kind != "bidrequest" || e.Valid == nil || *e.Valid || e.Scope != "openrtb-native" {
			continue
		}
		inManifest[e.File] = true
		t.Run(e.File, func(t *testing.T) {
			want, ok := corpusInvalidNative[e.File]
			if !ok {
				t.Fatalf("no expected field in corpusInvalidNative; manifest expects: %s", e.Expected)
			}
			re := asRequestError(t, decodeValidate(readCorpusFile(t, e.File)))
			if re.Field != want {
				t.Errorf("Field = %q (%v), want %q", re.Field, re, want)
			}
		})
	}
	for file := range corpusInvalidNative {
		if !inManifest[file] {
			t.Errorf("%s is mapped but not an invalid openrtb-native bid request in the manifest", file)
		}
	}
}

// Invalid requests of other scopes (prebid policy) may be accepted by this
// validator; an error, if any, must still be a *RequestError.
func TestCorpusInvalidOtherScopes(t *testing.T) {
	for _, e := range loadManifest(t) {
		if e.Kind != "bidrequest" || e.Valid == nil || *e.Valid || e.Scope == "openrtb-generic" || e.Scope == "openrtb-native" {
			continue
		}
		if err := decodeValidate(readCorpusFile(t, e.File)); err != nil {
			asRequestError(t, err)
		}
	}
}

func TestDecodeRequestWholeBodyErrors(t *testing.T) {
	tests := []struct {
		name, body, problem string
	}{
		{"empty", "", "body is empty"},
		{"blank", " \n\t", "body is empty"},
		{"null", "null", "body must be a JSON object"},
		{"array", "[]", "body must be a JSON object"},
		{"array of object", `[{"id":"x"}]`, "body must be a JSON object"},
		{"number", "1", "body must be a JSON object"},
		{"string", `"x"`, "body must be a JSON object"},
		{"true", "true", "body must be a JSON object"},
		{"false", "false", "body must be a JSON object"},
		{"open brace", "{", "body is not valid JSON: unexpected end of JSON input at offset 1"},
		{"trailing comma", `{"id":"a",}`, "body is not valid JSON: invalid character '}' looking for beginning of object key string at offset 11"},
		{"missing comma", `{"id":"a" "b":1}`, "body is not valid JSON: invalid character '\"' after object key:value pair at offset 11"},
		{"trailing garbage", `{"id":"a"} x`, "body is not valid JSON: invalid character 'x' after top-level value at offset 12"},
		{"two objects", `{"id":"a"}{}`, "body is not valid JSON: invalid character '{' after top-level value at offset 11"},
		{"bad ext", `{"id":"a","ext":{"a":}}`, "body is not valid JSON: invalid character '}' looking for beginning of value at offset 22"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req openrtb2.BidRequest
			re := asRequestError(t, DecodeRequest([]byte(tt.body), &req))
			if re.Field != "request" || re.Problem != tt.problem {
				t.Errorf("got %q / %q, want %q / %q", re.Field, re.Problem, "request", tt.problem)
			}
		})
	}
}

func TestDecodeRequestTypeErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"id number", `{"id":1}`, "id must be a string, not a number"},
		{"banner w string", `{"id":"r","imp":[{"id":"1"},{"id":"2","banner":{"w":"300"}}]}`,
			"imp[1].banner.w must be an integer, not a string"},
		{"format w string", `{"imp":[{"id":"1","banner":{"format":[{"w":1},{"w":"x"}]}}]}`,
			"imp[0].banner.format[1].w must be an integer, not a string"},
		{"gdpr out of range", `{"regs":{"gdpr":300}}`, "regs.gdpr is out of range: 300"},
		{"gdpr string", `{"regs":{"gdpr":"1"}}`, "regs.gdpr must be an integer, not a string"},
		{"tmax fraction", `{"tmax":1.5}`, "tmax must be an integer, not 1.5"},
		{"bidfloor overflow", `{"imp":[{"bidfloor":1e400}]}`, "imp[0].bidfloor is out of range: 1e400"},
		{"lat string", `{"device":{"geo":{"lat":"x"}}}`, "device.geo.lat must be a number, not a string"},
		{"imp object", `{"imp":{}}`, "imp must be an array, not an object"},
		{"site array", `{"site":[]}`, "site must be an object, not an array"},
		{"mimes bool", `{"imp":[{"video":{"mimes":true}}]}`, "imp[0].video.mimes must be an array, not a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req openrtb2.BidRequest
			re := asRequestError(t, DecodeRequest([]byte(tt.body), &req))
			if got := re.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeRequestResetsTarget(t *testing.T) {
	req := openrtb2.BidRequest{ID: "old", TMax: 5, Imp: []openrtb2.Imp{{ID: "x"}}}
	if err := DecodeRequest([]byte(`{"id":"new"}`), &req); err != nil {
		t.Fatal(err)
	}
	if req.ID != "new" || req.TMax != 0 || req.Imp != nil {
		t.Errorf("stale fields kept: %+v", req)
	}
}

// Helpers to write small requests: base has one valid banner imp.
const baseImp = `{"id":"1","banner":{"w":300,"h":250}}`

// withImps builds a request with the given imp objects.
func withImps(imps ...string) string {
	return `{"id":"r","imp":[` + strings.Join(imps, ",") + `]}`
}

// withTop builds a valid one-imp request plus top-level members.
func withTop(members string) string {
	return `{"id":"r","imp":[` + baseImp + `],` + members + `}`
}

func TestValidateRequestInvalid(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		// request
		{"id missing", `{"imp":[` + baseImp + `]}`, "id is required"},
		{"id empty", `{"id":"","imp":[` + baseImp + `]}`, "id is required"},
		{"imp missing", `{"id":"r"}`, "imp is required"},
		{"imp null", `{"id":"r","imp":null}`, "imp is required"},
		{"imp empty", `{"id":"r","imp":[]}`, "imp is required"},
		{"tmax negative", withTop(`"tmax":-1`), "tmax must not be negative"},
		{"cur lower case", withTop(`"cur":["USD","eur"]`), "cur[1] must be a 3-letter upper-case currency code"},
		{"cur too long", withTop(`"cur":["USDX"]`), "cur[0] must be a 3-letter upper-case currency code"},
		{"cur empty string", withTop(`"cur":[""]`), "cur[0] must be a 3-letter upper-case currency code"},
		{"site and app", withTop(`"site":{},"app":{}`), "app must not be set together with site"},
		{"site and dooh", withTop(`"site":{},"dooh":{}`), "dooh must not be set together with site"},
		{"app and dooh", withTop(`"app":{},"dooh":{}`), "dooh must not be set together with app"},
		{"all three", withTop(`"site":{},"app":{},"dooh":{}`), "app must not be set together with site"},

		// imp
		{"imp id missing", withImps(`{"banner":{"w":1,"h":1}}`), "imp[0].id is required"},
		{"imp id duplicated", withImps(baseImp, `{"id":"2","banner":{"w":1,"h":1}}`, baseImp), "imp[2].id is duplicated"},
		{"imp no media", withImps(`{"id":"1"}`), "imp[0] must contain at least one of banner, video, audio or native"},
		{"imp media null", withImps(`{"id":"1","banner":null}`), "imp[0] must contain at least one of banner, video, audio or native"},
		{"bidfloor negative", withImps(`{"id":"1","bidfloor":-0.01,"banner":{"w":1,"h":1}}`), "imp[0].bidfloor must not be negative"},
		{"bidfloorcur bad", withImps(`{"id":"1","bidfloorcur":"usd","banner":{"w":1,"h":1}}`), "imp[0].bidfloorcur must be a 3-letter upper-case currency code"},
		{"metric type missing", withImps(`{"id":"1","metric":[{"value":0.5}],"banner":{"w":1,"h":1}}`), "imp[0].metric[0].type is required"},
		{"metric value negative", withImps(`{"id":"1","metric":[{"type":"viewability","value":-1}],"banner":{"w":1,"h":1}}`), "imp[0].metric[0].value must not be negative"},
		{"qty multiplier negative", withImps(`{"id":"1","qty":{"multiplier":-2},"banner":{"w":1,"h":1}}`), "imp[0].qty.multiplier must not be negative"},

		// banner
		{"banner w negative", withImps(`{"id":"1","banner":{"w":-1,"h":250}}`), "imp[0].banner.w must not be negative"},
		{"banner h negative", withImps(`{"id":"1","banner":{"w":300,"h":-250}}`), "imp[0].banner.h must not be negative"},
		{"banner wmax negative", withImps(`{"id":"1","banner":{"w":300,"h":250,"wmax":-1}}`), "imp[0].banner.wmax must not be negative"},
		{"banner hmax negative", withImps(`{"id":"1","banner":{"w":300,"h":250,"hmax":-1}}`), "imp[0].banner.hmax must not be negative"},
		{"banner wmin negative", withImps(`{"id":"1","banner":{"w":300,"h":250,"wmin":-1}}`), "imp[0].banner.wmin must not be negative"},
		{"banner hmin negative", withImps(`{"id":"1","banner":{"w":300,"h":250,"hmin":-1}}`), "imp[0].banner.hmin must not be negative"},
		{"banner empty", withImps(`{"id":"1","banner":{}}`), "imp[0].banner has no sizes"},
		{"banner w only", withImps(`{"id":"1","banner":{"w":300}}`), "imp[0].banner has no sizes"},
		{"banner h only", withImps(`{"id":"1","banner":{"h":250}}`), "imp[0].banner has no sizes"},
		{"banner zero size", withImps(`{"id":"1","banner":{"w":0,"h":0}}`), "imp[0].banner has no sizes"},
		{"banner empty format", withImps(`{"id":"1","banner":{"format":[]}}`), "imp[0].banner has no sizes"},
		{"not interstitial", withImps(`{"id":"1","instl":0,"banner":{}}`), "imp[0].banner has no sizes"},
		{"second imp banner", withImps(baseImp, `{"id":"2","banner":{"w":1}}`), "imp[1].banner has no sizes"},

		// format
		{"format empty object", withImps(`{"id":"1","banner":{"format":[{"w":1,"h":1},{}]}}`),
			"imp[0].banner.format[1] must define either w and h, or wratio, hratio and wmin"},
		{"format mixed", withImps(`{"id":"1","banner":{"format":[{"w":30,"wratio":23}]}}`),
			"imp[0].banner.format[0] must not mix w/h with wratio/hratio/wmin"},
		{"format mixed full", withImps(`{"id":"1","banner":{"format":[{"w":300,"h":250,"wratio":16,"hratio":9,"wmin":300}]}}`),
			"imp[0].banner.format[0] must not mix w/h with wratio/hratio/wmin"},
		{"format w negative", withImps(`{"id":"1","banner":{"format":[{"w":-300,"h":250}]}}`), "imp[0].banner.format[0].w must not be negative"},
		{"format h negative", withImps(`{"id":"1","banner":{"format":[{"w":300,"h":-250}]}}`), "imp[0].banner.format[0].h must not be negative"},
		{"format wratio negative", withImps(`{"id":"1","banner":{"format":[{"wratio":-1,"hratio":1,"wmin":1}]}}`), "imp[0].banner.format[0].wratio must not be negative"},
		{"format hratio negative", withImps(`{"id":"1","banner":{"format":[{"wratio":1,"hratio":-1,"wmin":1}]}}`), "imp[0].banner.format[0].hratio must not be negative"},
		{"format wmin negative", withImps(`{"id":"1","banner":{"format":[{"wratio":1,"hratio":1,"wmin":-1}]}}`), "imp[0].banner.format[0].wmin must not be negative"},
		{"format w only", withImps(`{"id":"1","banner":{"format":[{"w":300}]}}`), "imp[0].banner.format[0].h must be greater than 0"},
		{"format h only", withImps(`{"id":"1","banner":{"format":[{"h":250}]}}`), "imp[0].banner.format[0].w must be greater than 0"},
		{"format no wmin", withImps(`{"id":"1","banner":{"format":[{"wratio":16,"hratio":9}]}}`), "imp[0].banner.format[0].wmin must be greater than 0"},
		{"format no hratio", withImps(`{"id":"1","banner":{"format":[{"wratio":16,"wmin":300}]}}`), "imp[0].banner.format[0].hratio must be greater than 0"},
		{"format no wratio", withImps(`{"id":"1","banner":{"format":[{"hratio":9,"wmin":300}]}}`), "imp[0].banner.format[0].wratio must be greater than 0"},
		{"interstitial bad format", withImps(`{"id":"1","instl":1,"banner":{"format":[{}]}}`),
			"imp[0].banner.format[0] must define either w and h, or wratio, hratio and wmin"},

		// video
		{"video empty", withImps(`{"id":"1","video":{}}`), "imp[0].video.mimes must not be empty"},
		{"video mimes empty", withImps(`{"id":"1","video":{"mimes":[]}}`), "imp[0].video.mimes must not be empty"},
		{"video w negative", withImps(video(`"w":-640`)), "imp[0].video.w must not be negative"},
		{"video h negative", withImps(video(`"h":-480`)), "imp[0].video.h must not be negative"},
		{"video minduration negative", withImps(video(`"minduration":-1`)), "imp[0].video.minduration must not be negative"},
		{"video maxduration negative", withImps(video(`"maxduration":-1`)), "imp[0].video.maxduration must not be negative"},
		{"video min above max", withImps(video(`"minduration":31,"maxduration":30`)), "imp[0].video.minduration must not be greater than maxduration"},
		{"video startdelay -3", withImps(video(`"startdelay":-3`)), "imp[0].video.startdelay must not be less than -2"},
		{"video maxseq negative", withImps(video(`"maxseq":-1`)), "imp[0].video.maxseq must not be negative"},
		{"video poddur negative", withImps(video(`"poddur":-1`)), "imp[0].video.poddur must not be negative"},
		{"video sequence negative", withImps(video(`"sequence":-1`)), "imp[0].video.sequence must not be negative"},
		{"video skipmin negative", withImps(video(`"skipmin":-1`)), "imp[0].video.skipmin must not be negative"},
		{"video skipafter negative", withImps(video(`"skipafter":-1`)), "imp[0].video.skipafter must not be negative"},
		{"video maxextended -2", withImps(video(`"maxextended":-2`)), "imp[0].video.maxextended must not be less than -1"},
		{"video minbitrate negative", withImps(video(`"minbitrate":-1`)), "imp[0].video.minbitrate must not be negative"},
		{"video maxbitrate negative", withImps(video(`"maxbitrate":-1`)), "imp[0].video.maxbitrate must not be negative"},
		{"video mincpmpersec negative", withImps(video(`"mincpmpersec":-0.5`)), "imp[0].video.mincpmpersec must not be negative"},
		{"video rqddurs negative", withImps(video(`"rqddurs":[15,-30]`)), "imp[0].video.rqddurs[1] must not be negative"},
		{"video durfloors negative", withImps(video(`"durfloors":[{"mindur":1,"maxdur":15,"bidfloor":-1}]`)), "imp[0].video.durfloors[0].bidfloor must not be negative"},
		{"video durfloors mindur", withImps(video(`"durfloors":[{"mindur":-1}]`)), "imp[0].video.durfloors[0].mindur must not be negative"},
		{"video durfloors maxdur", withImps(video(`"durfloors":[{"maxdur":-1}]`)), "imp[0].video.durfloors[0].maxdur must not be negative"},

		// audio
		{"audio empty", withImps(`{"id":"1","audio":{}}`), "imp[0].audio.mimes must not be empty"},
		{"audio minduration negative", withImps(audio(`"minduration":-1`)), "imp[0].audio.minduration must not be negative"},
		{"audio maxduration negative", withImps(audio(`"maxduration":-1`)), "imp[0].audio.maxduration must not be negative"},
		{"audio min above max", withImps(audio(`"minduration":60,"maxduration":30`)), "imp[0].audio.minduration must not be greater than maxduration"},
		{"audio startdelay -3", withImps(audio(`"startdelay":-3`)), "imp[0].audio.startdelay must not be less than -2"},
		{"audio poddur negative", withImps(audio(`"poddur":-1`)), "imp[0].audio.poddur must not be negative"},
		{"audio sequence negative", withImps(audio(`"sequence":-1`)), "imp[0].audio.sequence must not be negative"},
		{"audio maxseq negative", withImps(audio(`"maxseq":-1`)), "imp[0].audio.maxseq must not be negative"},
		{"audio maxextended -2", withImps(audio(`"maxextended":-2`)), "imp[0].audio.maxextended must not be less than -1"},
		{"audio minbitrate negative", withImps(audio(`"minbitrate":-1`)), "imp[0].audio.minbitrate must not be negative"},
		{"audio maxbitrate negative", withImps(audio(`"maxbitrate":-1`)), "imp[0].audio.maxbitrate must not be negative"},
		{"audio mincpmpersec negative", withImps(audio(`"mincpmpersec":-1`)), "imp[0].audio.mincpmpersec must not be negative"},
		{"audio rqddurs negative", withImps(audio(`"rqddurs":[-1]`)), "imp[0].audio.rqddurs[0] must not be negative"},
		{"audio durfloors negative", withImps(audio(`"durfloors":[{"bidfloor":-1}]`)), "imp[0].audio.durfloors[0].bidfloor must not be negative"},

		// native
		{"native empty", withImps(`{"id":"1","native":{}}`), "imp[0].native.request is required"},
		{"native request empty", withImps(`{"id":"1","native":{"request":""}}`), "imp[0].native.request is required"},

		// pmp
		{"deal id missing", withImps(`{"id":"1","banner":{"w":1,"h":1},"pmp":{"deals":[{"id":"d1"},{"bidfloor":1}]}}`), "imp[0].pmp.deals[1].id is required"},
		{"deal bidfloor negative", withImps(`{"id":"1","banner":{"w":1,"h":1},"pmp":{"deals":[{"id":"d1","bidfloor":-1}]}}`), "imp[0].pmp.deals[0].bidfloor must not be negative"},
		{"deal bidfloorcur bad", withImps(`{"id":"1","banner":{"w":1,"h":1},"pmp":{"deals":[{"id":"d1","bidfloorcur":"US"}]}}`), "imp[0].pmp.deals[0].bidfloorcur must be a 3-letter upper-case currency code"},
		{"deal mincpmpersec negative", withImps(`{"id":"1","banner":{"w":1,"h":1},"pmp":{"deals":[{"id":"d1","mincpmpersec":-1}]}}`), "imp[0].pmp.deals[0].mincpmpersec must not be negative"},
		{"deal durfloors negative", withImps(`{"id":"1","banner":{"w":1,"h":1},"pmp":{"deals":[{"id":"d1"},{"id":"d2","durfloors":[{},{"mindur":-5}]}]}}`), "imp[0].pmp.deals[1].durfloors[1].mindur must not be negative"},

		// device
		{"device w negative", withTop(`"device":{"w":-1}`), "device.w must not be negative"},
		{"device h negative", withTop(`"device":{"h":-1}`), "device.h must not be negative"},
		{"device ppi negative", withTop(`"device":{"ppi":-1}`), "device.ppi must not be negative"},
		{"device pxratio negative", withTop(`"device":{"pxratio":-1.5}`), "device.pxratio must not be negative"},
		{"device geo accuracy negative", withTop(`"device":{"geo":{"accuracy":-1}}`), "device.geo.accuracy must not be negative"},
		{"sua browser brand missing", withTop(`"device":{"sua":{"browsers":[{"brand":"Chromium","version":["1"]},{"version":["2"]}]}}`), "device.sua.browsers[1].brand is required"},
		{"sua platform brand missing", withTop(`"device":{"sua":{"platform":{"version":["14"]}}}`), "device.sua.platform.brand is required"},

		// user
		{"user geo accuracy negative", withTop(`"user":{"geo":{"accuracy":-1}}`), "user.geo.accuracy must not be negative"},

		// regs
		{"gdpr 2", withTop(`"regs":{"gdpr":2}`), "regs.gdpr must be 0 or 1"},
		{"gdpr -1", withTop(`"regs":{"gdpr":-1}`), "regs.gdpr must be 0 or 1"},
		{"coppa 2", withTop(`"regs":{"coppa":2}`), "regs.coppa must be 0 or 1"},

		// source.schain
		{"schain complete 2", withTop(`"source":{"schain":{"complete":2,"ver":"1.0","nodes":[]}}`), "source.schain.complete must be 0 or 1"},
		{"schain ver missing", withTop(`"source":{"schain":{"complete":1,"nodes":[{"asi":"a.com","sid":"1"}]}}`), "source.schain.ver is required"},
		{"schain nodes missing", withTop(`"source":{"schain":{"complete":1,"ver":"1.0"}}`), "source.schain.nodes is required"},
		{"schain asi missing", withTop(`"source":{"schain":{"complete":1,"ver":"1.0","nodes":[{"asi":"a.com","sid":"1"},{"sid":"2"}]}}`), "source.schain.nodes[1].asi is required"},
		{"schain sid missing", withTop(`"source":{"schain":{"complete":1,"ver":"1.0","nodes":[{"asi":"a.com"}]}}`), "source.schain.nodes[0].sid is required"},
		{"schain hp 2", withTop(`"source":{"schain":{"complete":1,"ver":"1.0","nodes":[{"asi":"a.com","sid":"1","hp":2}]}}`), "source.schain.nodes[0].hp must be 0 or 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := asRequestError(t, decodeValidate([]byte(tt.body)))
			if got := re.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// video builds an imp with a valid video object plus the given members.
func video(members string) string {
	return `{"id":"1","video":{"mimes":["video/mp4"],` + members + `}}`
}

// audio builds an imp with a valid audio object plus the given members.
func audio(members string) string {
	return `{"id":"1","audio":{"mimes":["audio/mp4"],` + members + `}}`
}

func TestValidateRequestValidEdgeCases(t *testing.T) {
	tests := []struct {
		name, body string
	}{
		{"minimal banner", withImps(baseImp)},
		{"no site app or dooh", withImps(baseImp)},
		{"site only", withTop(`"site":{"page":"https://example.com"}`)},
		{"app only", withTop(`"app":{"bundle":"com.example"}`)},
		{"dooh only", withTop(`"dooh":{"venuetype":["transit"]}`)},
		{"site null and app", withTop(`"site":null,"app":{}`)},
		{"interstitial 0x0 banner", withImps(`{"id":"1","instl":1,"banner":{"w":0,"h":0}}`)},
		{"interstitial empty banner", withImps(`{"id":"1","instl":1,"banner":{}}`)},
		{"banner format only", withImps(`{"id":"1","banner":{"format":[{"w":300,"h":250},{"w":728,"h":90}]}}`)},
		{"banner w h and format", withImps(`{"id":"1","banner":{"w":300,"h":250,"format":[{"w":300,"h":250}]}}`)},
		{"flexible format", withImps(`{"id":"1","banner":{"format":[{"wratio":16,"hratio":9,"wmin":320}]}}`)},
		{"fixed and flexible entries", withImps(`{"id":"1","banner":{"format":[{"w":300,"h":250},{"wratio":1,"hratio":1,"wmin":100}]}}`)},
		{"banner wmax hmax wmin hmin", withImps(`{"id":"1","banner":{"w":300,"h":250,"wmax":320,"hmax":480,"wmin":1,"hmin":1}}`)},
		{"video startdelay -1", withImps(video(`"startdelay":-1`))},
		{"video startdelay -2", withImps(video(`"startdelay":-2`))},
		{"video maxextended -1", withImps(video(`"maxextended":-1`))},
		{"video min equals max", withImps(video(`"minduration":30,"maxduration":30`))},
		{"video min without max", withImps(video(`"minduration":30`))},
		{"video w h zero", withImps(video(`"w":0,"h":0`))},
		{"audio startdelay -2", withImps(audio(`"startdelay":-2,"maxextended":-1`))},
		{"native", withImps(`{"id":"1","native":{"request":"{\"ver\":\"1.2\",\"assets\":[{\"id\":1,\"title\":{\"len\":90}}]}","ver":"1.2"}}`)},
		{"multi-format imp", withImps(`{"id":"1","banner":{"w":300,"h":250},"video":{"mimes":["video/mp4"]},"native":{"request":"{\"assets\":[{\"data\":{\"type\":2}}]}"}}`)},
		{"negative lat lon", withTop(`"device":{"geo":{"lat":-33.86,"lon":-151.2}},"user":{"geo":{"lat":-90,"lon":-180}}`)},
		{"zero bidfloor", withImps(`{"id":"1","bidfloor":0,"bidfloorcur":"EUR","banner":{"w":1,"h":1}}`)},
		{"cur list", withTop(`"cur":["USD","EUR","JPY"]`)},
		{"unknown fields", `{"id":"r","future_field":{"x":[1,2,{}]},"imp":[{"id":"1","x":null,"banner":{"w":1,"h":1,"y":"z"}}],"zz":1}`},
		{"ext objects", `{"id":"r","ext":{"prebid":{"debug":true}},"imp":[{"id":"1","ext":{"bidder":{"p":1}},"banner":{"w":1,"h":1,"ext":{}},"pmp":{"ext":{"a":1},"deals":[{"id":"d","ext":{"b":2}}]}}],"regs":{"ext":{"gdpr":7}}}`},
		{"ext of any json type", `{"id":"r","ext":[1,"x",null],"imp":[{"id":"1","ext":"s","banner":{"w":1,"h":1}}],"user":{"ext":5}}`},
		{"2.5 regs ext gdpr", withTop(`"regs":{"ext":{"gdpr":1,"us_privacy":"1YNN"}},"user":{"ext":{"consent":"CO...","eids":[{"source":"x.com","uids":[{"id":"u"}]}]}}`)},
		{"2.5 source ext schain", withTop(`"source":{"ext":{"schain":{"complete":1,"ver":"1.0","nodes":[{"asi":"a.com","sid":"1","hp":1}]}}}`)},
		{"2.6 gdpr 0", withTop(`"regs":{"gdpr":0,"coppa":1}`)},
		{"schain complete", withTop(`"source":{"schain":{"complete":1,"ver":"1.0","nodes":[{"asi":"a.com","sid":"1","hp":1},{"asi":"b.com","sid":"2"}]}}`)},
		{"schain empty nodes", withTop(`"source":{"schain":{"complete":0,"ver":"1.0","nodes":[]}}`)},
		{"sua", withTop(`"device":{"sua":{"browsers":[{"brand":"Chromium","version":["120"]}],"platform":{"brand":"macOS"},"mobile":0}}`)},
		{"eids ok", withTop(`"user":{"eids":[{"source":"id5-sync.com","uids":[{"id":"ID5*x","atype":1}]}]}`)},
		{"pmp deals", withImps(`{"id":"1","banner":{"w":1,"h":1},"pmp":{"private_auction":1,"deals":[{"id":"d1","bidfloor":2.5,"bidfloorcur":"USD","at":1}]}}`)},
		{"qty", withImps(`{"id":"1","banner":{"w":1,"h":1},"qty":{"multiplier":12.5,"sourcetype":1}}`)},
		{"metric", withImps(`{"id":"1","banner":{"w":1,"h":1},"metric":[{"type":"viewability","value":0.85,"vendor":"ias.com"}]}`)},
		{"whitespace around body", "\n\t " + withImps(baseImp) + " \r\n"},
		{"unique imp ids", withImps(baseImp, `{"id":"2","banner":{"w":1,"h":1}}`, `{"id":"3","video":{"mimes":["video/mp4"]}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := decodeValidate([]byte(tt.body)); err != nil {
				t.Errorf("valid request rejected: %v", err)
			}
		})
	}
}

// Many imps take the map path for duplicate detection.
func TestValidateRequestManyImps(t *testing.T) {
	imps := make([]string, 0, 40)
	for i := range 40 {
		imps = append(imps, `{"id":"`+strconv.Itoa(i)+`","banner":{"w":1,"h":1}}`)
	}
	if err := decodeValidate([]byte(withImps(imps...))); err != nil {
		t.Fatalf("40 unique imps rejected: %v", err)
	}
	imps = append(imps, `{"id":"7","banner":{"w":1,"h":1}}`)
	re := asRequestError(t, decodeValidate([]byte(withImps(imps...))))
	if got, want := re.Error(), "imp[40].id is duplicated"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Values that JSON cannot carry but a Go caller can build.
func TestValidateRequestProgrammatic(t *testing.T) {
	valid := func() *openrtb2.BidRequest {
		w, h := int64(300), int64(250)
		return &openrtb2.BidRequest{ID: "r", Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{W: &w, H: &h}}}}
	}
	tests := []struct {
		name   string
		modify func(*openrtb2.BidRequest)
		want   string
	}{
		{"nil request", nil, "request is missing"},
		{"bidfloor NaN", func(r *openrtb2.BidRequest) { r.Imp[0].BidFloor = math.NaN() }, "imp[0].bidfloor must be a finite number"},
		{"bidfloor +Inf", func(r *openrtb2.BidRequest) { r.Imp[0].BidFloor = math.Inf(1) }, "imp[0].bidfloor must be a finite number"},
		{"bidfloor -Inf", func(r *openrtb2.BidRequest) { r.Imp[0].BidFloor = math.Inf(-1) }, "imp[0].bidfloor must be a finite number"},
		{"pxratio NaN", func(r *openrtb2.BidRequest) { r.Device = &openrtb2.Device{PxRatio: math.NaN()} }, "device.pxratio must be a finite number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req *openrtb2.BidRequest
			if tt.modify != nil {
				req = valid()
				tt.modify(req)
			}
			re := asRequestError(t, ValidateRequest(req, Limits{}))
			if got := re.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if err := ValidateRequest(valid(), Limits{}); err != nil {
		t.Errorf("valid request rejected: %v", err)
	}
}

func TestValidateRequestNoAllocs(t *testing.T) {
	var req openrtb2.BidRequest
	body := readCorpusFile(t, benchFile)
	if err := DecodeRequest(body, &req); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := ValidateRequest(&req, Limits{}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ValidateRequest allocates %v times on a valid request, want 0", allocs)
	}
}

func TestDecodeRequestDeepNesting(t *testing.T) {
	const depth = 100000
	body := `{"id":"r","ext":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
	var req openrtb2.BidRequest
	re := asRequestError(t, DecodeRequest([]byte(body), &req))
	if re.Field != "request" || !strings.HasPrefix(re.Problem, "body is not valid JSON: ") {
		t.Errorf("got %q", re)
	}
}

// panicky makes the codec panic, standing in for a decoder bug.
type panicky struct{}

func (*panicky) UnmarshalJSON([]byte) error { panic("decoder bug") }

func TestDecodeCodecPanicIsRequestError(t *testing.T) {
	err := unmarshalJSON([]byte(`{}`), &panicky{})
	if err != errCodecPanic {
		t.Fatalf("got %v, want errCodecPanic", err)
	}
	if got, want := decodeError(err).Error(), "request body is not a valid bid request: the JSON decoder failed on this body"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestValidateRequestLimits(t *testing.T) {
	f := func(imps int, limits Limits, want string) {
		t.Helper()
		req := &openrtb2.BidRequest{ID: "r", Imp: make([]openrtb2.Imp, imps)}
		for i := range req.Imp {
			req.Imp[i] = openrtb2.Imp{ID: strconv.Itoa(i), Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}}
		}
		err := ValidateRequest(req, limits)
		if want == "" {
			if err != nil {
				t.Errorf("%d imps under %+v: %v", imps, limits, err)
			}
			return
		}
		if re := asRequestError(t, err); re.Error() != want {
			t.Errorf("%d imps under %+v: got %q, want %q", imps, limits, re, want)
		}
	}
	f(1000, Limits{}, "")
	f(100, Limits{MaxImps: 100}, "")
	f(101, Limits{MaxImps: 100}, "imp has 101 imps; at most 100 are allowed")
	f(2, Limits{MaxImps: 1}, "imp has 2 imps; at most 1 are allowed")
	f(0, Limits{MaxImps: 1}, "imp is required")
}
