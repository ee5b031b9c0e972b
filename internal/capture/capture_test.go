package capture

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prebid/openrtb/v20/openrtb2"
)

func request(id, ip, user string) *openrtb2.BidRequest {
	lat := 51.514249
	return &openrtb2.BidRequest{
		ID:     id,
		Imp:    []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{}}},
		Device: &openrtb2.Device{IP: ip, IPv6: "2001:db8:abcd:12::7", IFA: "ifa-" + user, UA: "Mozilla/5.0", Geo: &openrtb2.Geo{Lat: &lat}},
		User:   &openrtb2.User{ID: user, BuyerUID: "b-" + user, EIDs: []openrtb2.EID{{Source: "id5", UIDs: []openrtb2.UID{{ID: "e-" + user}}}}},
	}
}

func readLines(t *testing.T, path string) []openrtb2.BidRequest {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []openrtb2.BidRequest
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r openrtb2.BidRequest
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: line %q: %v", path, sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func TestScrubbedCapture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traffic", "capture.jsonl")
	w, err := Open(Options{Path: path, Rate: 1})
	if err != nil {
		t.Fatal(err)
	}
	orig := request("r1", "81.2.69.160", "alice")
	w.Capture(orig)
	w.Capture(request("r2", "81.2.69.161", "alice"))
	w.Capture(request("r3", "216.160.83.56", "bob"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if orig.Device.IP != "81.2.69.160" || orig.User.ID != "alice" {
		t.Fatalf("Capture changed the caller's request: %+v %+v", orig.Device, orig.User)
	}
	got := readLines(t, path)
	if len(got) != 3 {
		t.Fatalf("%d lines, want 3", len(got))
	}
	r1, r2, r3 := got[0], got[1], got[2]
	if r1.Device.IP != "81.2.69.0" || r1.Device.IPv6 != "2001:db8:abcd::" {
		t.Errorf("IPs %q %q, want truncated to /24 and /48", r1.Device.IP, r1.Device.IPv6)
	}
	if *r1.Device.Geo.Lat != 51.51 {
		t.Errorf("lat %v, want rounded to 51.51", *r1.Device.Geo.Lat)
	}
	for _, v := range []string{r1.User.ID, r1.User.BuyerUID, r1.Device.IFA, r1.User.EIDs[0].UIDs[0].ID} {
		if !strings.HasPrefix(v, "h-") || strings.Contains(v, "alice") {
			t.Errorf("identifier %q is not scrubbed", v)
		}
	}
	if r1.User.ID != r2.User.ID || r1.User.ID == r3.User.ID {
		t.Errorf("hashes must keep identity within a capture: alice %q %q, bob %q", r1.User.ID, r2.User.ID, r3.User.ID)
	}
	if r1.Device.UA != "Mozilla/5.0" || r1.ID != "r1" {
		t.Errorf("non-personal fields changed: %+v", r1)
	}
	written, dropped, failed := w.Stats()
	if written != 3 || dropped != 0 || failed != 0 {
		t.Errorf("stats %d %d %d, want 3 0 0", written, dropped, failed)
	}
}

func TestRawCaptureKeepsValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raw.jsonl")
	w, err := Open(Options{Path: path, Rate: 1, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	w.Capture(request("r1", "81.2.69.160", "alice"))
	w.Close()
	got := readLines(t, path)
	if got[0].Device.IP != "81.2.69.160" || got[0].User.ID != "alice" {
		t.Errorf("raw capture scrubbed: %+v %+v", got[0].Device, got[0].User)
	}
}

func TestRotationKeepsAtMostKeepFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.jsonl")
	w, err := Open(Options{Path: path, Rate: 1, MaxBytes: 2000, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				w.Capture(request("r", "10.0.0.1", string(rune('a'+g))+string(rune('a'+i))))
			}
		}()
	}
	wg.Wait()
	w.Close()
	files := Files(path)
	if len(files) != 3 || files[0] != path || files[1] != path+".1" || files[2] != path+".2" {
		t.Fatalf("files %v, want the live file and 2 rotated ones", files)
	}
	total := 0
	for _, f := range files {
		st, _ := os.Stat(f)
		if st.Size() > 2000+1000 {
			t.Errorf("%s is %d bytes, past the rotation size", f, st.Size())
		}
		total += len(readLines(t, f))
	}
	if written, dropped, _ := w.Stats(); int64(total) > written || written+dropped != 100 {
		t.Errorf("%d lines in kept files, %d written, %d dropped; want written+dropped = 100", total, written, dropped)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []Options{{Path: "", Rate: 0.1}, {Path: filepath.Join(dir, "x"), Rate: 0}, {Path: filepath.Join(dir, "x"), Rate: 1.5}} {
		if _, err := Open(o); err == nil {
			t.Errorf("Open(%+v) accepted", o)
		}
	}
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	if _, err := Open(Options{Path: filepath.Join(blocker, "sub", "c.jsonl"), Rate: 1}); err == nil || !strings.Contains(err.Error(), "file") {
		t.Errorf("Open under a file: %v, want an error naming the path", err)
	}
}
