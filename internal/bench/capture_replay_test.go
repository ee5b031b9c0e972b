package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prebid/openrtb/v20/openrtb2"

	"github.com/adx-exchange/adx/internal/capture"
	"github.com/adx-exchange/adx/openrtb"
)

func TestJSONLCaptureTimestamps(t *testing.T) {
	f := func(name, content string, wantBodies []string, wantOffsets []time.Duration) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "t.jsonl")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		tr, err := LoadTraffic(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, b := range tr.Bodies {
			got = append(got, string(b))
		}
		if strings.Join(got, "|") != strings.Join(wantBodies, "|") {
			t.Errorf("%s: bodies %q, want %q", name, got, wantBodies)
		}
		if len(tr.Offsets) != len(wantOffsets) {
			t.Fatalf("%s: offsets %v, want %v", name, tr.Offsets, wantOffsets)
		}
		for i := range wantOffsets {
			if tr.Offsets[i] != wantOffsets[i] {
				t.Errorf("%s: offsets %v, want %v", name, tr.Offsets, wantOffsets)
				break
			}
		}
	}
	f("timed lines are stripped and ordered by time",
		`{"@ts":1000000300,"id":"c"}`+"\n"+`{"@ts":1000000100,"id":"a"}`+"\n\n"+`{"@ts":1000000200,"id":"b","imp":[]}`+"\n",
		[]string{`{"id":"a"}`, `{"id":"b","imp":[]}`, `{"id":"c"}`}, []time.Duration{0, 100, 200})
	f("an empty object keeps its time", `{"@ts":5}`+"\n"+`{"@ts":7,"id":"x"}`, []string{`{}`, `{"id":"x"}`}, []time.Duration{0, 2})
	f("untimed lines stay as they are", `{"id":"a"}`+"\n"+`{"id":"b"}`, []string{`{"id":"a"}`, `{"id":"b"}`}, nil)
	f("one untimed line drops the timing", `{"@ts":1,"id":"a"}`+"\n"+`{"id":"b"}`, []string{`{"id":"a"}`, `{"id":"b"}`}, nil)
	f("@ts that is not first is part of the body", `{"id":"a","@ts":1}`, []string{`{"id":"a","@ts":1}`}, nil)
}

// TestReplayCapturedTraffic: what adx's request capture writes, bench
// replays with its captured timing, and every body is a valid request.
func TestReplayCapturedTraffic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "capture.jsonl")
	w, err := capture.Open(capture.Options{Path: path, Rate: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"r1", "r2", "r3"} {
		if i > 0 {
			time.Sleep(40 * time.Millisecond)
		}
		w.Capture(&openrtb2.BidRequest{ID: id, Imp: []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}}}, Device: &openrtb2.Device{IP: "81.2.69.160"}})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tr, err := LoadTraffic(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Bodies) != 3 || len(tr.Offsets) != 3 {
		t.Fatalf("%d bodies, %d offsets, want 3 and 3", len(tr.Bodies), len(tr.Offsets))
	}
	for i, body := range tr.Bodies {
		var req openrtb2.BidRequest
		if err := openrtb.DecodeRequest(body, &req); err != nil {
			t.Fatalf("body %d %s: %v", i, body, err)
		}
		if err := openrtb.ValidateRequest(&req, openrtb.Limits{}); err != nil {
			t.Fatalf("body %d %s: %v", i, body, err)
		}
		if strings.Contains(string(body), "@ts") {
			t.Errorf("body %d still carries the capture time: %s", i, body)
		}
	}
	if d := tr.Offsets[2]; d < 75*time.Millisecond || d > 2*time.Second {
		t.Errorf("offsets %v: the third request was captured about 80ms after the first", tr.Offsets)
	}
}
