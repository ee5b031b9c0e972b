package openrtb

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

var update = flag.Bool("update", false, "rewrite the golden files' expected results from what the code does now")

// TestDowngrade25Golden converts each testdata/downgrade25/NAME.in.json and
// compares the request encoded for a 2.5 DSP with NAME.want.json
// (regenerated with -update); the input request must come out unchanged.
func TestDowngrade25Golden(t *testing.T) {
	ins, err := filepath.Glob("testdata/downgrade25/*.in.json")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range ins {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".in.json"), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var req openrtb2.BidRequest
			if err := DecodeRequest(data, &req); err != nil {
				t.Fatal(err)
			}
			before := indented(t, &req)
			out, err := Downgrade25(&req)
			if err != nil {
				t.Fatal(err)
			}
			if after := indented(t, &req); !bytes.Equal(after, before) {
				t.Errorf("Downgrade25 changed its input:\n%s\nwas\n%s", after, before)
			}
			got := indented(t, out)
			wantPath := strings.TrimSuffix(in, ".in.json") + ".want.json"
			if *update {
				if err := os.WriteFile(wantPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant (%s)\n%s", got, wantPath, want)
			}
		})
	}
}

func indented(t *testing.T, req *openrtb2.BidRequest) []byte {
	t.Helper()
	b, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// An ext that a 2.6 field must move into but that is no JSON object is
// an error naming it; a null ext takes the field.
func TestDowngrade25BadExt(t *testing.T) {
	gdpr := int8(1)
	f := func(req *openrtb2.BidRequest, wantErr string) {
		t.Helper()
		out, err := Downgrade25(req)
		if wantErr == "" {
			if err != nil {
				t.Errorf("error %v, want none", err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("got %+v, error %v; want an error naming %q", out, err, wantErr)
		}
	}
	f(&openrtb2.BidRequest{Regs: &openrtb2.Regs{GDPR: &gdpr, Ext: json.RawMessage(`[1]`)}}, "regs.ext")
	f(&openrtb2.BidRequest{Regs: &openrtb2.Regs{GDPR: &gdpr, Ext: json.RawMessage(`null`)}}, "")
	f(&openrtb2.BidRequest{User: &openrtb2.User{Consent: "c", Ext: json.RawMessage(`"s"`)}}, "user.ext")
	f(&openrtb2.BidRequest{Source: &openrtb2.Source{SChain: &openrtb2.SupplyChain{}, Ext: json.RawMessage(`1`)}}, "source.ext")
	f(&openrtb2.BidRequest{Imp: []openrtb2.Imp{{ID: "1"}, {ID: "2", Rwdd: 1, Ext: json.RawMessage(`{"prebid":true}`)}}}, "imp[1].ext")
	f(&openrtb2.BidRequest{Regs: &openrtb2.Regs{Ext: json.RawMessage(`[1]`)}}, "") // nothing moves into it
}
