// Package jsoncodec measures candidate JSON codecs for OpenRTB 2.x traffic
// (github.com/prebid/openrtb/v20/openrtb2 types): decoding bid requests,
// re-encoding bid requests for DSPs, and encoding bid responses.
//
// It is a separate module so that the candidates never become dependencies of
// the exchange itself. See README.md for the commands and RESULT.md for the
// measured outcome.
package jsoncodec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"
	jsoniter "github.com/json-iterator/go"
	"github.com/prebid/openrtb/v20/openrtb2"
)

// codec is one candidate. Every candidate is called through the same
// func-typed fields, so the (tiny) indirect-call cost is identical for all.
type codec struct {
	name      string
	unmarshal func([]byte, any) error
	marshal   func(any) ([]byte, error)
	// encodeOnly: the decoder is another row's; not benchmarked for decoding.
	encodeOnly bool
}

// codecs is the list that is tested and benchmarked; stdlib must stay first
// (it is the reference for correctness and the base column for benchstat).
// jsonv2_test.go appends "jsonv2" when built with GOEXPERIMENT=jsonv2.
var codecs = []codec{
	{"stdlib", json.Unmarshal, json.Marshal, false},
	{"goccy", gojson.Unmarshal, gojson.Marshal, false},
	// What openrtb/codec.go uses for responses: goccy without HTML escaping
	// (adm markup is full of < > &; escaping only makes the wire bigger).
	{"goccy-nohtml", gojson.Unmarshal, func(v any) ([]byte, error) { return gojson.MarshalWithOption(v, gojson.DisableHTMLEscape()) }, true},
	{"sonic-default", sonic.ConfigDefault.Unmarshal, sonic.ConfigDefault.Marshal, false},
	{"sonic-std", sonic.ConfigStd.Unmarshal, sonic.ConfigStd.Marshal, false},
	{"sonic-fastest", sonic.ConfigFastest.Unmarshal, sonic.ConfigFastest.Marshal, false},
	{"jsoniter-std", jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal, jsoniter.ConfigCompatibleWithStandardLibrary.Marshal, false},
}

// jsoniterFastest is NOT a candidate: TestJsoniterFastestRoundsFloats shows why.
var jsoniterFastest = codec{"jsoniter-fastest", jsoniter.ConfigFastest.Unmarshal, jsoniter.ConfigFastest.Marshal, false}

func codecByName(tb testing.TB, name string) codec {
	tb.Helper()
	for _, c := range codecs {
		if c.name == name {
			return c
		}
	}
	tb.Fatalf("no codec %q", name)
	return codec{}
}

// ---------------------------------------------------------------- test data

// Benchmark inputs (paths relative to testdata/).
const (
	// primaryRequest: OpenRTB 2.5 spec video example (prebid/openrtb copy),
	// 2616 bytes as stored (indented), 1412 bytes compact: imp with video and
	// two companion ads, site with publisher and content, device, user with a
	// data segment provider.
	primaryRequest = "valid/prebid-openrtb-2.5-spec-samples/bidrequest-video.json"
	// smallRequest: OpenRTB 2.6 spec example 1, simple banner, 604 bytes.
	smallRequest = "valid/iab-openrtb2.6-spec/bidrequest-6.2.1-simple-banner.json"
	// benchResponse: authored for this benchmark (not third-party data):
	// 2 seats, 3 bids, HTML banner and VAST 4 markup in adm, nurl/burl/lurl
	// with macros, ext on bids and on the response. 4315 bytes indented.
	benchResponse = "bench/bidresponse-2seat-3bid.json"
)

type manifestEntry struct {
	File    string `json:"file"`
	Kind    string `json:"kind"`
	Valid   bool   `json:"valid"`
	License string `json:"license"`
}

func readTestdata(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(rel)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// manifestFiles returns the testdata files of the given kind listed in
// testdata/manifest.json (a subset of the project's shared OpenRTB manifest).
func manifestFiles(tb testing.TB, kind string) []string {
	tb.Helper()
	var entries []manifestEntry
	if err := json.Unmarshal(readTestdata(tb, "manifest.json"), &entries); err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Kind == kind && e.Valid {
			out = append(out, e.File)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("manifest lists no %s", kind)
	}
	return out
}

func compact(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// compactRawMessages compacts every json.RawMessage (the OpenRTB "ext"
// fields) reachable from v in place. Codecs are free to keep the whitespace
// of the input inside a RawMessage (encoding/json does), so "equal" in these
// tests means equal after this normalisation; the tests also report when the
// values were equal without it.
func compactRawMessages(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			compactRawMessages(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				compactRawMessages(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Type() == rawMessageType {
			if v.Len() > 0 {
				var buf bytes.Buffer
				if err := json.Compact(&buf, v.Bytes()); err == nil {
					v.SetBytes(buf.Bytes())
				}
			}
			return
		}
		for i := range v.Len() {
			compactRawMessages(v.Index(i))
		}
	}
}

// equalModuloExt compares two decoded values with reflect.DeepEqual after
// compacting RawMessages in copies of them (the originals are not changed).
func equalModuloExt[T any](a, b *T) (equal, exact bool) {
	exact = reflect.DeepEqual(a, b)
	ca, cb := deepCopy(a), deepCopy(b)
	compactRawMessages(reflect.ValueOf(ca))
	compactRawMessages(reflect.ValueOf(cb))
	return reflect.DeepEqual(ca, cb), exact
}

// deepCopy copies with reflection (a copy through a JSON round trip would
// hide exactly the differences these tests look for).
func deepCopy[T any](p *T) *T {
	out := reflect.New(reflect.TypeFor[T]())
	copyValue(out.Elem(), reflect.ValueOf(p).Elem())
	return out.Interface().(*T)
}

func copyValue(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.New(src.Type().Elem()))
		copyValue(dst.Elem(), src.Elem())
	case reflect.Struct:
		for i := range src.NumField() {
			if src.Type().Field(i).IsExported() {
				copyValue(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.MakeSlice(src.Type(), src.Len(), src.Len()))
		for i := range src.Len() {
			copyValue(dst.Index(i), src.Index(i))
		}
	default:
		dst.Set(src)
	}
}

// ------------------------------------------------------------ preconditions

// TestSonicIsNative makes sure the sonic numbers are sonic's: on an
// unsupported Go version or architecture sonic silently falls back to
// encoding/json (sonic.APIKind == sonic.UseStdJSON).
func TestSonicIsNative(t *testing.T) {
	t.Logf("%s %s/%s, sonic.APIKind=%d (UseSonicJSON=%d)", runtime.Version(), runtime.GOOS, runtime.GOARCH, sonic.APIKind, sonic.UseSonicJSON)
	if sonic.APIKind != sonic.UseSonicJSON {
		t.Fatalf("sonic is in encoding/json fallback mode on %s %s/%s: its benchmark rows would measure encoding/json", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
}

// ------------------------------------------------------------- correctness

// TestCodecsAgree: every bid request (and bid response) in the test data
// decodes under every codec to the same openrtb2 value as under encoding/json,
// and the codec's own encoding of that value decodes (with encoding/json) to
// the same value again.
func TestCodecsAgree(t *testing.T) {
	t.Run("bidrequest", func(t *testing.T) {
		for _, f := range manifestFiles(t, "bidrequest") {
			checkAgree[openrtb2.BidRequest](t, f, readTestdata(t, f))
		}
	})
	t.Run("bidresponse", func(t *testing.T) {
		files := append(manifestFiles(t, "bidresponse"), benchResponse)
		for _, f := range files {
			checkAgree[openrtb2.BidResponse](t, f, readTestdata(t, f))
		}
	})
}

func checkAgree[T any](t *testing.T, name string, data []byte) {
	t.Helper()
	want := new(T)
	if err := json.Unmarshal(data, want); err != nil {
		t.Fatalf("%s: encoding/json: %v", name, err)
	}
	wantOut, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	// encoding/json's own round trip is the reference for encode->decode
	// (omitempty drops e.g. "attr":[], so it is not the identity either).
	wantBack := new(T)
	if err := json.Unmarshal(wantOut, wantBack); err != nil {
		t.Fatal(err)
	}
	for _, c := range codecs[1:] {
		got := new(T)
		if err := c.unmarshal(data, got); err != nil {
			t.Errorf("%s: %s: unmarshal: %v", name, c.name, err)
			continue
		}
		equal, exact := equalModuloExt(want, got)
		if !equal {
			t.Errorf("%s: %s: decoded value differs from encoding/json's\n got: %+v\nwant: %+v", name, c.name, got, want)
			continue
		}
		if !exact {
			t.Logf("%s: %s: equal only after compacting ext RawMessages", name, c.name)
		}
		out, err := c.marshal(got)
		if err != nil {
			t.Errorf("%s: %s: marshal: %v", name, c.name, err)
			continue
		}
		if !json.Valid(out) {
			t.Errorf("%s: %s: marshal produced invalid JSON: %s", name, c.name, out)
			continue
		}
		back := new(T)
		if err := json.Unmarshal(out, back); err != nil {
			t.Errorf("%s: %s: encoding/json cannot decode the codec's output: %v", name, c.name, err)
			continue
		}
		if equal, _ := equalModuloExt(wantBack, back); !equal {
			t.Errorf("%s: %s: encode->decode changed the value\n out: %s", name, c.name, out)
		}
		if !bytes.Equal(out, wantOut) {
			t.Logf("%s: %s: output not byte-identical to encoding/json's (%d vs %d bytes)%s", name, c.name, len(out), len(wantOut), firstDiff(out, wantOut))
		}
	}
}

func firstDiff(a, b []byte) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			lo := max(0, i-20)
			return fmt.Sprintf("; first difference at %d: %q vs %q", i, a[lo:min(len(a), i+30)], b[lo:min(len(b), i+30)])
		}
	}
	return ""
}

// Prices as a DSP or a publisher's floor config writes them. Includes values
// that are not exactly representable (0.03, 0.1+0.2), more than 6 and more
// than 17 significant digits, and the exponent-format boundaries of
// encoding/json (1e-6, 1e21).
var priceValues = []float64{
	0.03, 0.5, 1.23456789, 0.1 + 0.2, 0.1, 0.7, 1.005, 2.675, 9.43, 1.028428, 0.04958,
	1.0000001, 123.456789012, 0.000123456789, 1234567.891, 1e-6, 1e-7, 1e20, 1e21,
	99999.99999999999, math.Nextafter(1, 2), 5e-324, math.MaxFloat64, 2.2250738585072014e-308,
}

// Decimal texts whose correctly rounded float64 is checked against
// strconv.ParseFloat (more than 19 digits forces the slow paths).
var priceTexts = []string{
	"0.03", "2.00", "3.0e-2", "0.30000000000000004", "1.23456789",
	"0.1000000000000000055511151231257827", "1.2345678901234567890123",
	"9007199254740993", "2.2250738585072011e-308", "0.0000001", "4.9e-324",
	"123456789012345678901234567890", "1.7976931348623157e308",
	"0.299999999999999988897769753748434595763683319091796875",
}

// TestFloatExactness: bid floors and bid prices survive decode -> encode ->
// decode bit-for-bit under every candidate codec, and decoding a decimal text
// gives the correctly rounded float64.
func TestFloatExactness(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			for _, v := range priceValues {
				// bid response price (no omitempty)
				resp := &openrtb2.BidResponse{ID: "r", SeatBid: []openrtb2.SeatBid{{Bid: []openrtb2.Bid{{ID: "b", ImpID: "1", Price: v}}}}}
				out, err := c.marshal(resp)
				if err != nil {
					t.Fatal(err)
				}
				var back openrtb2.BidResponse
				if err := c.unmarshal(out, &back); err != nil {
					t.Fatalf("%v: %s", err, out)
				}
				if got := back.SeatBid[0].Bid[0].Price; math.Float64bits(got) != math.Float64bits(v) {
					t.Errorf("price %v: round trip gave %v (encoded as %s)", v, got, out)
				}
				var std openrtb2.BidResponse
				if err := json.Unmarshal(out, &std); err != nil || std.SeatBid[0].Bid[0].Price != v {
					t.Errorf("price %v: encoding/json reads the codec's output as %v (err %v)", v, std.SeatBid[0].Bid[0].Price, err)
				}

				// bid request floor (omitempty), via the request the exchange forwards
				req := &openrtb2.BidRequest{ID: "q", Imp: []openrtb2.Imp{{ID: "1", BidFloor: v, BidFloorCur: "USD"}}}
				out, err = c.marshal(req)
				if err != nil {
					t.Fatal(err)
				}
				var breq openrtb2.BidRequest
				if err := c.unmarshal(out, &breq); err != nil {
					t.Fatalf("%v: %s", err, out)
				}
				if got := breq.Imp[0].BidFloor; math.Float64bits(got) != math.Float64bits(v) {
					t.Errorf("bidfloor %v: round trip gave %v (encoded as %s)", v, got, out)
				}
			}
			for _, s := range priceTexts {
				want, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatal(err)
				}
				var req openrtb2.BidRequest
				if err := c.unmarshal([]byte(`{"id":"q","imp":[{"id":"1","bidfloor":`+s+`}]}`), &req); err != nil {
					t.Fatalf("bidfloor %s: %v", s, err)
				}
				if got := req.Imp[0].BidFloor; math.Float64bits(got) != math.Float64bits(want) {
					t.Errorf("bidfloor %s decoded as %v, want %v", s, got, want)
				}
			}
		})
	}
}

// randomFloats returns n finite float64s: half uniformly random bit
// patterns, half "prices" (random cents/micros with up to 9 decimals).
func randomFloats(n int) []float64 {
	r := rand.New(rand.NewPCG(20240602, 1))
	out := make([]float64, 0, n)
	for len(out) < n {
		if len(out)%2 == 0 {
			f := math.Float64frombits(r.Uint64())
			if math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
			out = append(out, f)
		} else {
			out = append(out, float64(r.IntN(100_000_000))/math.Pow10(r.IntN(10)))
		}
	}
	return out
}

// TestFloatExactnessRandom: 200k random floats, encoded by each codec, read
// back exactly by strconv; and strconv's shortest text decoded exactly by each.
func TestFloatExactnessRandom(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	vals := randomFloats(n)
	text := []byte("[")
	for i, v := range vals {
		if i > 0 {
			text = append(text, ',')
		}
		text = strconv.AppendFloat(text, v, 'g', -1, 64)
	}
	text = append(text, ']')
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			out, err := c.marshal(vals)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(strings.Trim(string(out), "[]"), ",")
			if len(parts) != len(vals) {
				t.Fatalf("got %d numbers, want %d", len(parts), len(vals))
			}
			bad := 0
			for i, p := range parts {
				f, err := strconv.ParseFloat(p, 64)
				if err != nil || math.Float64bits(f) != math.Float64bits(vals[i]) {
					if bad++; bad <= 5 {
						t.Errorf("encode %v -> %q -> %v (%v)", vals[i], p, f, err)
					}
				}
			}
			var dec []float64
			if err := c.unmarshal(text, &dec); err != nil {
				t.Fatal(err)
			}
			for i := range vals {
				if math.Float64bits(dec[i]) != math.Float64bits(vals[i]) {
					if bad++; bad <= 10 {
						t.Errorf("decode %v -> %v", vals[i], dec[i])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d floats not exact", bad, 2*len(vals))
			}
		})
	}
}

// TestJsoniterFastestRoundsFloats documents why jsoniter.ConfigFastest is not
// a candidate: it encodes float64 with at most 6 decimals, so a DSP's price
// of 1.23456789 CPM is forwarded as 1.234568, and 0.0000001 becomes 0.
func TestJsoniterFastestRoundsFloats(t *testing.T) {
	c := jsoniterFastest
	resp := &openrtb2.BidResponse{ID: "r", SeatBid: []openrtb2.SeatBid{{Bid: []openrtb2.Bid{{ID: "b", ImpID: "1", Price: 1.23456789}}}}}
	out, err := c.marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"price":1.234568`)) {
		t.Fatalf("jsoniter ConfigFastest no longer rounds floats (output %s): re-evaluate it", out)
	}
	var back openrtb2.BidResponse
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	t.Logf("jsoniter ConfigFastest: price 1.23456789 -> %s -> %v", out, back.SeatBid[0].Bid[0].Price)

	rounded := 0
	for _, v := range priceValues {
		b, err := c.marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := strconv.ParseFloat(string(b), 64)
		if f != v {
			rounded++
			t.Logf("jsoniter ConfigFastest: %v encoded as %s", v, b)
		}
	}
	if rounded == 0 {
		t.Fatal("expected jsoniter ConfigFastest to round some of the price values")
	}
	// Decoding under ConfigFastest is exact for these inputs; only encoding rounds.
	for _, s := range priceTexts {
		want, _ := strconv.ParseFloat(s, 64)
		var f float64
		if err := c.unmarshal([]byte(s), &f); err != nil || f != want {
			t.Logf("jsoniter ConfigFastest decodes %s as %v (want %v, err %v)", s, f, want, err)
		}
	}
}

// ------------------------------------------------ behaviour beyond the data

// edgeCase is an input on which codecs may legitimately differ from
// encoding/json. The test pins today's behaviour so that RESULT.md's claims
// stay true; a change makes it fail and asks for re-evaluation.
type edgeCase struct {
	name  string
	input string
	// differs lists the codecs whose result (error or value) differs from
	// encoding/json's on this input.
	differs []string
}

var edgeCases = []edgeCase{
	{name: "case-insensitive keys", input: `{"ID":"x","Imp":[{"Id":"1","BidFloor":1.5}],"TMax":100}`},
	{name: "duplicate keys, last wins", input: `{"id":"a","id":"b","tmax":1,"tmax":2}`},
	{name: "unknown fields", input: `{"id":"x","foo":{"bar":[1,2,{"baz":null}]},"imp":[{"id":"1","nope":true}]}`},
	// jsoniter-std decodes "ext":null to a nil RawMessage; encoding/json keeps
	// the four bytes null (re-encoded as "ext":null).
	{name: "null fields", input: `{"id":"x","imp":null,"site":null,"tmax":null,"ext":null}`, differs: []string{"jsoniter-std"}},
	{name: "escaped strings", input: `{"id":"\u00e9\ud83d\ude00\n\t\"\\\/","imp":[{"id":"1","tagid":"<b>&amp;</b>"}]}`},
	{name: "big int overflow for int64", input: `{"id":"x","tmax":99999999999999999999}`},
	{name: "float into int field", input: `{"id":"x","tmax":100.0}`},
	{name: "string into int field", input: `{"id":"x","tmax":"100"}`},
	{name: "trailing garbage", input: `{"id":"x"} {"id":"y"}`},
	{name: "truncated", input: `{"id":"x","imp":[{"id":"1"`},
	// sonic ConfigFastest (NoValidateJSONSkip) skips unknown values without
	// validating them, so on amd64 it accepts some malformed requests. Its
	// arm64 implementation (no JIT) rejects them like encoding/json: the same
	// configuration accepts different inputs on x86 and Graviton nodes.
	{name: "malformed value in unknown field", input: `{"id":"x","zzz":[1,}],"imp":[{"id":"1"}]}`, differs: onAMD64("sonic-fastest")},
	// ... and malformed ext objects, which then reach bidder adapters as
	// json.RawMessage.
	{name: "malformed ext", input: `{"id":"x","ext":{"a":}}`, differs: onAMD64("sonic-fastest")},
	// sonic ConfigDefault and ConfigFastest (ValidateString false) and
	// jsoniter-std do not validate UTF-8: the raw invalid bytes end up in the
	// Go string, where encoding/json substitutes U+FFFD.
	{name: "invalid UTF-8 in string", input: "{\"id\":\"a\xffb\",\"imp\":[{\"id\":\"1\"}]}", differs: []string{"sonic-default", "sonic-fastest", "jsoniter-std"}},
	// Inside a RawMessage encoding/json keeps the bytes as they are; sonic
	// ConfigStd (ValidateString true) substitutes U+FFFD there too.
	{name: "invalid UTF-8 in ext", input: "{\"id\":\"x\",\"ext\":{\"k\":\"a\xffb\"}}", differs: []string{"sonic-std"}},
	{name: "leading/trailing whitespace", input: " \n\t{\"id\":\"x\"}\r\n "},
}

func onAMD64(names ...string) []string {
	if runtime.GOARCH == "amd64" {
		return names
	}
	return nil
}

func TestEdgeCasesVsStdlib(t *testing.T) {
	for _, ec := range edgeCases {
		t.Run(ec.name, func(t *testing.T) {
			want := new(openrtb2.BidRequest)
			wantErr := json.Unmarshal([]byte(ec.input), want)
			for _, c := range codecs[1:] {
				got := new(openrtb2.BidRequest)
				gotErr := c.unmarshal([]byte(ec.input), got)
				same := (gotErr == nil) == (wantErr == nil)
				if same && wantErr == nil {
					same, _ = equalModuloExt(want, got)
				}
				expectDiff := false
				for _, d := range ec.differs {
					expectDiff = expectDiff || d == c.name
				}
				detail := fmt.Sprintf("stdlib: err=%v %s\n%s: err=%v %s", wantErr, brief(want), c.name, gotErr, brief(got))
				switch {
				case !same && !expectDiff:
					t.Errorf("unexpected difference: %s", detail)
				case same && expectDiff:
					t.Errorf("%s now agrees with encoding/json: update edgeCases and RESULT.md", c.name)
				case !same:
					t.Logf("known difference: %s", detail)
				}
			}
		})
	}
}

// brief prints the fields the edge cases touch.
func brief(r *openrtb2.BidRequest) string {
	imps := make([]string, len(r.Imp))
	for i, imp := range r.Imp {
		imps[i] = fmt.Sprintf("{ID:%q BidFloor:%v TagID:%q}", imp.ID, imp.BidFloor, imp.TagID)
	}
	return fmt.Sprintf("{ID:%q TMax:%d Imp(nil=%v):%v Site:%v Ext:%q}", r.ID, r.TMax, r.Imp == nil, imps, r.Site, r.Ext)
}

// TestMarshalBehaviour pins encoder differences that matter to an exchange.
func TestMarshalBehaviour(t *testing.T) {
	// 1. HTML escaping of adm markup: encoding/json (and goccy, jsoniter-std,
	// sonic ConfigStd) write < > & as \u003c \u003e \u0026; goccy with
	// DisableHTMLEscape, sonic's default and fastest configs write them raw. Both are valid JSON with the same
	// meaning, but the byte output (and its size) differs.
	bid := &openrtb2.Bid{ID: "b", ImpID: "1", Price: 1, AdM: `<a href="x?a=1&b=2">x</a>`}
	escapes := map[string]bool{"stdlib": true, "goccy": true, "sonic-std": true, "jsoniter-std": true, "goccy-nohtml": false, "sonic-default": false, "sonic-fastest": false, "jsonv2": false}
	for _, c := range codecs {
		out, err := c.marshal(bid)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(out, []byte(`\u003c`)); got != escapes[c.name] {
			t.Errorf("%s: HTML escaping = %v, expected %v: %s", c.name, got, escapes[c.name], out)
		}
	}

	// 2. Invalid bytes in a json.RawMessage ext (e.g. built by hand in an
	// adapter). encoding/json refuses to encode; sonic ConfigFastest
	// (NoValidateJSONMarshaler) copies them verbatim and emits invalid JSON.
	bad := &openrtb2.BidRequest{ID: "x", Ext: json.RawMessage(`{"a":`)}
	emitsInvalid := map[string]bool{"sonic-fastest": true}
	for _, c := range codecs {
		out, err := c.marshal(bad)
		invalid := err == nil && !json.Valid(out)
		if invalid != emitsInvalid[c.name] {
			t.Errorf("%s: invalid RawMessage: err=%v out=%q", c.name, err, out)
		}
		if invalid {
			t.Logf("%s emits invalid JSON for a bad ext: %s", c.name, out)
		}
	}

	// 3. Invalid UTF-8 in a string field: encoding/json writes U+FFFD.
	for _, c := range codecs {
		out, err := c.marshal(&openrtb2.BidRequest{ID: "a\xffb"})
		if err != nil {
			t.Logf("%s: invalid UTF-8 string: error %v", c.name, err)
			continue
		}
		if !json.Valid(out) {
			t.Logf("%s: invalid UTF-8 string: emits invalid JSON %q", c.name, out)
		} else if !bytes.Contains(out, []byte(`\ufffd`)) {
			t.Logf("%s: invalid UTF-8 string: emits %q", c.name, out)
		}
	}
}

// TestColdStart logs the cost of each codec's first decode of a BidRequest
// and first encode of a BidResponse in this process (per-type codec
// generation; sonic JIT-compiles on amd64). Only meaningful in a fresh
// process:  go test -run TestColdStart -count 1 -v
// Rows that share a cache with an earlier row (goccy-nohtml with goccy, the
// sonic configurations with each other) show the cost only on the first one.
func TestColdStart(t *testing.T) {
	data := readTestdata(t, primaryRequest)
	respData := readTestdata(t, benchResponse)
	var resp openrtb2.BidResponse
	if err := json.Unmarshal(respData, &resp); err != nil {
		t.Fatal(err)
	}
	for _, c := range codecs {
		start := time.Now()
		if err := c.unmarshal(data, new(openrtb2.BidRequest)); err != nil {
			t.Fatal(err)
		}
		first := time.Since(start)
		start = time.Now()
		if err := c.unmarshal(data, new(openrtb2.BidRequest)); err != nil {
			t.Fatal(err)
		}
		second := time.Since(start)
		start = time.Now()
		if _, err := c.marshal(&resp); err != nil {
			t.Fatal(err)
		}
		firstEnc := time.Since(start)
		t.Logf("%-14s first BidRequest decode %10v (second %8v); first BidResponse encode %10v", c.name, first, second, firstEnc)
	}
}

// TestSonicDefaultRetainsInput documents sonic ConfigDefault/ConfigFastest's
// CopyString=false: decoded strings point into (a copy of) the whole request
// body, so keeping any one of them (a user id in a cache, a deal id in a
// log buffer) keeps the whole body alive. ConfigStd copies each string.
func TestSonicDefaultRetainsInput(t *testing.T) {
	data := string(readTestdata(t, primaryRequest))
	base := uintptr(unsafe.Pointer(unsafe.StringData(data)))
	inside := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return p >= base && p < base+uintptr(len(data))
	}
	for _, tc := range []struct {
		name    string
		api     sonic.API
		aliases bool
	}{{"sonic-default", sonic.ConfigDefault, true}, {"sonic-fastest", sonic.ConfigFastest, true}, {"sonic-std", sonic.ConfigStd, false}} {
		var req openrtb2.BidRequest
		if err := tc.api.UnmarshalFromString(data, &req); err != nil {
			t.Fatal(err)
		}
		if got := inside(req.User.ID); got != tc.aliases {
			t.Errorf("%s: user.id points into the input = %v, expected %v", tc.name, got, tc.aliases)
		}
	}
}

// ---------------------------------------------------------------- benchmarks

// Sub-benchmark names are key=value so that
//	benchstat -col /codec codec.txt
// prints one column per codec with the change against stdlib (first column).

// measure benchmarks f: it warms f up (b.Loop starts the timer at its first
// call, so this is not timed; sonic JIT-compiles a decoder/encoder per type
// on first use, goccy and jsoniter build theirs lazily too, see
// TestColdStart: the exchange pays that once at start-up, not per request),
// then runs it under b.Loop with allocation reporting, and also reports
// cpu-ns/op: the CPU time (user+system, all threads, so including the GC's
// background work) the process spent per op. On a shared 2-core machine
// wall-clock ns/op is inflated whenever another process holds a core;
// cpu-ns/op is much less sensitive to that.
func measure(b *testing.B, bytesPerOp int, f func() error) {
	for range 10 {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(bytesPerOp))
	start := cpuTime()
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchInputs() []struct{ name, file string } {
	return []struct{ name, file string }{
		{"video-2616B", primaryRequest},
		{"banner-604B", smallRequest},
	}
}

func BenchmarkUnmarshalBidRequest(b *testing.B) {
	type input struct {
		name string
		data []byte
	}
	var inputs []input
	for _, in := range benchInputs() {
		data := readTestdata(b, in.file)
		inputs = append(inputs, input{in.name, data})
		if in.file == primaryRequest {
			// The same request as it arrives on the wire: no whitespace.
			c := compact(b, data)
			inputs = append(inputs, input{fmt.Sprintf("video-compact-%dB", len(c)), c})
		}
	}
	for _, in := range inputs {
		for _, c := range codecs {
			if c.encodeOnly {
				continue
			}
			b.Run("in="+in.name+"/codec="+c.name, func(b *testing.B) {
				measure(b, len(in.data), func() error {
					var req openrtb2.BidRequest
					return c.unmarshal(in.data, &req)
				})
			})
		}
	}
}

func BenchmarkMarshalBidRequest(b *testing.B) {
	for _, in := range benchInputs() {
		var req openrtb2.BidRequest
		if err := json.Unmarshal(readTestdata(b, in.file), &req); err != nil {
			b.Fatal(err)
		}
		// The exchange builds the outgoing request; its ext fields are compact.
		compactRawMessages(reflect.ValueOf(&req))
		stdOut, err := json.Marshal(&req)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range codecs {
			b.Run("in="+in.name+"/codec="+c.name, func(b *testing.B) {
				// MB/s is relative to encoding/json's output size for every codec.
				measure(b, len(stdOut), func() error {
					_, err := c.marshal(&req)
					return err
				})
			})
		}
	}
}

func BenchmarkMarshalBidResponse(b *testing.B) {
	var resp openrtb2.BidResponse
	if err := json.Unmarshal(readTestdata(b, benchResponse), &resp); err != nil {
		b.Fatal(err)
	}
	compactRawMessages(reflect.ValueOf(&resp))
	stdOut, err := json.Marshal(&resp)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range codecs {
		b.Run("in=2seat-3bid/codec="+c.name, func(b *testing.B) {
			// MB/s is relative to encoding/json's output size for every codec
			// (sonic-default/-fastest write shorter output: no HTML escaping).
			measure(b, len(stdOut), func() error {
				_, err := c.marshal(&resp)
				return err
			})
		})
	}
}
